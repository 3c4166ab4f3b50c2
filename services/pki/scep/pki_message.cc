#include "services/pki/scep/pki_message.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/pki/ca/authority.h"

namespace vpnfleet::pki::scep {
namespace {

void FreeBio(BIO* b) { BIO_free(b); }
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, FreeBio>>;
using ObjPtr = std::unique_ptr<ASN1_OBJECT, OpenSslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, OpenSslDeleter<PKCS7, PKCS7_free>>;
using IasPtr = std::unique_ptr<PKCS7_ISSUER_AND_SERIAL,
                               OpenSslDeleter<PKCS7_ISSUER_AND_SERIAL, PKCS7_ISSUER_AND_SERIAL_free>>;
using NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;

void FreeCertStack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using CertStack = std::unique_ptr<STACK_OF(X509), decltype(&FreeCertStack)>;

// RFC 8894 §3.2.1: the SCEP attributes under id-VeriSign pki attributes.
constexpr const char* kOidMessageType = "2.16.840.1.113733.1.9.2";
constexpr const char* kOidPkiStatus = "2.16.840.1.113733.1.9.3";
constexpr const char* kOidFailInfo = "2.16.840.1.113733.1.9.4";
constexpr const char* kOidSenderNonce = "2.16.840.1.113733.1.9.5";
constexpr const char* kOidRecipientNonce = "2.16.840.1.113733.1.9.6";
constexpr const char* kOidTransactionId = "2.16.840.1.113733.1.9.7";

// Bounds on what we accept from peers: nonces are 16 octets (§3.2.1.5);
// transaction IDs are printable and short in every client we know.
constexpr size_t kNonceSize = 16;
constexpr size_t kMaxTransactionId = 256;
constexpr size_t kMaxMessage = 256 * 1024;

ObjPtr Oid(const char* dotted) { return ObjPtr(OBJ_txt2obj(dotted, 1)); }

std::string OpenSslError(absl::string_view what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string(what);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return absl::StrCat(what, ": ", buf);
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

BioPtr MemBio(absl::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// One attribute's single value, with its ASN.1 type; absent → false.
bool ReadAttribute(CMS_SignerInfo* si, const char* oid, int* type, std::string* value) {
  ObjPtr obj = Oid(oid);
  const int idx = CMS_signed_get_attr_by_OBJ(si, obj.get(), -1);
  if (idx < 0) return false;
  X509_ATTRIBUTE* attr = CMS_signed_get_attr(si, idx);
  if (attr == nullptr || X509_ATTRIBUTE_count(attr) != 1) {
    *type = -1;
    return true;
  }
  ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, 0);
  *type = ASN1_TYPE_get(t);
  if (*type == V_ASN1_PRINTABLESTRING || *type == V_ASN1_OCTET_STRING ||
      *type == V_ASN1_UTF8STRING || *type == V_ASN1_IA5STRING) {
    const ASN1_STRING* s = t->value.asn1_string;
    value->assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<size_t>(ASN1_STRING_length(s)));
  } else {
    *type = -1;
  }
  return true;
}

bool IsTextType(int type) {
  return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_UTF8STRING || type == V_ASN1_IA5STRING;
}

absl::Status ReadText(CMS_SignerInfo* si, const char* oid, const char* name, bool* present,
                      std::string* out) {
  int type = 0;
  *present = ReadAttribute(si, oid, &type, out);
  if (*present && !IsTextType(type)) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a single printable string"));
  }
  return absl::OkStatus();
}

absl::Status ReadNonce(CMS_SignerInfo* si, const char* oid, const char* name, bool* present,
                       std::string* out) {
  int type = 0;
  *present = ReadAttribute(si, oid, &type, out);
  if (!*present) return absl::OkStatus();
  if (type != V_ASN1_OCTET_STRING) {
    return absl::InvalidArgumentError(absl::StrCat(name, " is not a single octet string"));
  }
  if (out->size() != kNonceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " is ", out->size(), " octets, not ", kNonceSize));
  }
  return absl::OkStatus();
}

bool SmallNumber(const std::string& text, int* out) {
  return text.size() <= 3 && absl::SimpleAtoi(text, out) && *out >= 0;
}

bool KnownMessageType(int v) {
  switch (static_cast<MessageType>(v)) {
    case MessageType::kCertRep:
    case MessageType::kRenewalReq:
    case MessageType::kPkcsReq:
    case MessageType::kCertPoll:
    case MessageType::kGetCert:
    case MessageType::kGetCrl:
      return true;
    case MessageType::kUnknown:
      break;
  }
  return false;
}

