#include "services/pki/scep/responder.h"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log/log.h"
#include "services/pki/ca/authority.h"

namespace vpnfleet::pki::scep {
namespace {

constexpr const char* kPkiMessageType = "application/x-pki-message";



// A CertRep's attributes answering `request` (RFC 8894 §3.3.2): its
// transaction, its nonce as ours to return, a fresh nonce of our own.
PkiMessageFields ReplyTo(const PkiMessage& request, PkiStatus status) {
  PkiMessageFields f;
  f.type = MessageType::kCertRep;
  f.transaction_id = request.fields.transaction_id;
  f.recipient_nonce = request.fields.sender_nonce;
  f.sender_nonce.resize(16);
  RAND_bytes(reinterpret_cast<unsigned char*>(f.sender_nonce.data()), 16);
  f.status = status;
  return f;
}

ScepReply Plain(int status, std::string text) {
  return ScepReply{status, "text/plain", std::move(text) + "\n"};
}

}  // namespace

FailInfo FailInfoFor(Refusal refusal) {
  switch (refusal) {
    case Refusal::kBadAlg:
      return FailInfo::kBadAlg;
    case Refusal::kBadMessageCheck:
      return FailInfo::kBadMessageCheck;
    case Refusal::kBadTime:
      return FailInfo::kBadTime;
    case Refusal::kBadCertId:
      return FailInfo::kBadCertId;
    case Refusal::kNone:
    case Refusal::kBadRequest:
      break;
  }
  return FailInfo::kBadRequest;
}

const std::vector<std::string>& Responder::Capabilities() {
  // RFC 8894 §3.5.2. "Renewal" as well as "Update" clients look for.
  // "SHA-384" is not in the RFC's list, but requests signed with it verify
  // like any other, and Debian 12's strongSwan (5.9.8 `pki --scep`) needs
  // it: it tests its capability numbers instead of their bits (fixed
  // upstream later), so it takes AES only from a server that lists SHA-384.
  static const std::vector<std::string> caps = {"POSTPKIOperation", "SHA-256", "SHA-384", "SHA-512",
                                                "AES",              "DES3",    "Renewal", "SCEPStandard"};
  return caps;
}

ScepReply Responder::Handle(const ScepRequest& request) {
  ++counters_.requests;
  if (request.operation == "GetCACaps") {
    return ScepReply{200, "text/plain", absl::StrJoin(Capabilities(), "\n") + "\n"};
  }
  if (request.operation == "GetCACert") {
    if (ra_chain_.empty() && above_.empty()) {
      return ScepReply{200, "application/x-x509-ca-cert", DerOf(identity_)};
    }
    // RFC 8894 §4.2.1.2: more than the one certificate goes as a
    // certs-only PKCS#7 of type x509-ca-ra-cert.
    std::vector<X509*> chain = ra_chain_;
    chain.push_back(enrollment_->ca().certificate());
    chain.insert(chain.end(), above_.begin(), above_.end());
    auto p7 = DegenerateCertsOnly(chain);
    if (!p7.ok()) return Plain(500, "cannot build the CA chain");
    return ScepReply{200, "application/x-x509-ca-ra-cert", std::move(*p7)};
  }
  if (request.operation == "PKIOperation") return PkiOperation(request.message);
  ++counters_.malformed;
  return Plain(400, absl::StrCat("unknown SCEP operation \"", request.operation.substr(0, 32),
                                 "\"; supported: GetCACaps, GetCACert, PKIOperation"));
}

ScepReply Responder::PkiOperation(const std::string& der) {
  auto msg = ParsePkiMessage(der);
  if (!msg.ok()) {
    // Without a transaction ID and a nonce there is no CertRep to sign.
    ++counters_.malformed;
    log::Warn("scep: malformed pkiMessage", {{"error", msg.status().message()}});
    return Plain(400, absl::StrCat("malformed pkiMessage: ", msg.status().message()));
  }
  const std::string txid = msg->fields.transaction_id;
  auto content = VerifyPkiMessage(*msg);
  if (!content.ok()) {
    ++counters_.bad_signature;
    log::Warn("scep: signature does not verify",
              {{"transaction", txid}, {"error", content.status().message()}});
    return Failure(*msg, FailInfo::kBadMessageCheck);
  }
  const MessageType type = msg->fields.type;
  if (type == MessageType::kCertRep) return Failure(*msg, FailInfo::kBadRequest);
  ContentCipher cipher = ContentCipher::kAes128Cbc;
  auto inner = OpenEnvelope(*content, identity_, key_, &cipher);
  if (!inner.ok()) {
    ++counters_.bad_envelope;
    log::Warn("scep: cannot open the envelope",
              {{"transaction", txid}, {"type", MessageTypeName(type)},
               {"error", inner.status().message()}});
    return Failure(*msg, FailInfo::kBadMessageCheck);
  }
  X509* requester = msg->signer.get();
  const std::string requester_der = DerOf(requester);
  switch (type) {
    case MessageType::kPkcsReq:
      // Signed with a certificate we issued: a renewal, as clients written
      // before RenewalReq existed ask for one (certmonger's rekey among
      // them). The renewal's rules apply, not the challenge's.
      if (X509_check_issued(enrollment_->ca().certificate(), requester) == X509_V_OK &&
          X509_verify(requester, X509_get0_pubkey(enrollment_->ca().certificate())) == 1) {
        return CertRep(*msg, enrollment_->Renew(*inner, txid, requester_der), requester, cipher);
      }
      return CertRep(*msg, enrollment_->Enroll(*inner, txid, requester_der), requester, cipher);
    case MessageType::kRenewalReq:
      return CertRep(*msg, enrollment_->Renew(*inner, txid, requester_der), requester, cipher);
    case MessageType::kCertPoll: {
      auto ias = DecodeIssuerAndSubject(*inner);
      if (!ias.ok()) return Failure(*msg, FailInfo::kBadRequest);
      return CertRep(*msg, enrollment_->Poll(txid, requester_der), requester, cipher);
    }
    case MessageType::kGetCert:
    case MessageType::kGetCrl: {
      auto ias = DecodeIssuerAndSerial(*inner);
      if (!ias.ok()) return Failure(*msg, FailInfo::kBadRequest);
      X509* ca = enrollment_->ca().certificate();
      unsigned char* name = nullptr;
      const int n = i2d_X509_NAME(X509_get_subject_name(ca), &name);
      const bool ours = n > 0 && ias->issuer_der == std::string(reinterpret_cast<char*>(name), n);
      OPENSSL_free(name);
      if (!ours) return Failure(*msg, FailInfo::kBadCertId);
      auto cert = enrollment_->store().GetCertificate(ias->serial_hex);
      if (!cert.ok() || !cert->has_value()) return Failure(*msg, FailInfo::kBadCertId);
      if (type == MessageType::kGetCert) {
        X509Ptr found = ParseCertificateDer((*cert)->der);
        auto p7 = found ? DegenerateCertsOnly({found.get()}) : absl::InternalError("stored cert");
        if (!p7.ok()) return Failure(*msg, FailInfo::kBadCertId);
        return SuccessWith(*msg, *p7, requester, cipher);
      }
      auto crl = enrollment_->CurrentCrl();
      if (!crl.ok()) return Plain(500, "cannot produce the CRL");
      auto p7 = DegenerateCertsOnly({}, crl->der);
      if (!p7.ok()) return Plain(500, "cannot produce the CRL");
      return SuccessWith(*msg, *p7, requester, cipher);
    }
    case MessageType::kCertRep:
    case MessageType::kUnknown:
      break;
  }
  return Failure(*msg, FailInfo::kBadRequest);
}

ScepReply Responder::CertRep(const PkiMessage& request, const EnrollOutcome& outcome,
                             X509* recipient, ContentCipher cipher) {
  const std::string& txid = request.fields.transaction_id;
  switch (outcome.kind) {
    case EnrollOutcome::Kind::kRefused: {
      const FailInfo info = FailInfoFor(outcome.refusal);
      log::Warn("scep: request refused", {{"transaction", txid},
                                          {"type", MessageTypeName(request.fields.type)},
                                          {"fail_info", FailInfoName(info)},
                                          {"reason", outcome.why}});
      return Failure(request, info);
    }
    case EnrollOutcome::Kind::kPending: {
      log::Info("scep: request held for approval", {{"transaction", txid}});
      auto der = BuildPkiMessage(ReplyTo(request, PkiStatus::kPending), "", identity_, key_);
      if (!der.ok()) return Plain(500, "cannot sign the reply");
      return ScepReply{200, kPkiMessageType, std::move(*der)};
    }
    case EnrollOutcome::Kind::kIssued:
      break;
  }
  const std::string p7 = DegenerateCertsOnlyDer({outcome.certificate.der});
  log::Info("scep: certificate issued", {{"transaction", txid},
                                         {"serial", outcome.certificate.serial_hex},
                                         {"subject", outcome.certificate.subject},
                                         {"device", outcome.certificate.device}});
  return SuccessWith(request, p7, recipient, cipher);
}

ScepReply Responder::SuccessWith(const PkiMessage& request, const std::string& degenerate,
                                 X509* recipient, ContentCipher cipher) {
  // The reply's envelope is for the key that signed the request (RFC 8894
  // §3.3.2), in the cipher the request came in: a client that sealed with
  // 3DES may know nothing else.
  auto envelope = SealEnvelope(degenerate, {recipient}, cipher);
  if (!envelope.ok()) return Failure(request, FailInfo::kBadAlg);
  auto der = BuildPkiMessage(ReplyTo(request, PkiStatus::kSuccess), *envelope, identity_, key_);
  if (!der.ok()) return Plain(500, "cannot sign the reply");
  return ScepReply{200, kPkiMessageType, std::move(*der)};
}

ScepReply Responder::Failure(const PkiMessage& request, FailInfo info) {
  PkiMessageFields f = ReplyTo(request, PkiStatus::kFailure);
  f.fail_info = info;
  auto der = BuildPkiMessage(f, "", identity_, key_);
  if (!der.ok()) return Plain(500, "cannot sign the reply");
  return ScepReply{200, kPkiMessageType, std::move(*der)};
}

}  // namespace vpnfleet::pki::scep
