#include "services/ike/auth/certificates.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/ike/auth/key_encoding.h"
#include "services/ike/auth/parsed_certificates.h"

namespace vpnfleet::ike::auth {
namespace {

using BioPtr = std::unique_ptr<BIO, ossl::OpenSslDeleter<BIO, BIO_free_all>>;
using AlgorPtr = std::unique_ptr<X509_ALGOR, ossl::OpenSslDeleter<X509_ALGOR, X509_ALGOR_free>>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, ossl::OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using PssPtr =
    std::unique_ptr<RSA_PSS_PARAMS, ossl::OpenSslDeleter<RSA_PSS_PARAMS, RSA_PSS_PARAMS_free>>;

// Bounds on what a peer may send: certificates per message and octets each.
constexpr size_t kMaxChain = 8;
constexpr size_t kMaxCertSize = 16 * 1024;

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::vector<ossl::X509Ptr> ReadCerts(absl::string_view pem) {
  std::vector<ossl::X509Ptr> out;
  BioPtr bio = MemBio(pem);
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

std::string Der(X509* cert) {
  unsigned char* buf = nullptr;
  const int n = i2d_X509(cert, &buf);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
  OPENSSL_free(buf);
  return out;
}

const EVP_MD* HashMd(uint16_t hash) {
  switch (hash) {
    case kHashSha256: return EVP_sha256();
    case kHashSha384: return EVP_sha384();
    case kHashSha512: return EVP_sha512();
    default: return nullptr;
  }
}


// The hash that goes with an EC key's curve (RFC 4754), and its classic method.
uint16_t EcHash(const EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  return bits <= 256 ? kHashSha256 : bits <= 384 ? kHashSha384 : kHashSha512;
}
uint8_t EcMethod(const EVP_PKEY* key) {
  const uint16_t h = EcHash(key);
  return h == kHashSha256 ? kAuthEcdsaP256 : h == kHashSha384 ? kAuthEcdsaP384 : kAuthEcdsaP521;
}

absl::StatusOr<std::string> DigestSign(EVP_PKEY* key, const EVP_MD* md, absl::string_view data) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot sign with the trustpoint's key");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot sign with the trustpoint's key");
  }
  sig.resize(len);
  return sig;
}

std::string SignatureAlgorithmId(const EVP_PKEY* key, const EVP_MD* md) {
  int sig_nid = NID_undef;
  if (OBJ_find_sigid_by_algs(&sig_nid, EVP_MD_get_type(md),
                             IsRsa(key) ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey) != 1) {
    return "";
  }
  AlgorPtr alg(X509_ALGOR_new());
  // RSA's identifiers carry NULL parameters, ECDSA's none (RFC 7427 App. A).
  if (!alg || X509_ALGOR_set0(alg.get(), OBJ_nid2obj(sig_nid),
                              IsRsa(key) ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) != 1) {
    return "";
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509_ALGOR(alg.get(), &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

absl::Status DigestVerify(EVP_PKEY* key, const EVP_MD* md, absl::string_view data,
                          absl::string_view sig, const RSA_PSS_PARAMS* pss) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot set up signature verification");
  }
  if (pss != nullptr) {
    const EVP_MD* mgf_md = md;
    if (pss->maskHash != nullptr) mgf_md = EVP_get_digestbyobj(pss->maskHash->algorithm);
    const long salt = pss->saltLength != nullptr ? ASN1_INTEGER_get(pss->saltLength) : 20;
    if (mgf_md == nullptr || salt < 0 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(salt)) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf_md) != 1) {
      ERR_clear_error();
      return absl::InvalidArgumentError("unusable RSASSA-PSS parameters");
    }
  }
  const int ok = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                                  sig.size(), reinterpret_cast<const unsigned char*>(data.data()),
                                  data.size());
  ERR_clear_error();
  if (ok != 1) return absl::UnauthenticatedError("signature does not verify with the peer's certificate");
  return absl::OkStatus();
}