absl::Status AddText(CMS_SignerInfo* si, const char* oid, int type, absl::string_view value) {
  ObjPtr obj = Oid(oid);
  if (CMS_signed_add1_attr_by_OBJ(si, obj.get(), type, value.data(),
                                  static_cast<int>(value.size())) != 1) {
    return absl::InternalError(OpenSslError("adding a SCEP attribute"));
  }
  return absl::OkStatus();
}

const EVP_CIPHER* CipherOf(ContentCipher c) {
  switch (c) {
    case ContentCipher::kAes128Cbc:
      return EVP_aes_128_cbc();
    case ContentCipher::kAes192Cbc:
      return EVP_aes_192_cbc();
    case ContentCipher::kAes256Cbc:
      return EVP_aes_256_cbc();
    case ContentCipher::kDes3Cbc:
      return EVP_des_ede3_cbc();
    case ContentCipher::kDesCbc:
      return EVP_des_cbc();
  }
  return EVP_aes_128_cbc();
}

// Reads one DER element at the front of `in`: its tag and contents; `in`
// moves past it. False on anything malformed.
bool NextTlv(absl::string_view* in, unsigned char* tag, absl::string_view* contents) {
  if (in->size() < 2) return false;
  *tag = static_cast<unsigned char>((*in)[0]);
  size_t len = static_cast<unsigned char>((*in)[1]);
  size_t at = 2;
  if (len & 0x80) {
    const size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in->size() < at + n) return false;
    len = 0;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<unsigned char>((*in)[at + i]);
    at += n;
  }
  if (in->size() - at < len) return false;
  *contents = in->substr(at, len);
  in->remove_prefix(at + len);
  return true;
}

// The content encryption algorithm an EnvelopedData names (RFC 5652 §6.1:
// ContentInfo { OID, [0] { version, [0] originatorInfo OPTIONAL,
// recipientInfos SET, encryptedContentInfo { type, algorithm { OID } } } });
// AES-128 when it is one we would not send or cannot find.
ContentCipher CipherNamedIn(absl::string_view der) {
  unsigned char tag = 0;
  absl::string_view info, body, enveloped, eci, alg, oid;
  if (!NextTlv(&der, &tag, &info) || tag != 0x30) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&info, &tag, &oid) || tag != 0x06) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&info, &tag, &body) || tag != 0xa0) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&body, &tag, &enveloped) || tag != 0x30) return ContentCipher::kAes128Cbc;
  absl::string_view skip;
  if (!NextTlv(&enveloped, &tag, &skip) || tag != 0x02) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&enveloped, &tag, &skip)) return ContentCipher::kAes128Cbc;
  if (tag == 0xa0 && !NextTlv(&enveloped, &tag, &skip)) return ContentCipher::kAes128Cbc;
  if (tag != 0x31) return ContentCipher::kAes128Cbc;  // recipientInfos
  if (!NextTlv(&enveloped, &tag, &eci) || tag != 0x30) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&eci, &tag, &skip) || tag != 0x06) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&eci, &tag, &alg) || tag != 0x30) return ContentCipher::kAes128Cbc;
  if (!NextTlv(&alg, &tag, &oid) || tag != 0x06) return ContentCipher::kAes128Cbc;
  // The algorithm OIDs' contents octets.
  static const std::string kAes192("\x60\x86\x48\x01\x65\x03\x04\x01\x16", 9);
  static const std::string kAes256("\x60\x86\x48\x01\x65\x03\x04\x01\x2a", 9);
  static const std::string kDes3("\x2a\x86\x48\x86\xf7\x0d\x03\x07", 8);
  static const std::string kDes("\x2b\x0e\x03\x02\x07", 5);
  if (oid == kAes192) return ContentCipher::kAes192Cbc;
  if (oid == kAes256) return ContentCipher::kAes256Cbc;
  if (oid == kDes3) return ContentCipher::kDes3Cbc;
  if (oid == kDes) return ContentCipher::kDesCbc;
  return ContentCipher::kAes128Cbc;
}

// DER length octets for a SEQUENCE of `n` content octets.
std::string DerSequenceHeader(size_t n) {
  std::string h(1, '\x30');
  if (n < 0x80) {
    h.push_back(static_cast<char>(n));
    return h;
  }
  std::string len;
  for (size_t v = n; v != 0; v >>= 8) len.insert(len.begin(), static_cast<char>(v & 0xff));
  h.push_back(static_cast<char>(0x80 | len.size()));
  return h + len;
}

