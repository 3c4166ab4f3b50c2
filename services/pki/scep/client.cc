#include "services/pki/scep/client.h"

#include <algorithm>

#include <openssl/rand.h>

#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "services/pki/ca/authority.h"

namespace vpnfleet::pki::scep {
namespace {

constexpr const char* kFailInfoPayload = "vpnfleet.pki.scep.failInfo";



bool Has(const std::vector<std::string>& caps, absl::string_view cap) {
  return std::any_of(caps.begin(), caps.end(),
                     [&](const std::string& c) { return absl::EqualsIgnoreCase(c, cap); });
}

bool IsCa(X509* cert) { return X509_check_ca(cert) != 0; }

std::string Nonce() {
  std::string n(16, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), 16);
  return n;
}

}  // namespace

bool IsScepFailure(const absl::Status& status, FailInfo* info) {
  auto payload = status.GetPayload(kFailInfoPayload);
  if (!payload.has_value()) return false;
  int v = 0;
  if (info != nullptr && absl::SimpleAtoi(std::string(*payload), &v)) *info = static_cast<FailInfo>(v);
  return true;
}

std::string TransactionIdFor(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) return "unknown";
  const std::string hex = Sha256Hex(std::string(reinterpret_cast<char*>(der), n));
  OPENSSL_free(der);
  return hex;
}

absl::StatusOr<CaCerts> ScepClient::Authenticate(const std::string& fingerprint_sha256) {
  auto reply = http_->Get("operation=GetCACert&message=vpnfleet");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return absl::UnavailableError(absl::StrCat("GetCACert answered HTTP ", reply->status));
  }
  CaCerts out;
  if (absl::StartsWith(reply->content_type, "application/x-x509-ca-ra-cert")) {
    auto p7 = ParseDegenerate(reply->body);
    if (!p7.ok()) return p7.status();
    // The RA is the certificate that is not a CA; the issuing CA is the CA
    // certificate no other in the chain was issued by (RFC 8894 §4.2.1.2);
    // the rest are its issuers.
    std::vector<X509Ptr> cas;
    for (auto& c : p7->certs) {
      if (IsCa(c.get())) {
        cas.push_back(std::move(c));
      } else if (!out.ra) {
        out.ra = std::move(c);
      }
    }
    if (cas.empty()) return absl::InvalidArgumentError("GetCACert: no CA certificate in the chain");
    size_t issuing = 0;
    for (size_t i = 0; i < cas.size(); ++i) {
      bool issued_another = false;
      for (size_t j = 0; j < cas.size(); ++j) {
        if (i != j && X509_check_issued(cas[i].get(), cas[j].get()) == X509_V_OK) issued_another = true;
      }
      if (!issued_another) issuing = i;
    }
    for (size_t i = 0; i < cas.size(); ++i) {
      if (i == issuing) {
        out.ca = std::move(cas[i]);
      } else {
        out.above.push_back(std::move(cas[i]));
      }
    }
  } else {
    out.ca = ParseCertificateDer(reply->body);
    if (!out.ca) return absl::InvalidArgumentError("GetCACert: the body is not a certificate");
  }
  if (!fingerprint_sha256.empty()) {
    std::string want = absl::AsciiStrToLower(absl::StrReplaceAll(fingerprint_sha256, {{":", ""}}));
    const std::string got = Sha256Hex(DerOf(out.ca.get()));
    bool pinned = want == got;
    for (const auto& c : out.above) pinned = pinned || want == Sha256Hex(DerOf(c.get()));
    if (!pinned) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the CA's SHA-256 fingerprint is ", got, ", not the configured ", want));
    }
  }
  auto caps = http_->Get("operation=GetCACaps&message=vpnfleet");
  if (caps.ok() && caps->status == 200) {
    for (absl::string_view line : absl::StrSplit(caps->body, absl::ByAnyChar("\r\n"), absl::SkipEmpty())) {
      out.capabilities.emplace_back(absl::StripAsciiWhitespace(line));
    }
  }
  return out;
}

absl::StatusOr<std::string> ScepClient::Exchange(const CaCerts& ca, MessageType type,
                                                 const std::string& transaction_id,
                                                 const std::string& content, X509* signer,
                                                 EVP_PKEY* key, PkiStatus* status) {
  const ContentCipher cipher =
      Has(ca.capabilities, "AES") ? ContentCipher::kAes128Cbc : ContentCipher::kDes3Cbc;
  auto envelope = SealEnvelope(content, {ca.recipient()}, cipher);
  if (!envelope.ok()) return envelope.status();
  PkiMessageFields f;
  f.type = type;
  f.transaction_id = transaction_id;
  f.sender_nonce = Nonce();
  auto message = BuildPkiMessage(f, *envelope, signer, key);
  if (!message.ok()) return message.status();
  absl::StatusOr<HttpResponse> reply;
  if (Has(ca.capabilities, "POSTPKIOperation")) {
    reply = http_->Post("operation=PKIOperation", *message);
  } else {
    const std::string b64 = absl::StrReplaceAll(absl::Base64Escape(*message),
                                                {{"+", "%2B"}, {"/", "%2F"}, {"=", "%3D"}});
    reply = http_->Get(absl::StrCat("operation=PKIOperation&message=", b64));
  }
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return absl::UnavailableError(absl::StrCat("PKIOperation answered HTTP ", reply->status, ": ",
                                               reply->body.substr(0, 200)));
  }
  auto rep = ParsePkiMessage(reply->body);
  if (!rep.ok()) return rep.status();
  auto signed_content = VerifyPkiMessage(*rep);
  if (!signed_content.ok()) return signed_content.status();
  // The reply must come from the CA (or its RA) we authenticated, and
  // answer this very request.
  const bool from_ca =
      EVP_PKEY_eq(X509_get0_pubkey(rep->signer.get()), X509_get0_pubkey(ca.recipient())) == 1 ||
      EVP_PKEY_eq(X509_get0_pubkey(rep->signer.get()), X509_get0_pubkey(ca.ca.get())) == 1;
  if (!from_ca) return absl::UnauthenticatedError("the reply is not signed by the CA or its RA");
  if (rep->fields.type != MessageType::kCertRep || rep->fields.transaction_id != transaction_id ||
      rep->fields.recipient_nonce != f.sender_nonce) {
    return absl::UnauthenticatedError("the reply does not answer this request");
  }
  *status = rep->fields.status;
  if (rep->fields.status == PkiStatus::kFailure) {
    absl::Status st = absl::PermissionDeniedError(absl::StrCat(
        "the CA refused the ", MessageTypeName(type), ": failInfo ",
        FailInfoName(rep->fields.fail_info)));
    st.SetPayload(kFailInfoPayload, absl::Cord(absl::StrCat(static_cast<int>(rep->fields.fail_info))));
    return st;
  }
  if (rep->fields.status == PkiStatus::kPending) return std::string();
  return OpenEnvelope(*signed_content, signer, key);
}