// RFC 7427 §3: one octet of length, the AlgorithmIdentifier, the signature.
absl::Status VerifyDigitalSignature(EVP_PKEY* key, absl::string_view data,
                                    absl::string_view octets) {
  if (data.empty() || static_cast<uint8_t>(data[0]) == 0 ||
      1 + static_cast<size_t>(static_cast<uint8_t>(data[0])) >= data.size()) {
    return absl::InvalidArgumentError("malformed RFC 7427 signature");
  }
  const size_t len = static_cast<uint8_t>(data[0]);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data() + 1);
  AlgorPtr alg(d2i_X509_ALGOR(nullptr, &p, static_cast<long>(len)));
  if (!alg || p != reinterpret_cast<const unsigned char*>(data.data() + 1 + len)) {
    ERR_clear_error();
    return absl::InvalidArgumentError("malformed AlgorithmIdentifier in RFC 7427 signature");
  }
  const absl::string_view sig = data.substr(1 + len);
  const int nid = OBJ_obj2nid(alg->algorithm);
  if (nid == NID_rsassaPss) {
    if (!IsRsa(key)) return absl::InvalidArgumentError("RSASSA-PSS signature from a non-RSA key");
    PssPtr pss(static_cast<RSA_PSS_PARAMS*>(
        ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)));
    if (!pss) {
      ERR_clear_error();
      return absl::InvalidArgumentError("malformed RSASSA-PSS parameters");
    }
    const EVP_MD* md = pss->hashAlgorithm != nullptr
                           ? EVP_get_digestbyobj(pss->hashAlgorithm->algorithm)
                           : EVP_sha1();
    if (md == nullptr || EVP_MD_get_type(md) == NID_sha1) {
      return absl::InvalidArgumentError("RSASSA-PSS with an unaccepted hash");
    }
    return DigestVerify(key, md, octets, sig, pss.get());
  }
  int md_nid = NID_undef, pk_nid = NID_undef;
  if (OBJ_find_sigid_algs(nid, &md_nid, &pk_nid) != 1) {
    return absl::InvalidArgumentError("unknown signature algorithm in RFC 7427 signature");
  }
  if ((pk_nid == NID_rsaEncryption) != IsRsa(key) ||
      (pk_nid == NID_X9_62_id_ecPublicKey) != IsEc(key)) {
    return absl::InvalidArgumentError("signature algorithm does not match the certificate's key");
  }
  if (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512) {
    return absl::InvalidArgumentError("signature hash is not SHA-2 (RFC 8247)");
  }
  return DigestVerify(key, EVP_get_digestbynid(md_nid), octets, sig, nullptr);
}

}  // namespace

std::string OurHashAlgorithms() {
  return std::string("\x00\x02\x00\x03\x00\x04", 6);
}

std::vector<uint16_t> ParseHashAlgorithms(absl::string_view data) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    out.push_back(static_cast<uint16_t>((static_cast<uint8_t>(data[i]) << 8) |
                                        static_cast<uint8_t>(data[i + 1])));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const LocalCredential>> LocalCredential::FromPem(
    std::string trustpoint, absl::string_view key_pem, absl::string_view certs_pem) {
  std::shared_ptr<LocalCredential> c(new LocalCredential());
  c->trustpoint_ = std::move(trustpoint);
  BioPtr bio = MemBio(key_pem);
  c->key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!c->key_) return absl::InvalidArgumentError("no private key (unencrypted PEM) found");
  if (!IsRsa(c->key_.get()) && !IsEc(c->key_.get())) {
    return absl::InvalidArgumentError("the private key is neither RSA nor ECDSA");
  }
  std::vector<ossl::X509Ptr> certs = ReadCerts(certs_pem);
  if (certs.empty()) return absl::InvalidArgumentError("no certificate found");
  if (X509_check_private_key(certs[0].get(), c->key_.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the certificate does not belong to the private key");
  }
  for (const ossl::X509Ptr& x : certs) c->chain_der_.push_back(Der(x.get()));
  c->leaf_ = std::move(certs[0]);
  return std::shared_ptr<const LocalCredential>(std::move(c));
}