// One DER element: tag, definite length, contents.
std::string Tlv(unsigned char tag, absl::string_view contents) {
  std::string h = DerSequenceHeader(contents.size());
  h[0] = static_cast<char>(tag);
  return h + std::string(contents);
}

std::string NameDer(X509_NAME* name) {
  unsigned char* out = nullptr;
  const int n = i2d_X509_NAME(name, &out);
  if (n <= 0) return {};
  std::string s(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return s;
}

}  // namespace

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kCertRep:
      return "CertRep";
    case MessageType::kRenewalReq:
      return "RenewalReq";
    case MessageType::kPkcsReq:
      return "PKCSReq";
    case MessageType::kCertPoll:
      return "CertPoll";
    case MessageType::kGetCert:
      return "GetCert";
    case MessageType::kGetCrl:
      return "GetCRL";
    case MessageType::kUnknown:
      break;
  }
  return "unknown";
}

const char* FailInfoName(FailInfo info) {
  switch (info) {
    case FailInfo::kBadAlg:
      return "badAlg";
    case FailInfo::kBadMessageCheck:
      return "badMessageCheck";
    case FailInfo::kBadRequest:
      return "badRequest";
    case FailInfo::kBadTime:
      return "badTime";
    case FailInfo::kBadCertId:
      return "badCertId";
  }
  return "unknown";
}

absl::StatusOr<PkiMessage> ParsePkiMessage(absl::string_view der) {
  if (der.empty() || der.size() > kMaxMessage) {
    return absl::InvalidArgumentError(absl::StrCat("pkiMessage of ", der.size(), " octets"));
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  PkiMessage m;
  m.cms.reset(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!m.cms) return absl::InvalidArgumentError(OpenSslError("pkiMessage is not CMS"));
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("octets after the pkiMessage");
  }
  if (OBJ_obj2nid(CMS_get0_type(m.cms.get())) != NID_pkcs7_signed) {
    return absl::InvalidArgumentError("pkiMessage is not SignedData");
  }
  STACK_OF(CMS_SignerInfo)* infos = CMS_get0_SignerInfos(m.cms.get());
  if (infos == nullptr || sk_CMS_SignerInfo_num(infos) != 1) {
    return absl::InvalidArgumentError("pkiMessage must have exactly one signer");
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(infos, 0);
  CertStack certs(CMS_get1_certs(m.cms.get()), FreeCertStack);
  for (int i = 0; certs && i < sk_X509_num(certs.get()); ++i) {
    X509* c = sk_X509_value(certs.get(), i);
    if (CMS_SignerInfo_cert_cmp(si, c) == 0) {
      X509_up_ref(c);
      m.signer.reset(c);
      break;
    }
  }
  if (!m.signer) return absl::InvalidArgumentError("the signer's certificate is not in the message");
  X509_ALGOR* digest = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &digest, nullptr);
  if (digest != nullptr) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, digest);
    const int nid = OBJ_obj2nid(obj);
    m.digest_name = nid == NID_undef ? "unknown" : OBJ_nid2sn(nid);
  }

  bool present = false;
  std::string text;
  if (auto st = ReadText(si, kOidMessageType, "messageType", &present, &text); !st.ok()) return st;
  int type = 0;
  if (!present) return absl::InvalidArgumentError("no messageType attribute");
  if (!SmallNumber(text, &type) || !KnownMessageType(type)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown messageType \"", text.substr(0, 8), "\""));
  }
  m.fields.type = static_cast<MessageType>(type);
  if (auto st = ReadText(si, kOidTransactionId, "transactionID", &present, &m.fields.transaction_id);
      !st.ok()) {
    return st;
  }
  if (!present || m.fields.transaction_id.empty() ||
      m.fields.transaction_id.size() > kMaxTransactionId) {
    return absl::InvalidArgumentError("transactionID missing, empty or too long");
  }
  bool has_sender = false, has_recipient = false;
  if (auto st = ReadNonce(si, kOidSenderNonce, "senderNonce", &has_sender, &m.fields.sender_nonce);
      !st.ok()) {
    return st;
  }
  if (auto st = ReadNonce(si, kOidRecipientNonce, "recipientNonce", &has_recipient,
                          &m.fields.recipient_nonce);
      !st.ok()) {
    return st;
  }
  if (auto st = ReadText(si, kOidPkiStatus, "pkiStatus", &m.has_status, &text); !st.ok()) return st;
  if (m.has_status) {
    int status = 0;
    if (!SmallNumber(text, &status) || (status != 0 && status != 2 && status != 3)) {
      return absl::InvalidArgumentError("unknown pkiStatus");
    }
    m.fields.status = static_cast<PkiStatus>(status);
  }
  if (auto st = ReadText(si, kOidFailInfo, "failInfo", &m.has_fail_info, &text); !st.ok()) return st;
  if (m.has_fail_info) {
    int info = 0;
    if (!SmallNumber(text, &info) || info > 4) return absl::InvalidArgumentError("unknown failInfo");
    m.fields.fail_info = static_cast<FailInfo>(info);
  }
  if (m.fields.type == MessageType::kCertRep) {
    if (!m.has_status) return absl::InvalidArgumentError("CertRep without pkiStatus");
    if (!has_recipient) return absl::InvalidArgumentError("CertRep without recipientNonce");
    if (m.fields.status == PkiStatus::kFailure && !m.has_fail_info) {
      return absl::InvalidArgumentError("CertRep FAILURE without failInfo");
    }
  } else if (!has_sender) {
    return absl::InvalidArgumentError(
        absl::StrCat(MessageTypeName(m.fields.type), " without senderNonce"));
  }
  return m;
}