absl::StatusOr<EnrollResult> ScepClient::ResultOf(const absl::StatusOr<std::string>& content,
                                                  PkiStatus status, EVP_PKEY* key,
                                                  const std::string& transaction_id) {
  if (!content.ok()) return content.status();
  EnrollResult r;
  r.transaction_id = transaction_id;
  if (status == PkiStatus::kPending) return r;
  auto p7 = ParseDegenerate(*content);
  if (!p7.ok()) return p7.status();
  for (auto& c : p7->certs) {
    if (EVP_PKEY_eq(X509_get0_pubkey(c.get()), key) == 1) {
      r.status = EnrollResult::Status::kIssued;
      r.certificate = std::move(c);
      return r;
    }
  }
  return absl::InvalidArgumentError("the reply has no certificate for our key");
}

absl::StatusOr<Degenerate> ScepClient::FetchAbout(const CaCerts& ca, MessageType type,
                                                  X509* about, X509* cert, EVP_PKEY* key) {
  auto ias = EncodeIssuerAndSerial(about);
  if (!ias.ok()) return ias.status();
  PkiStatus status = PkiStatus::kFailure;
  auto content = Exchange(ca, type, TransactionIdFor(key), *ias, cert, key, &status);
  if (!content.ok()) return content.status();
  return ParseDegenerate(*content);
}

absl::StatusOr<EnrollResult> ScepClient::Enroll(const CaCerts& ca, const CsrParams& params,
                                                EVP_PKEY* key) {
  auto csr = BuildCsr(params, key);
  if (!csr.ok()) return csr.status();
  auto self = SelfSigned(key, params.subject);
  if (!self.ok()) return self.status();
  const std::string txid = TransactionIdFor(key);
  PkiStatus status = PkiStatus::kFailure;
  auto content = Exchange(ca, MessageType::kPkcsReq, txid, *csr, self->get(), key, &status);
  return ResultOf(content, status, key, txid);
}

absl::StatusOr<EnrollResult> ScepClient::Poll(const CaCerts& ca, const std::string& subject,
                                              EVP_PKEY* key) {
  auto self = SelfSigned(key, subject);
  if (!self.ok()) return self.status();
  const std::string txid = TransactionIdFor(key);
  const std::string ias = EncodeIssuerAndSubject(X509_get_subject_name(ca.ca.get()),
                                                 X509_get_subject_name(self->get()));
  PkiStatus status = PkiStatus::kFailure;
  auto content = Exchange(ca, MessageType::kCertPoll, txid, ias, self->get(), key, &status);
  return ResultOf(content, status, key, txid);
}

absl::StatusOr<EnrollResult> ScepClient::Renew(const CaCerts& ca, const CsrParams& params,
                                               EVP_PKEY* new_key, X509* current_cert,
                                               EVP_PKEY* current_key) {
  auto csr = BuildCsr(params, new_key);
  if (!csr.ok()) return csr.status();
  const std::string txid = TransactionIdFor(new_key);
  PkiStatus status = PkiStatus::kFailure;
  auto content =
      Exchange(ca, MessageType::kRenewalReq, txid, *csr, current_cert, current_key, &status);
  return ResultOf(content, status, new_key, txid);
}

absl::StatusOr<X509Ptr> ScepClient::GetCert(const CaCerts& ca, X509* wanted, X509* cert,
                                             EVP_PKEY* key) {
  auto p7 = FetchAbout(ca, MessageType::kGetCert, wanted, cert, key);
  if (!p7.ok()) return p7.status();
  for (auto& c : p7->certs) {
    if (X509_cmp(c.get(), wanted) == 0 ||
        ASN1_INTEGER_cmp(X509_get0_serialNumber(c.get()), X509_get0_serialNumber(wanted)) == 0) {
      return std::move(c);
    }
  }
  return absl::NotFoundError("the reply carries no such certificate");
}

absl::StatusOr<std::string> ScepClient::GetCrl(const CaCerts& ca, X509* cert, EVP_PKEY* key) {
  auto p7 = FetchAbout(ca, MessageType::kGetCrl, cert, cert, key);
  if (!p7.ok()) return p7.status();
  if (p7->crls.empty()) return absl::NotFoundError("the reply carries no CRL");
  unsigned char* der = nullptr;
  const int n = i2d_X509_CRL(p7->crls.front().get(), &der);
  if (n <= 0) return absl::InternalError("cannot encode the CRL");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace vpnfleet::pki::scep
