#include "services/pki/ca/authority.h"

#include <algorithm>
#include <arpa/inet.h>

#include <ctime>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/pki/ca/keys.h"

namespace vpnfleet::pki {
using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;

// Certificates start a few minutes in the past, for peers whose clocks lag;
// a short-lived one by a tenth of its life at most, so that the share of its
// life that has passed (auto-enroll PERCENT) means what it says.
constexpr absl::Duration kBackdate = absl::Minutes(5);
absl::Duration BackdateFor(absl::Duration validity) { return std::min(kBackdate, validity / 10); }

const EVP_MD* DigestFor(const EVP_PKEY* signer) {
  return KeyAlgorithmOf(signer) == v1::KEY_ALGORITHM_ECDSA_P384 ? EVP_sha384() : EVP_sha256();
}

// RFC 5280 §4.1.2.2: positive, at most 20 octets; 128 random bits.
bool SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;  // never a short (or zero) number
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

absl::StatusOr<X509_NAME*> ParseName(const std::string& text) {
  X509_NAME* name = X509_NAME_new();
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    absl::StripAsciiWhitespace(&kv.first);
    absl::StripAsciiWhitespace(&kv.second);
    if (kv.first.empty() || kv.second.empty() ||
        X509_NAME_add_entry_by_txt(name, kv.first.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(kv.second.c_str()), -1,
                                   -1, 0) != 1) {
      X509_NAME_free(name);
      return absl::InvalidArgumentError(absl::StrCat("bad subject component '", part, "'"));
    }
  }
  if (X509_NAME_entry_count(name) == 0) {
    X509_NAME_free(name);
    return absl::InvalidArgumentError("empty subject");
  }
  return name;
}

namespace {

// The request's SubjectPublicKeyInfo into the certificate as it is.
// X509_set_pubkey would encode the key and decode it again (through the
// provider decoders, a large share of an enrollment's CPU in OpenSSL 3.0).
bool CopyPublicKey(X509_PUBKEY* from, X509_PUBKEY* to) {
  ASN1_OBJECT* alg_obj = nullptr;
  const unsigned char* bits = nullptr;
  int bits_len = 0;
  X509_ALGOR* alg = nullptr;
  if (from == nullptr || to == nullptr ||
      X509_PUBKEY_get0_param(&alg_obj, &bits, &bits_len, &alg, from) != 1 || alg == nullptr) {
    return false;
  }
  const ASN1_OBJECT* obj = nullptr;
  int ptype = V_ASN1_UNDEF;
  const void* pval = nullptr;
  X509_ALGOR_get0(&obj, &ptype, &pval, alg);
  void* param = nullptr;
  if (ptype == V_ASN1_OBJECT) {
    param = OBJ_dup(static_cast<const ASN1_OBJECT*>(pval));
  } else if (ptype == V_ASN1_SEQUENCE) {
    param = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(pval));
  } else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
    return false;
  }
  auto* enc = static_cast<unsigned char*>(OPENSSL_memdup(bits, static_cast<size_t>(bits_len)));
  if (enc == nullptr ||
      X509_PUBKEY_set0_param(to, OBJ_dup(obj), ptype, param, enc, bits_len) != 1) {
    OPENSSL_free(enc);
    return false;
  }
  return true;
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}


absl::Time AsnTime(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTimeT(timegm(&tm));
}


// "DNS:x" / "IP:a.b.c.d" for the names we accept; false for any other kind.
// "URI:" names (the identities the CA itself writes) only with `uris`.
bool NamesOf(const GENERAL_NAMES* names, std::vector<std::string>* out, bool uris = false) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_URI && uris) {
      out->push_back(absl::StrCat(
          "URI:", absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(
                                        g->d.uniformResourceIdentifier)),
                                    static_cast<size_t>(ASN1_STRING_length(g->d.uniformResourceIdentifier)))));
    } else if (g->type == GEN_DNS) {
      out->push_back(absl::StrCat(
          "DNS:", absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                                    static_cast<size_t>(ASN1_STRING_length(g->d.dNSName)))));
    } else if (g->type == GEN_IPADD) {
      const unsigned char* ip = ASN1_STRING_get0_data(g->d.iPAddress);
      const int len = ASN1_STRING_length(g->d.iPAddress);
      if (len == 4) {
        out->push_back(absl::StrCat("IP:", ip[0], ".", ip[1], ".", ip[2], ".", ip[3]));
      } else if (len == 16) {
        std::vector<std::string> groups;
        for (int j = 0; j < 16; j += 2) {
          groups.push_back(absl::StrCat(absl::Hex((ip[j] << 8) | ip[j + 1])));
        }
        out->push_back(absl::StrCat("IP:", absl::StrJoin(groups, ":")));
      } else {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

absl::Status Refuse(IssueError kind, IssueError* why, absl::string_view message) {
  if (why != nullptr) *why = kind;
  return absl::InvalidArgumentError(message);
}

}  // namespace

std::string NameText(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  char* hex = BN_bn2hex(bn.get());
  std::string out = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  // BN_bn2hex writes whole octets ("05ab"); the form we promise, and that
  // the API normalises requests to, has no leading zeros ("5ab").
  const size_t nz = out.find_first_not_of('0');
  return nz == std::string::npos ? std::string("0") : out.substr(nz);
}

std::string Sha256Hex(const std::string& der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(der.data(), der.size(), md, &n, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), n));
}