v2::IdPayload LocalCredential::DnIdentity() const {
  v2::IdPayload id;
  id.id_type = kIdDn;
  unsigned char* der = nullptr;
  const int n = i2d_X509_NAME(X509_get_subject_name(leaf_.get()), &der);
  if (n > 0) {
    id.data.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  return id;
}

bool LocalCredential::is_rsa() const { return IsRsa(key_.get()); }


absl::StatusOr<v2::AuthPayload> LocalCredential::Sign(
    absl::string_view octets, const std::vector<uint16_t>& peer_hashes) const {
  auto offered = [&](uint16_t h) {
    for (uint16_t p : peer_hashes) {
      if (p == h) return true;
    }
    return false;
  };
  uint16_t hash = 0;
  const uint16_t preferred = IsRsa(key_.get()) ? kHashSha256 : EcHash(key_.get());
  for (uint16_t h : {preferred, kHashSha256, kHashSha384, kHashSha512}) {
    if (offered(h)) {
      hash = h;
      break;
    }
  }
  v2::AuthPayload auth;
  if (hash != 0) {
    const EVP_MD* md = HashMd(hash);
    auto sig = DigestSign(key_.get(), md, octets);
    if (!sig.ok()) return sig.status();
    const std::string alg = SignatureAlgorithmId(key_.get(), md);
    if (alg.empty() || alg.size() > 255) return absl::InternalError("no signature algorithm id");
    auth.method = kAuthDigitalSignature;
    auth.data = std::string(1, static_cast<char>(alg.size())) + alg + *sig;
    return auth;
  }
  // The peer did not announce RFC 7427: the classic method of the key type.
  if (IsRsa(key_.get())) {
    auto sig = DigestSign(key_.get(), EVP_sha1(), octets);
    if (!sig.ok()) return sig.status();
    auth.method = kAuthRsaSignature;
    auth.data = *std::move(sig);
    return auth;
  }
  auto sig = DigestSign(key_.get(), HashMd(EcHash(key_.get())), octets);
  if (!sig.ok()) return sig.status();
  auth.method = EcMethod(key_.get());
  auth.data = EcDerToRaw(*sig, EcScalarSize(key_.get()));
  if (auth.data.empty()) return absl::InternalError("cannot encode the ECDSA signature");
  return auth;
}

struct TrustStore::Anchor {
  std::string name;
  ossl::X509StorePtr store;
  std::vector<Revocation> revocation;
  std::string ocsp_url;
};

TrustStore::~TrustStore() = default;

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::Make(
    const std::vector<TrustpointPem>& trustpoints, std::shared_ptr<OcspCache> ocsp) {
  std::shared_ptr<TrustStore> t(new TrustStore());
  t->ocsp_ = std::move(ocsp);
  for (const TrustpointPem& tp : trustpoints) {
    std::vector<ossl::X509Ptr> cas = ReadCerts(tp.ca_pem);
    if (cas.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("trustpoint ", tp.name, ": no CA certificate"));
    }
    auto a = std::make_unique<Anchor>();
    a->name = tp.name;
    a->revocation = tp.revocation;
    if (a->revocation.empty() && tp.check_crl) a->revocation = {Revocation::kCrl};
    a->ocsp_url = tp.ocsp_url;
    a->store.reset(X509_STORE_new());
    if (!a->store) return absl::InternalError("out of memory");
    for (const ossl::X509Ptr& ca : cas) {
      X509_STORE_add_cert(a->store.get(), ca.get());
      unsigned char* name = nullptr;
      const int name_len = i2d_X509_NAME(X509_get_subject_name(ca.get()), &name);
      if (name_len > 0) {
        t->ca_names_.emplace_back(reinterpret_cast<char*>(name), static_cast<size_t>(name_len));
        OPENSSL_free(name);
      }
      unsigned char* spki = nullptr;
      const int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(ca.get()), &spki);
      if (n > 0) {
        unsigned char md[SHA_DIGEST_LENGTH];
        SHA1(spki, static_cast<size_t>(n), md);
        t->certreq_.append(reinterpret_cast<char*>(md), sizeof(md));
        OPENSSL_free(spki);
      }
    }
    int crls = 0;
    if (!tp.crl_pem.empty()) {
      BioPtr bio = MemBio(tp.crl_pem);
      while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
        X509_STORE_add_crl(a->store.get(), crl);
        X509_CRL_free(crl);
        ++crls;
      }
      ERR_clear_error();
      if (crls == 0) {
        const auto* p = reinterpret_cast<const unsigned char*>(tp.crl_pem.data());
        ossl::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(tp.crl_pem.size())));
        ERR_clear_error();
        if (!crl) {
          return absl::InvalidArgumentError(absl::StrCat("trustpoint ", tp.name, ": unreadable CRL"));
        }
        X509_STORE_add_crl(a->store.get(), crl.get());
      }
    }
    t->anchors_.push_back(std::move(a));
  }
  return std::shared_ptr<const TrustStore>(std::move(t));
}