absl::StatusOr<std::string> VerifyPkiMessage(const PkiMessage& message) {
  if (!message.cms || !message.signer) return absl::InvalidArgumentError("no message");
  CertStack signer(sk_X509_new_null(), FreeCertStack);
  X509_up_ref(message.signer.get());
  sk_X509_push(signer.get(), message.signer.get());
  BioPtr out(BIO_new(BIO_s_mem()));
  BioPtr empty = MemBio("");
  ASN1_OCTET_STRING** content = CMS_get0_content(message.cms.get());
  const bool detached = content == nullptr || *content == nullptr;
  if (CMS_verify(message.cms.get(), signer.get(), nullptr, detached ? empty.get() : nullptr,
                 out.get(), CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY | CMS_NOINTERN) != 1) {
    return absl::UnauthenticatedError(OpenSslError("pkiMessage signature does not verify"));
  }
  return BioContents(out.get());
}

absl::StatusOr<std::string> BuildPkiMessage(const PkiMessageFields& fields,
                                            absl::string_view content, X509* signer, EVP_PKEY* key,
                                            const std::vector<X509*>& extra_certs) {
  // Never detached: a FAILURE or PENDING reply carries empty content.
  const unsigned flags = CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP;
  CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return absl::InternalError(OpenSslError("CMS_sign"));
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer, key, EVP_sha256(), flags);
  if (si == nullptr) return absl::InternalError(OpenSslError("CMS_add1_signer"));
  const std::string type = absl::StrCat(static_cast<int>(fields.type));
  absl::Status st = AddText(si, kOidMessageType, V_ASN1_PRINTABLESTRING, type);
  if (st.ok()) st = AddText(si, kOidTransactionId, V_ASN1_PRINTABLESTRING, fields.transaction_id);
  if (st.ok() && !fields.sender_nonce.empty()) {
    st = AddText(si, kOidSenderNonce, V_ASN1_OCTET_STRING, fields.sender_nonce);
  }
  if (st.ok() && fields.type == MessageType::kCertRep) {
    st = AddText(si, kOidRecipientNonce, V_ASN1_OCTET_STRING, fields.recipient_nonce);
    if (st.ok()) {
      st = AddText(si, kOidPkiStatus, V_ASN1_PRINTABLESTRING,
                   absl::StrCat(static_cast<int>(fields.status)));
    }
    if (st.ok() && fields.status == PkiStatus::kFailure) {
      st = AddText(si, kOidFailInfo, V_ASN1_PRINTABLESTRING,
                   absl::StrCat(static_cast<int>(fields.fail_info)));
    }
  }
  if (!st.ok()) return st;
  for (X509* c : extra_certs) {
    if (CMS_add1_cert(cms.get(), c) != 1) return absl::InternalError(OpenSslError("CMS_add1_cert"));
  }
  BioPtr data = MemBio(content);
  if (CMS_final(cms.get(), data.get(), nullptr, CMS_BINARY) != 1) {
    return absl::InternalError(OpenSslError("CMS_final"));
  }
  unsigned char* der = nullptr;
  const int n = i2d_CMS_ContentInfo(cms.get(), &der);
  if (n <= 0) return absl::InternalError(OpenSslError("encoding the pkiMessage"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> SealEnvelope(absl::string_view content,
                                         const std::vector<X509*>& recipients,
                                         ContentCipher cipher) {
  if (recipients.empty()) return absl::InvalidArgumentError("no recipient for the envelope");
  CertStack to(sk_X509_new_null(), FreeCertStack);
  for (X509* r : recipients) {
    X509_up_ref(r);
    sk_X509_push(to.get(), r);
  }
  BioPtr data = MemBio(content);
  CmsPtr cms(CMS_encrypt(to.get(), data.get(), CipherOf(cipher), CMS_BINARY));
  if (!cms) return absl::InvalidArgumentError(OpenSslError("cannot envelope for this recipient"));
  unsigned char* der = nullptr;
  const int n = i2d_CMS_ContentInfo(cms.get(), &der);
  if (n <= 0) return absl::InternalError(OpenSslError("encoding the envelope"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> OpenEnvelope(absl::string_view der, X509* cert, EVP_PKEY* key,
                                         ContentCipher* used) {
  if (der.empty() || der.size() > kMaxMessage) return absl::InvalidArgumentError("no envelope");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
  if (!cms) return absl::InvalidArgumentError(OpenSslError("envelope is not CMS"));
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_enveloped) {
    return absl::InvalidArgumentError("content is not EnvelopedData");
  }
  // Older peers (micromdm's scepserver among them) envelope with single
  // DES, which OpenSSL 3 keeps in its legacy provider.
  EnableLegacyCiphers();
  BioPtr out(BIO_new(BIO_s_mem()));
  if (CMS_decrypt(cms.get(), key, cert, nullptr, out.get(), CMS_BINARY) != 1) {
    return absl::InvalidArgumentError(OpenSslError("cannot open the envelope"));
  }
  if (used != nullptr) *used = CipherNamedIn(der);
  return BioContents(out.get());
}

absl::StatusOr<std::string> DegenerateCertsOnly(const std::vector<X509*>& certs,
                                                absl::string_view crl_der) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(p7.get(), NID_pkcs7_data) != 1) {
    return absl::InternalError(OpenSslError("PKCS7_new"));
  }
  // OpenSSL writes PKCS#7 certificates in the order they were added (it
  // declares the SET as a SEQUENCE to keep it); DER wants them sorted by
  // their encodings (X.690 §11.6), and strict parsers insist.
  std::vector<std::pair<std::string, X509*>> by_der;
  for (X509* c : certs) by_der.emplace_back(DerOf(c), c);
  std::sort(by_der.begin(), by_der.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [der_of_cert, c] : by_der) {
    if (PKCS7_add_certificate(p7.get(), c) != 1) {
      return absl::InternalError(OpenSslError("PKCS7_add_certificate"));
    }
  }
  if (!crl_der.empty()) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(crl_der.data());
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl_der.size())));
    if (!crl || PKCS7_add_crl(p7.get(), crl.get()) != 1) {
      return absl::InvalidArgumentError(OpenSslError("CRL"));
    }
  }
  unsigned char* der = nullptr;
  const int n = i2d_PKCS7(p7.get(), &der);
  if (n <= 0) return absl::InternalError(OpenSslError("i2d_PKCS7"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::string DegenerateCertsOnlyDer(const std::vector<std::string>& cert_ders) {
  // RFC 2315 §9.1 SignedData, version 1, no digests, empty data content,
  // the certificates as [0] IMPLICIT, no signers; in a ContentInfo of
  // signedData. The same octets OpenSSL writes.
  static const std::string kSignedDataOid("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 11);
  static const std::string kDataOid("\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01", 11);
  // X.690 §11.6: a SET OF in DER is ordered by its elements' encodings.
  std::vector<absl::string_view> sorted(cert_ders.begin(), cert_ders.end());
  std::sort(sorted.begin(), sorted.end());
  std::string certs;
  for (absl::string_view c : sorted) certs.append(c.data(), c.size());
  const std::string signed_data =
      Tlv(0x30, std::string("\x02\x01\x01\x31\x00", 5) +
                    Tlv(0x30, kDataOid + std::string("\xa0\x02\x04\x00", 4)) + Tlv(0xa0, certs) +
                    std::string("\x31\x00", 2));
  return Tlv(0x30, kSignedDataOid + Tlv(0xa0, signed_data));
}

absl::StatusOr<Degenerate> ParseDegenerate(absl::string_view der) {
  if (der.empty() || der.size() > kMaxMessage) return absl::InvalidArgumentError("no PKCS#7");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!p7) return absl::InvalidArgumentError(OpenSslError("not PKCS#7"));
  if (!PKCS7_type_is_signed(p7.get()) || p7->d.sign == nullptr) {
    return absl::InvalidArgumentError("PKCS#7 is not SignedData");
  }
  Degenerate d;
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i) {
    X509* c = sk_X509_value(certs, i);
    X509_up_ref(c);
    d.certs.emplace_back(c);
  }
  STACK_OF(X509_CRL)* crls = p7->d.sign->crl;
  for (int i = 0; crls != nullptr && i < sk_X509_CRL_num(crls); ++i) {
    X509_CRL* c = sk_X509_CRL_value(crls, i);
    X509_CRL_up_ref(c);
    d.crls.emplace_back(c);
  }
  return d;
}

absl::StatusOr<std::string> EncodeIssuerAndSerial(X509* cert) {
  IasPtr ias(PKCS7_ISSUER_AND_SERIAL_new());
  if (!ias || X509_NAME_set(&ias->issuer, X509_get_issuer_name(cert)) != 1) {
    return absl::InternalError(OpenSslError("IssuerAndSerialNumber"));
  }
  ASN1_INTEGER_free(ias->serial);
  ias->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(cert));
  unsigned char* der = nullptr;
  const int n = i2d_PKCS7_ISSUER_AND_SERIAL(ias.get(), &der);
  if (n <= 0) return absl::InternalError(OpenSslError("IssuerAndSerialNumber"));
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<IssuerAndSerial> DecodeIssuerAndSerial(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  IasPtr ias(d2i_PKCS7_ISSUER_AND_SERIAL(nullptr, &p, static_cast<long>(der.size())));
  if (!ias || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("not an IssuerAndSerialNumber");
  }
  IssuerAndSerial out;
  out.issuer_der = NameDer(ias->issuer);
  out.serial_hex = SerialHex(ias->serial);
  if (out.serial_hex.empty()) return absl::InvalidArgumentError("bad serial number");
  return out;
}

std::string EncodeIssuerAndSubject(X509_NAME* issuer, X509_NAME* subject) {
  const std::string body = NameDer(issuer) + NameDer(subject);
  return DerSequenceHeader(body.size()) + body;
}

absl::StatusOr<IssuerAndSubject> DecodeIssuerAndSubject(absl::string_view der) {
  // SEQUENCE { issuer Name, subject Name }
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  long len = 0;
  int tag = 0, cls = 0;
  const int r = ASN1_get_object(&p, &len, &tag, &cls, static_cast<long>(der.size()));
  if ((r & 0x80) != 0 || tag != V_ASN1_SEQUENCE || cls != V_ASN1_UNIVERSAL ||
      p + len != start + der.size()) {
    return absl::InvalidArgumentError("not an IssuerAndSubject");
  }
  const unsigned char* end = p + len;
  const unsigned char* first = p;
  NamePtr issuer(d2i_X509_NAME(nullptr, &p, end - p));
  const unsigned char* second = p;
  NamePtr subject(issuer ? d2i_X509_NAME(nullptr, &p, end - p) : nullptr);
  if (!issuer || !subject || p != end) return absl::InvalidArgumentError("not an IssuerAndSubject");
  IssuerAndSubject out;
  out.issuer_der.assign(reinterpret_cast<const char*>(first), static_cast<size_t>(second - first));
  out.subject_der.assign(reinterpret_cast<const char*>(second), static_cast<size_t>(end - second));
  return out;
}

namespace {
OSSL_PROVIDER* g_default_provider = nullptr;
OSSL_PROVIDER* g_legacy_provider = nullptr;
void UnloadProviders() {
  if (g_legacy_provider != nullptr) OSSL_PROVIDER_unload(g_legacy_provider);
  if (g_default_provider != nullptr) OSSL_PROVIDER_unload(g_default_provider);
  g_legacy_provider = g_default_provider = nullptr;
}
}  // namespace

bool EnableLegacyCiphers() {
  static std::once_flag once;
  static bool loaded = false;
  std::call_once(once, [] {
    // Loading any provider explicitly stops the default one from loading
    // implicitly, so both are loaded; both are unloaded at exit (before
    // OpenSSL's own cleanup, which was registered earlier).
    g_default_provider = OSSL_PROVIDER_load(nullptr, "default");
    g_legacy_provider = OSSL_PROVIDER_load(nullptr, "legacy");
    loaded = g_default_provider != nullptr && g_legacy_provider != nullptr;
    std::atexit(UnloadProviders);
    ERR_clear_error();
  });
  return loaded;
}

}  // namespace vpnfleet::pki::scep