std::string DerOf(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  if (n <= 0) return {};
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

X509Ptr ParseCertificateDer(absl::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) cert.reset();
  return cert;
}

v1::CaCertificate DescribeCa(X509* cert) {
  const IssuedCertificate d = DescribeCertificate(cert);
  v1::CaCertificate c;
  c.set_subject(d.subject);
  c.set_issuer(NameText(X509_get_issuer_name(cert)));
  c.set_serial_hex(d.serial_hex);
  c.set_fingerprint_sha256(d.fingerprint_sha256);
  c.set_not_before_unix_seconds(absl::ToUnixSeconds(d.not_before));
  c.set_not_after_unix_seconds(absl::ToUnixSeconds(d.not_after));
  c.set_key_algorithm(d.key_algorithm);
  c.set_der(d.der);
  c.set_role(X509_check_issued(cert, cert) == X509_V_OK ? v1::CaCertificate::ROLE_ROOT
                                                        : v1::CaCertificate::ROLE_INTERMEDIATE);
  return c;
}

IssuedCertificate DescribeCertificate(X509* cert, v1::KeyAlgorithm known) {
  IssuedCertificate d;
  d.der = DerOf(cert);
  d.serial_hex = SerialHex(X509_get0_serialNumber(cert));
  d.subject = NameText(X509_get_subject_name(cert));
  d.key_algorithm = known != v1::KEY_ALGORITHM_UNSPECIFIED ? known : KeyAlgorithmOf(X509_get0_pubkey(cert));
  d.not_before = AsnTime(X509_get0_notBefore(cert));
  d.not_after = AsnTime(X509_get0_notAfter(cert));
  d.fingerprint_sha256 = Sha256Hex(d.der);
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names != nullptr) {
    NamesOf(names, &d.subject_alt_names, /*uris=*/true);
    GENERAL_NAMES_free(names);
  }
  return d;
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::CreateRoot(const RootOptions& options,
                                                                      const Clock* clock) {
  auto key = GenerateKey(options.key_algorithm);
  if (!key.ok()) return key.status();
  auto name = ParseName(options.subject);
  if (!name.ok()) return name.status();
  X509Ptr cert(X509_new());
  const absl::Time now = clock->Now();
  bool ok = cert && X509_set_version(cert.get(), 2) == 1 && SetRandomSerial(cert.get()) &&
            X509_set_subject_name(cert.get(), *name) == 1 &&
            X509_set_issuer_name(cert.get(), *name) == 1 &&
            ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(now - kBackdate)) &&
            ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(now + options.validity)) &&
            X509_set_pubkey(cert.get(), key->get()) == 1;
  X509_NAME_free(*name);
  ok = ok && AddExt(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE") &&
       AddExt(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
       AddExt(cert.get(), cert.get(), NID_subject_key_identifier, "hash") &&
       AddExt(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always") &&
       X509_sign(cert.get(), key->get(), DigestFor(key->get())) > 0;
  if (!ok) return absl::InternalError("OpenSSL could not build the root certificate");
  return CertificateAuthority(std::move(cert), *std::move(key), clock);
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::CreateIntermediate(
    const RootOptions& options) const {
  auto key = GenerateKey(options.key_algorithm);
  if (!key.ok()) return key.status();
  auto name = ParseName(options.subject);
  if (!name.ok()) return name.status();
  X509Ptr cert(X509_new());
  const absl::Time now = clock_->Now();
  absl::Time until = now + options.validity;
  const absl::Time ca_until = AsnTime(X509_get0_notAfter(cert_.get()));
  if (until > ca_until) until = ca_until;
  bool ok = cert && X509_set_version(cert.get(), 2) == 1 && SetRandomSerial(cert.get()) &&
            X509_set_subject_name(cert.get(), *name) == 1 &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) == 1 &&
            ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(now - kBackdate)) &&
            ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(until)) &&
            X509_set_pubkey(cert.get(), key->get()) == 1;
  X509_NAME_free(*name);
  ok = ok && AddExt(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
       AddExt(cert.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
       AddExt(cert.get(), cert_.get(), NID_subject_key_identifier, "hash") &&
       AddExt(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always") &&
       X509_sign(cert.get(), key_.get(), DigestFor(key_.get())) > 0;
  if (!ok) return absl::InternalError("OpenSSL could not build the intermediate certificate");
  return CertificateAuthority(std::move(cert), *std::move(key), clock_);
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::Import(const std::string& cert_pem,
                                                                  const std::string& key_pem,
                                                                  const std::string& passphrase,
                                                                  const Clock* clock) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), BIO_free);
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("CA certificate: not a PEM certificate");
  auto key = PrivateKeyFromPem(key_pem, passphrase);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert.get(), key->get()) != 1) {
    return absl::InvalidArgumentError("the CA key does not belong to the CA certificate");
  }
  if (X509_check_ca(cert.get()) == 0) {
    return absl::InvalidArgumentError("the certificate is not a CA certificate (basicConstraints)");
  }
  if (KeyAlgorithmOf(key->get()) == v1::KEY_ALGORITHM_UNSPECIFIED) {
    return absl::InvalidArgumentError("CA key must be RSA >= 2048 or ECDSA P-256/P-384");
  }
  return CertificateAuthority(std::move(cert), *std::move(key), clock);
}