absl::StatusOr<TrustStore::Verified> TrustStore::Verify(
    const std::vector<const v2::CertPayload*>& certs, absl::Time now, OcspQuery* ask) const {
  if (certs.empty()) return absl::UnauthenticatedError("the peer sent no certificate");
  if (certs.size() > kMaxChain) return absl::InvalidArgumentError("too many certificates");
  std::vector<ossl::X509Ptr> decoded;
  std::vector<absl::string_view> decoded_der;
  for (const v2::CertPayload* c : certs) {
    if (c->encoding != kCertX509Signature) {
      if (decoded.empty()) {
        return absl::UnimplementedError(
            absl::StrCat("certificate encoding ", c->encoding, " is not supported"));
      }
      continue;
    }
    if (c->data.size() > kMaxCertSize) return absl::InvalidArgumentError("certificate too large");
    ossl::X509Ptr x = ParseCertificate(c->data);
    if (!x) return absl::InvalidArgumentError("malformed certificate");
    decoded.push_back(std::move(x));
    decoded_der.push_back(c->data);
  }
  X509* leaf = decoded[0].get();
  if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0) {
    return absl::PermissionDeniedError("the peer's certificate may not sign (keyUsage)");
  }
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
      sk_X509_new_null(), [](STACK_OF(X509)* s) { sk_X509_free(s); });
  for (size_t i = 1; i < decoded.size(); ++i) sk_X509_push(untrusted.get(), decoded[i].get());
  std::string why = "no trustpoint is configured";
  bool specific = false;
  for (const std::unique_ptr<Anchor>& a : anchors_) {
    // The chain first, without revocation; then each method in turn.
    auto run = [&](bool with_crl, ossl::X509Ptr* issuer_out) -> int {
      StoreCtxPtr ctx(X509_STORE_CTX_new());
      if (!ctx || X509_STORE_CTX_init(ctx.get(), a->store.get(), leaf, untrusted.get()) != 1) {
        ERR_clear_error();
        return -1;
      }
      X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
      X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(absl::ToUnixSeconds(now)));
      if (with_crl) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
      const int ok = X509_verify_cert(ctx.get());
      const int err = X509_STORE_CTX_get_error(ctx.get());
      if (ok == 1 && issuer_out != nullptr) {
        STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
        X509* issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : leaf;
        X509_up_ref(issuer);
        issuer_out->reset(issuer);
      }
      ERR_clear_error();
      return ok == 1 ? X509_V_OK : err;
    };
    const bool crl_only = a->revocation.size() == 1 && a->revocation[0] == Revocation::kCrl;
    ossl::X509Ptr issuer;
    const int err = run(crl_only, &issuer);
    if (err < 0) return absl::InternalError("cannot set up certificate verification");
    if (err == X509_V_OK) {  // it chains to an anchor: worth parsing only once
      for (size_t i = 0; i < decoded.size(); ++i) {
        KeepParsedCertificate(decoded_der[i], decoded[i].get());
      }
    }
    if (err == X509_V_OK && (crl_only || a->revocation.empty())) {
      X509_up_ref(leaf);
      return Verified{ossl::X509Ptr(leaf), a->name, SubjectText(leaf), crl_only ? "crl" : ""};
    }
    if (err != X509_V_OK) {
      // A trustpoint that is not the issuer says only that; the error of the
      // one that is (expired, revoked, ...) is the one worth reporting.
      const bool not_ours = err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
                            err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
      if (!not_ours || !specific) {
        why = absl::StrCat("trustpoint ", a->name, ": ", X509_verify_cert_error_string(err));
        specific = !not_ours;
      }
      continue;
    }
    // The chain holds: revocation, method by method, until one answers.
    std::vector<std::string> tried;
    for (Revocation m : a->revocation) {
      if (m == Revocation::kNone) {
        X509_up_ref(leaf);
        return Verified{ossl::X509Ptr(leaf), a->name, SubjectText(leaf), "none"};
      }
      if (m == Revocation::kCrl) {
        const int e = run(true, nullptr);
        if (e == X509_V_OK) {
          X509_up_ref(leaf);
          return Verified{ossl::X509Ptr(leaf), a->name, SubjectText(leaf), "crl"};
        }
        if (e == X509_V_ERR_CERT_REVOKED || e < 0) {
          return absl::PermissionDeniedError(
              absl::StrCat("certificate of ", SubjectText(leaf), " not trusted (trustpoint ",
                           a->name, ": ", e < 0 ? "internal error" : X509_verify_cert_error_string(e),
                           ")"));
        }
        tried.push_back(absl::StrCat("crl: ", X509_verify_cert_error_string(e)));
        continue;
      }
      // OCSP: a verdict from the cache, or the question for the caller.
      const std::string key = OcspKey(leaf, issuer.get());
      std::optional<OcspAnswer> known;
      if (ocsp_ && !key.empty()) known = ocsp_->Find(key, now);
      if (known && known->verdict == OcspVerdict::kGood) {
        X509_up_ref(leaf);
        return Verified{ossl::X509Ptr(leaf), a->name, SubjectText(leaf), "ocsp"};
      }
      if (known && known->verdict == OcspVerdict::kRevoked) {
        return absl::PermissionDeniedError(absl::StrCat("certificate of ", SubjectText(leaf),
                                                        " not trusted (trustpoint ", a->name,
                                                        ": OCSP: ", known->detail, ")"));
      }
      if (!known && ocsp_ && ask != nullptr) {
        auto q = MakeOcspQuery(leaf, issuer.get(), a->store.get(), a->ocsp_url);
        if (q.ok()) {
          *ask = *std::move(q);
          ask->subject = SubjectText(leaf);
          return absl::UnavailableError(
              absl::StrCat("OCSP status of ", SubjectText(leaf), " asked at ", ask->url));
        }
        tried.push_back(absl::StrCat("ocsp: ", q.status().message()));
        continue;
      }
      tried.push_back(absl::StrCat(
          "ocsp: ", known ? absl::StrCat(OcspVerdictName(known->verdict), ", ", known->detail)
                          : std::string("no answer")));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("certificate of ", SubjectText(leaf), " not trusted (trustpoint ", a->name,
                     ": revocation status unknown: ", absl::StrJoin(tried, "; "), ")"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("certificate of ", SubjectText(leaf), " not trusted (", why, ")"));
}