absl::StatusOr<IssuedCertificate> CertificateAuthority::Issue(const IssueRequest& r,
                                                              IssueError* why) const {
  if (why != nullptr) *why = IssueError::kNone;
  X509ReqPtr parsed;
  X509_REQ* csr = r.csr;
  if (csr == nullptr) {
    const auto* p = reinterpret_cast<const unsigned char*>(r.csr_der.data());
    parsed.reset(d2i_X509_REQ(nullptr, &p, static_cast<long>(r.csr_der.size())));
    if (!parsed ||
        p != reinterpret_cast<const unsigned char*>(r.csr_der.data()) + r.csr_der.size()) {
      return Refuse(IssueError::kBadRequest, why, "not a PKCS#10 certificate request");
    }
    csr = parsed.get();
  }
  X509_REQ* req_ptr = csr;
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req_ptr);
  const v1::KeyAlgorithm key_algorithm = pub == nullptr ? v1::KEY_ALGORITHM_UNSPECIFIED : KeyAlgorithmOf(pub);
  if (key_algorithm == v1::KEY_ALGORITHM_UNSPECIFIED) {
    return Refuse(IssueError::kBadAlg, why,
                  "the request's key must be RSA >= 2048 bits or ECDSA P-256/P-384");
  }
  if (X509_REQ_verify(req_ptr, pub) != 1) {
    return Refuse(IssueError::kBadMessageCheck, why, "the request's signature does not verify");
  }
  X509_NAME* subject = X509_REQ_get_subject_name(req_ptr);
  if (subject == nullptr || X509_NAME_entry_count(subject) == 0) {
    return Refuse(IssueError::kBadRequest, why, "the request has an empty subject");
  }
  if (!r.required_cn.empty()) {
    char cn[256] = {};
    const int n = X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn);
    if (n <= 0 || r.required_cn != std::string(cn, static_cast<size_t>(n))) {
      return Refuse(IssueError::kBadRequest, why,
                    absl::StrCat("the subject CN must be '", r.required_cn, "'"));
    }
  }
  // Subject alternative names from the request's extensionRequest: DNS
  // names and IP addresses only.
  X509_EXTENSION* san = nullptr;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req_ptr);
  for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
    X509_EXTENSION* e = sk_X509_EXTENSION_value(exts, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(e)) == NID_subject_alt_name) san = e;
  }
  if (san != nullptr) {
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(san));
    std::vector<std::string> asked;
    const bool acceptable = names != nullptr && NamesOf(names, &asked);
    GENERAL_NAMES_free(names);
    if (!acceptable) {
      sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
      return Refuse(IssueError::kBadRequest, why,
                    "subject alternative names must be DNS names or IP addresses");
    }
    if (r.allowed_sans != nullptr) {
      for (const auto& name : asked) {
        auto canonical = CanonicalSan(name);
        if (!canonical.ok() || std::find(r.allowed_sans->begin(), r.allowed_sans->end(),
                                         *canonical) == r.allowed_sans->end()) {
          sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
          return Refuse(IssueError::kBadRequest, why,
                        absl::StrCat("the request asks for ", name, ", which is not its to ask for"));
        }
      }
    }
  }

  X509Ptr cert(X509_new());
  const absl::Time now = clock_->Now();
  absl::Time until = now + r.validity;
  const absl::Time ca_until = AsnTime(X509_get0_notAfter(cert_.get()));
  if (until > ca_until) until = ca_until;  // never outlive the CA
  bool ok = cert && X509_set_version(cert.get(), 2) == 1 && SetRandomSerial(cert.get()) &&
            X509_set_subject_name(cert.get(), subject) == 1 &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) == 1 &&
            ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(now - BackdateFor(r.validity))) &&
            ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(until)) &&
            CopyPublicKey(X509_REQ_get_X509_PUBKEY(req_ptr), X509_get_X509_PUBKEY(cert.get()));
  if (ok && !r.identity_uri.empty()) {
    // The identity is the CA's to write: the request's own names (DNS and IP
    // only, checked above) plus this one URI.
    GENERAL_NAMES* names =
        san != nullptr ? static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(san)) : sk_GENERAL_NAME_new_null();
    GENERAL_NAME* uri = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    ok = names != nullptr && uri != nullptr && text != nullptr &&
         ASN1_STRING_set(text, r.identity_uri.data(), static_cast<int>(r.identity_uri.size())) == 1;
    if (ok) {
      GENERAL_NAME_set0_value(uri, GEN_URI, text);
      text = nullptr;
      ok = sk_GENERAL_NAME_push(names, uri) > 0;
      if (ok) uri = nullptr;
    }
    ok = ok && X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, 0) == 1;
    ASN1_IA5STRING_free(text);
    GENERAL_NAME_free(uri);
    GENERAL_NAMES_free(names);
  } else if (ok && san != nullptr) {
    ok = X509_add_ext(cert.get(), san, -1) == 1;
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  const bool rsa = EVP_PKEY_is_a(pub, "RSA");
  ok = ok && AddExt(cert.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       AddExt(cert.get(), cert_.get(), NID_key_usage,
              rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature") &&
       AddExt(cert.get(), cert_.get(), NID_subject_key_identifier, "hash") &&
       AddExt(cert.get(), cert_.get(), NID_authority_key_identifier, "keyid:always");
  if (ok && r.profile == Profile::kIkePeer) {
    // RFC 4945 §5.1.3.12: ipsecIKE (1.3.6.1.5.5.7.3.17); serverAuth and
    // clientAuth for peers that insist on them.
    ok = AddExt(cert.get(), cert_.get(), NID_ext_key_usage, "ipsecIKE,serverAuth,clientAuth");
  }
  if (ok && !r.crl_urls.empty()) {
    std::vector<std::string> uris;
    for (const auto& u : r.crl_urls) uris.push_back("URI:" + u);
    ok = AddExt(cert.get(), cert_.get(), NID_crl_distribution_points, absl::StrJoin(uris, ","));
  }
  if (ok && !r.ocsp_urls.empty()) {
    // RFC 5280 §4.2.2.1: where peers ask about this certificate (RFC 6960).
    std::vector<std::string> access;
    for (const auto& u : r.ocsp_urls) access.push_back("OCSP;URI:" + u);
    ok = AddExt(cert.get(), cert_.get(), NID_info_access, absl::StrJoin(access, ","));
  }
  ok = ok && X509_sign(cert.get(), key_.get(), DigestFor(key_.get())) > 0;
  if (!ok) return absl::InternalError("OpenSSL could not build the certificate");
  return DescribeCertificate(cert.get(), key_algorithm);
}

absl::StatusOr<std::string> CertificateAuthority::SignCrl(const std::vector<RevokedEntry>& revoked,
                                                          uint64_t number,
                                                          absl::Time next_update) const {
  X509CrlPtr crl(X509_CRL_new());
  const absl::Time now = clock_->Now();
  std::unique_ptr<ASN1_TIME, OpenSslDeleter<ASN1_TIME, ASN1_TIME_free>> last(
      ASN1_TIME_set(nullptr, absl::ToTimeT(now))),
      next(ASN1_TIME_set(nullptr, absl::ToTimeT(next_update)));
  bool ok = crl && last && next && X509_CRL_set_version(crl.get(), 1) == 1 &&
            X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert_.get())) == 1 &&
            X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1 &&
            X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1;
  for (const RevokedEntry& e : revoked) {
    if (!ok) break;
    BIGNUM* raw = nullptr;
    if (BN_hex2bn(&raw, e.serial_hex.c_str()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("bad serial '", e.serial_hex, "'"));
    }
    BnPtr bn(raw);
    Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    X509_REVOKED* rev = X509_REVOKED_new();
    std::unique_ptr<ASN1_TIME, OpenSslDeleter<ASN1_TIME, ASN1_TIME_free>> when(
        ASN1_TIME_set(nullptr, absl::ToTimeT(e.revoked_at)));
    ok = rev != nullptr && serial && when &&
         X509_REVOKED_set_serialNumber(rev, serial.get()) == 1 &&
         X509_REVOKED_set_revocationDate(rev, when.get()) == 1;
    if (ok && e.reason != v1::REVOCATION_REASON_UNSPECIFIED) {
      // RFC 5280 §5.3.1: the proto's numbers are the CRLReason codes.
      std::unique_ptr<ASN1_ENUMERATED, OpenSslDeleter<ASN1_ENUMERATED, ASN1_ENUMERATED_free>>
          reason(ASN1_ENUMERATED_new());
      ok = reason && ASN1_ENUMERATED_set(reason.get(), static_cast<long>(e.reason)) == 1 &&
           X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason.get(), 0, 0) == 1;
    }
    if (ok) ok = X509_CRL_add0_revoked(crl.get(), rev) == 1;
    if (!ok) X509_REVOKED_free(rev);
  }
  Asn1IntPtr crl_number(ASN1_INTEGER_new());
  ok = ok && crl_number && ASN1_INTEGER_set_uint64(crl_number.get(), number) == 1 &&
       X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0) == 1;
  if (ok) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert_.get(), nullptr, nullptr, crl.get(), 0);
    X509_EXTENSION* aki =
        X509V3_EXT_nconf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always");
    ok = aki != nullptr && X509_CRL_add_ext(crl.get(), aki, -1) == 1;
    X509_EXTENSION_free(aki);
  }
  ok = ok && X509_CRL_sort(crl.get()) == 1 &&
       X509_CRL_sign(crl.get(), key_.get(), DigestFor(key_.get())) > 0;
  if (!ok) return absl::InternalError("OpenSSL could not build the CRL");
  unsigned char* out = nullptr;
  const int n = i2d_X509_CRL(crl.get(), &out);
  if (n <= 0) return absl::InternalError("could not encode the CRL");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string CertificateAuthority::CertificateDer() const { return DerOf(cert_.get()); }