absl::Status IdMatchesCertificate(const v2::IdPayload& id, X509* cert) {
  int ok = 0;
  switch (id.id_type) {
    case kIdDn: {
      const auto* p = reinterpret_cast<const unsigned char*>(id.data.data());
      std::unique_ptr<X509_NAME, ossl::OpenSslDeleter<X509_NAME, X509_NAME_free>> name(
          d2i_X509_NAME(nullptr, &p, static_cast<long>(id.data.size())));
      ERR_clear_error();
      ok = name && X509_NAME_cmp(name.get(), X509_get_subject_name(cert)) == 0;
      break;
    }
    case kIdIpv4:
    case kIdIpv6:
      ok = X509_check_ip(cert, reinterpret_cast<const unsigned char*>(id.data.data()),
                         id.data.size(), 0) == 1;
      break;
    case kIdFqdn:
      ok = X509_check_host(cert, id.data.data(), id.data.size(),
                           X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_WILDCARDS,
                           nullptr) == 1;
      break;
    case kIdRfc822:
      ok = X509_check_email(cert, id.data.data(), id.data.size(), 0) == 1;
      break;
    default:
      return absl::UnimplementedError(
          absl::StrCat("ID type ", id.id_type, " cannot be bound to a certificate"));
  }
  ERR_clear_error();
  if (!ok) {
    return absl::PermissionDeniedError(
        absl::StrCat("the peer's identity is not a name of its certificate (", SubjectText(cert), ")"));
  }
  return absl::OkStatus();
}

absl::Status VerifySignature(X509* cert, const v2::AuthPayload& auth, absl::string_view octets) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return absl::InvalidArgumentError("the certificate has no usable public key");
  switch (auth.method) {
    case kAuthDigitalSignature:
      return VerifyDigitalSignature(key, auth.data, octets);
    case kAuthRsaSignature:
      if (!IsRsa(key)) return absl::InvalidArgumentError("RSA signature from a non-RSA certificate");
      return DigestVerify(key, EVP_sha1(), octets, auth.data, nullptr);
    case kAuthEcdsaP256:
    case kAuthEcdsaP384:
    case kAuthEcdsaP521: {
      if (!IsEc(key) || EcMethod(key) != auth.method) {
        return absl::InvalidArgumentError("ECDSA method does not match the certificate's curve");
      }
      if (auth.data.size() != 2 * EcScalarSize(key)) {
        return absl::InvalidArgumentError("ECDSA signature of the wrong size");
      }
      const std::string der = EcRawToDer(auth.data);
      if (der.empty()) return absl::InvalidArgumentError("malformed ECDSA signature");
      return DigestVerify(key, HashMd(EcHash(key)), octets, der, nullptr);
    }
    default:
      return absl::UnimplementedError(
          absl::StrCat("authentication method ", auth.method, " is not supported"));
  }
}

namespace {
std::string NameText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

}  // namespace

std::string SubjectText(X509* cert) { return NameText(X509_get_subject_name(cert)); }

std::string DnText(absl::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509_NAME, ossl::OpenSslDeleter<X509_NAME, X509_NAME_free>> name(
      d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  return name ? NameText(name.get()) : "";
}

}  // namespace vpnfleet::ike::auth