std::string CertificateAuthority::CertificatePem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), cert_.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::string> CertificateAuthority::KeyPem(const std::string& passphrase) const {
  return PrivateKeyToPem(key_.get(), passphrase);
}

v1::CaCertificate CertificateAuthority::Describe() const { return DescribeCa(cert_.get()); }

absl::StatusOr<std::string> CanonicalSan(absl::string_view name) {
  const size_t colon = name.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name.substr(0, 80), "' is not DNS:name or IP:address"));
  }
  const std::string kind = absl::AsciiStrToUpper(name.substr(0, colon));
  absl::string_view value = name.substr(colon + 1);
  if (kind == "DNS") {
    if (value.empty() || value.size() > 253) return absl::InvalidArgumentError("empty or too long DNS name");
    for (char c : value) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' && c != '*') {
        return absl::InvalidArgumentError(absl::StrCat("'", value.substr(0, 80), "' is not a DNS name"));
      }
    }
    return absl::StrCat("DNS:", absl::AsciiStrToLower(value));
  }
  if (kind == "IP") {
    const std::string text(value.substr(0, 64));
    unsigned char ip[16];
    if (inet_pton(AF_INET, text.c_str(), ip) == 1) {
      return absl::StrCat("IP:", ip[0], ".", ip[1], ".", ip[2], ".", ip[3]);
    }
    if (inet_pton(AF_INET6, text.c_str(), ip) == 1) {
      std::vector<std::string> groups;
      for (int j = 0; j < 16; j += 2) groups.push_back(absl::StrCat(absl::Hex((ip[j] << 8) | ip[j + 1])));
      return absl::StrCat("IP:", absl::StrJoin(groups, ":"));
    }
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an IP address"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", name.substr(0, 80), "': only DNS and IP names may be asked for"));
}

}  // namespace vpnfleet::pki
