#include "services/pki/enrollment/enrollment.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/log/log.h"

#include <openssl/rand.h>
#include <algorithm>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vpnfleet::pki {
namespace {

X509ReqPtr ParseCsr(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (req && p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) req.reset();
  return req;
}


// PKCS#9 challengePassword (RFC 2985 §5.4.1): a DirectoryString in the
// CSR's attributes. Absent → false.
bool ChallengePassword(X509_REQ* req, std::string* out) {
  const int idx = X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1);
  if (idx < 0) return false;
  X509_ATTRIBUTE* attr = X509_REQ_get_attr(req, idx);
  if (attr == nullptr || X509_ATTRIBUTE_count(attr) != 1) return false;
  ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr, 0);
  switch (ASN1_TYPE_get(t)) {
    case V_ASN1_PRINTABLESTRING:
    case V_ASN1_UTF8STRING:
    case V_ASN1_IA5STRING:
    case V_ASN1_T61STRING:
    case V_ASN1_BMPSTRING:
      break;
    default:
      return false;
  }
  const ASN1_STRING* s = t->value.asn1_string;
  out->assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
              static_cast<size_t>(ASN1_STRING_length(s)));
  return true;
}

EnrollOutcome Refuse(Refusal r, std::string why) {
  EnrollOutcome o;
  o.kind = EnrollOutcome::Kind::kRefused;
  o.refusal = r;
  o.why = std::move(why);
  return o;
}

EnrollOutcome Issued(CertificateRecord cert) {
  EnrollOutcome o;
  o.kind = EnrollOutcome::Kind::kIssued;
  o.certificate = std::move(cert);
  return o;
}

bool SamePublicKey(X509* cert, X509_REQ* req) {
  return EVP_PKEY_eq(X509_get0_pubkey(cert), X509_REQ_get0_pubkey(req)) == 1;
}

std::string RandomToken(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return absl::WebSafeBase64Escape(raw);
}

}  // namespace

const char* RefusalName(Refusal r) {
  switch (r) {
    case Refusal::kNone:
      return "none";
    case Refusal::kBadAlg:
      return "badAlg";
    case Refusal::kBadMessageCheck:
      return "badMessageCheck";
    case Refusal::kBadRequest:
      return "badRequest";
    case Refusal::kBadTime:
      return "badTime";
    case Refusal::kBadCertId:
      return "badCertId";
  }
  return "unknown";
}

std::string PasswordHash(const std::string& password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(password.data(), password.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), n);
}

absl::StatusOr<NewChallenge> Enrollment::IssueChallenge(const std::string& device,
                                                        const std::string& subject_cn,
                                                        const std::vector<std::string>& sans,
                                                        absl::Duration valid,
                                                        bool require_approval) {
  if (device.empty()) return absl::InvalidArgumentError("a challenge needs the device it is for");
  if (device.size() > 256 || subject_cn.size() > 256) {
    return absl::InvalidArgumentError("device or subject CN too long");
  }
  if (sans.size() > 32) return absl::InvalidArgumentError("at most 32 subject alternative names");
  std::vector<std::string> names;
  for (const auto& san : sans) {
    auto canonical = CanonicalSan(san);
    if (!canonical.ok()) return canonical.status();
    if (std::find(names.begin(), names.end(), *canonical) == names.end()) names.push_back(*canonical);
  }
  if (valid <= absl::ZeroDuration()) valid = options_.challenge_validity;
  if (valid > absl::Hours(24 * 30)) {
    return absl::InvalidArgumentError("a challenge may be valid for at most 30 days");
  }
  NewChallenge c;
  // 144 random bits; printable so that every SCEP client can carry it.
  c.password = RandomToken(18);
  c.record.id = RandomToken(9);
  c.record.device = device;
  c.record.subject_cn = subject_cn;
  c.record.subject_alt_names = std::move(names);
  c.record.password_hash = PasswordHash(c.password);
  c.record.expires = clock_->Now() + valid;
  c.record.require_approval = require_approval;
  if (auto st = store_->AddChallenge(c.record); !st.ok()) return st;
  // The ticket's names are the device's registration from now on.
  RegistrationRecord reg{device, subject_cn, c.record.subject_alt_names, clock_->Now()};
  if (auto st = store_->PutRegistration(reg); !st.ok()) return st;
  return c;
}

absl::StatusOr<RegistrationRecord> Enrollment::RegisterDevice(const std::string& device,
                                                              const std::string& subject_cn,
                                                              const std::vector<std::string>& sans) {
  if (device.empty() || device.size() > 256 || subject_cn.size() > 256) {
    return absl::InvalidArgumentError("a registration needs a device name (and CN) of 1-256 characters");
  }
  if (sans.size() > 32) return absl::InvalidArgumentError("at most 32 subject alternative names");
  RegistrationRecord reg;
  reg.device = device;
  reg.subject_cn = subject_cn;
  for (const auto& san : sans) {
    auto canonical = CanonicalSan(san);
    if (!canonical.ok()) return canonical.status();
    if (std::find(reg.subject_alt_names.begin(), reg.subject_alt_names.end(), *canonical) ==
        reg.subject_alt_names.end()) {
      reg.subject_alt_names.push_back(*canonical);
    }
  }
  reg.updated = clock_->Now();
  if (auto st = store_->PutRegistration(reg); !st.ok()) return st;
  log::Info("pki: device registration changed",
            {{"device", device}, {"cn", subject_cn}, {"names", absl::StrJoin(reg.subject_alt_names, ",")}});
  return reg;
}

namespace {

CertificateRecord RecordOf(const IssuedCertificate& issued, std::string device,
                           std::string transaction_id) {
  CertificateRecord r;
  r.serial_hex = issued.serial_hex;
  r.device = std::move(device);
  r.subject = issued.subject;
  r.subject_alt_names = issued.subject_alt_names;
  r.key_algorithm = issued.key_algorithm;
  r.not_before = issued.not_before;
  r.not_after = issued.not_after;
  r.fingerprint_sha256 = issued.fingerprint_sha256;
  r.der = issued.der;
  r.transaction_id = std::move(transaction_id);
  return r;
}

}  // namespace

EnrollOutcome Enrollment::IssueFor(const std::string& csr_der, X509_REQ* parsed,
                                   const std::string& required_cn, const std::string& device,
                                   const std::string& transaction_id, CertificateRecord* out,
                                   const std::vector<std::string>* allowed_sans) {
  IssueRequest req;
  req.csr_der = csr_der;
  req.csr = parsed;
  req.profile = Profile::kIkePeer;
  req.validity = options_.certificate_validity;
  req.required_cn = required_cn;
  req.allowed_sans = allowed_sans;
  req.crl_urls = options_.crl_urls;
  req.ocsp_urls = options_.ocsp_urls;
  // A device's certificate also names it for mTLS, so that the same
  // certificate serves its management API (the controller checks the name).
  if (IsIdentityName(device)) {
    req.identity_uri = absl::StrCat("spiffe://", options_.trust_domain, "/edge/", device);
  }
  IssueError e = IssueError::kNone;
  auto issued = ca_->Issue(req, &e);
  if (!issued.ok()) {
    const Refusal r = e == IssueError::kBadAlg           ? Refusal::kBadAlg
                      : e == IssueError::kBadMessageCheck ? Refusal::kBadMessageCheck
                                                          : Refusal::kBadRequest;
    return Refuse(r, std::string(issued.status().message()));
  }
  *out = RecordOf(*issued, device, transaction_id);
  return Issued(*out);
}

bool IsIdentityRole(absl::string_view role) {
  for (absl::string_view r : {"admin", "operator", "viewer", "controller", "edge", "pki"}) {
    if (role == r) return true;
  }
  return false;
}

bool IsIdentityName(absl::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_') return false;
  }
  return true;
}

absl::StatusOr<CertificateRecord> Enrollment::IssueIdentity(const std::string& csr_der,
                                                            const std::string& role,
                                                            const std::string& name,
                                                            absl::Duration validity) {
  if (!IsIdentityRole(role)) {
    return absl::InvalidArgumentError(
        "role must be admin, operator, viewer, controller, edge or pki");
  }
  if (!IsIdentityName(name)) {
    return absl::InvalidArgumentError("name must be 1-64 of letters, digits, '.', '-', '_'");
  }
  if (validity <= absl::ZeroDuration()) validity = options_.identity_validity;
  if (validity > absl::Hours(24 * 366)) {
    return absl::InvalidArgumentError("an identity may be valid for at most a year");
  }
  X509ReqPtr parsed = ParseCsr(csr_der);
  if (!parsed) return absl::InvalidArgumentError("the request is not a PKCS#10 CSR");
  IssueRequest req;
  req.csr_der = csr_der;
  req.csr = parsed.get();
  req.profile = Profile::kIkePeer;
  req.validity = validity;
  req.crl_urls = options_.crl_urls;
  req.ocsp_urls = options_.ocsp_urls;
  req.identity_uri = absl::StrCat("spiffe://", options_.trust_domain, "/", role, "/", name);
  IssueError e = IssueError::kNone;
  auto issued = ca_->Issue(req, &e);
  if (!issued.ok()) return absl::InvalidArgumentError(issued.status().message());
  CertificateRecord out = RecordOf(*issued, absl::StrCat(role, "/", name),
                                  absl::StrCat("identity-", issued->serial_hex));
  if (auto st = store_->AddCertificate(out); !st.ok()) return st;
  return out;
}

EnrollOutcome Enrollment::Enroll(const std::string& csr_der, const std::string& transaction_id,
                                 const std::string& requester_cert_der) {
  X509ReqPtr req = ParseCsr(csr_der);
  if (!req) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, "the request is not a PKCS#10 CSR");
  }
  // RFC 8894 §3.3.1: a resent request gets the answer the first one got.
  auto earlier = store_->FindByTransaction(transaction_id);
  if (!earlier.ok()) return Refuse(Refusal::kBadRequest, std::string(earlier.status().message()));
  if (earlier->has_value()) {
    X509Ptr cert = ParseCertificateDer((*earlier)->der);
    if (cert && SamePublicKey(cert.get(), req.get())) return Issued(**earlier);
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, "transaction ID already used for another key");
  }
  auto pending = store_->GetPending(transaction_id);
  if (pending.ok() && pending->has_value()) return Poll(transaction_id, requester_cert_der);

  std::string password;
  if (!ChallengePassword(req.get(), &password)) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, "the CSR carries no challenge password");
  }
  auto challenge = store_->FindChallenge(PasswordHash(password));
  if (!challenge.ok()) return Refuse(Refusal::kBadRequest, std::string(challenge.status().message()));
  if (!challenge->has_value()) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, "wrong challenge password");
  }
  const ChallengeRecord& ch = **challenge;
  if (ch.used) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest,
                  absl::StrCat("challenge ", ch.id, " for ", ch.device, " was already used"));
  }
  if (clock_->Now() >= ch.expires) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest,
                  absl::StrCat("challenge ", ch.id, " for ", ch.device, " has expired"));
  }
  CertificateRecord cert;
  // The names the challenge was registered with, or a subset; none at all
  // when it was registered without any.
  EnrollOutcome outcome = IssueFor(csr_der, req.get(), ch.subject_cn, ch.device, transaction_id, &cert,
                                   ch.any_names ? nullptr : &ch.subject_alt_names);
  if (outcome.kind != EnrollOutcome::Kind::kIssued) {
    ++counters_.refused;
    outcome.why = absl::StrCat("device ", ch.device, " (challenge ", ch.id, "): ", outcome.why);
    return outcome;
  }
  if (ch.require_approval) {
    // The certificate made above only proved the request issuable; the
    // one the device gets is made when an operator approves.
    PendingRecord p;
    p.transaction_id = transaction_id;
    p.device = ch.device;
    p.subject = cert.subject;
    p.subject_alt_names = cert.subject_alt_names;
    p.key_algorithm = cert.key_algorithm;
    p.received = clock_->Now();
    p.csr_der = csr_der;
    p.requester_cert_der = requester_cert_der;
    if (auto st = store_->RecordPending(ch.id, p); !st.ok()) {
      ++counters_.refused;
      return Refuse(Refusal::kBadRequest, std::string(st.message()));
    }
    ++counters_.pending;
    EnrollOutcome o;
    o.kind = EnrollOutcome::Kind::kPending;
    return o;
  }
  if (auto st = store_->RecordEnrollment(ch.id, cert); !st.ok()) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, std::string(st.message()));
  }
  ++counters_.issued;
  return outcome;
}

namespace {

// Did the controller register the device with other names than `cert`
// carries (`cert_sans` canonical)? Order does not matter.
bool RegistrationChanged(const RegistrationRecord& reg, X509* cert,
                         const std::vector<std::string>& cert_sans) {
  std::vector<std::string> a = reg.subject_alt_names, b = cert_sans;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a != b) return true;
  if (reg.subject_cn.empty()) return false;
  char cn[257] = {0};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                          sizeof cn);
  return n < 0 || reg.subject_cn != cn;
}

}  // namespace

EnrollOutcome Enrollment::Renew(const std::string& csr_der, const std::string& transaction_id,
                                const std::string& current_cert_der) {
  X509ReqPtr req = ParseCsr(csr_der);
  X509Ptr current = ParseCertificateDer(current_cert_der);
  if (!req || !current) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, "renewal without a CSR and a current certificate");
  }
  auto earlier = store_->FindByTransaction(transaction_id);
  if (earlier.ok() && earlier->has_value()) {
    X509Ptr cert = ParseCertificateDer((*earlier)->der);
    if (cert && SamePublicKey(cert.get(), req.get())) return Issued(**earlier);
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, "transaction ID already used for another key");
  }
  if (X509_check_issued(ca_->certificate(), current.get()) != X509_V_OK ||
      X509_verify(current.get(), X509_get0_pubkey(ca_->certificate())) != 1) {
    ++counters_.refused;
    return Refuse(Refusal::kBadCertId, "the renewal is signed with a certificate we did not issue");
  }
  const std::string serial = SerialHex(X509_get0_serialNumber(current.get()));
  auto record = store_->GetCertificate(serial);
  if (!record.ok() || !record->has_value()) {
    ++counters_.refused;
    return Refuse(Refusal::kBadCertId, absl::StrCat("certificate ", serial, " is not in the store"));
  }
  if ((*record)->revoked) {
    ++counters_.refused;
    if ((*record)->revocation_reason == v1::REVOCATION_REASON_SUPERSEDED) {
      // A certificate is renewed once: renewing it again would mint another
      // valid certificate from an old key.
      log::Warn("pki: renewal of an already renewed certificate refused",
                {{"device", (*record)->device}, {"serial", serial}});
      return Refuse(Refusal::kBadCertId, absl::StrCat("certificate ", serial, " was already renewed"));
    }
    return Refuse(Refusal::kBadCertId, absl::StrCat("certificate ", serial, " is revoked"));
  }
  if (clock_->Now() >= (*record)->not_after) {
    ++counters_.refused;
    return Refuse(Refusal::kBadTime, absl::StrCat("certificate ", serial, " has expired"));
  }
  // The renewal may ask for the names it has, or fewer; never new ones —
  // unless the controller registered the device with other names since
  // (its address changed): then those are the names it may have.
  std::vector<std::string> allowed;
  for (const auto& san : (*record)->subject_alt_names) {
    if (auto canonical = CanonicalSan(san); canonical.ok()) allowed.push_back(*canonical);
  }
  std::string required_cn;
  auto reg = store_->GetRegistration((*record)->device);
  if (!reg.ok()) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, std::string(reg.status().message()));
  }
  const bool follows_registration =
      reg->has_value() && RegistrationChanged(**reg, current.get(), allowed);
  if (follows_registration) {
    allowed = (*reg)->subject_alt_names;
    required_cn = (*reg)->subject_cn;
    log::Info("pki: renewal follows the device's changed registration",
              {{"device", (*record)->device}, {"serial", serial},
               {"names", absl::StrJoin(allowed, ",")}});
  }
  const std::string new_subject = NameText(X509_REQ_get_subject_name(req.get()));
  if (new_subject != (*record)->subject && (!follows_registration || required_cn.empty())) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest,
                  absl::StrCat("a renewal keeps the subject \"", (*record)->subject, "\""));
  }
  CertificateRecord cert;
  EnrollOutcome outcome = IssueFor(csr_der, req.get(), required_cn, (*record)->device,
                                   transaction_id, &cert, &allowed);
  if (outcome.kind != EnrollOutcome::Kind::kIssued) {
    ++counters_.refused;
    return outcome;
  }
  if (auto st = store_->AddCertificate(cert); !st.ok()) {
    ++counters_.refused;
    return Refuse(Refusal::kBadRequest, std::string(st.message()));
  }
  // The renewed certificate is superseded: revoked once the overlap is over
  // (the CRL lists it from then), and never renewed again from now on.
  if (auto st = store_->Revoke(serial, clock_->Now() + options_.supersede_overlap,
                               v1::REVOCATION_REASON_SUPERSEDED);
      !st.ok()) {
    log::Warn("pki: cannot mark the renewed certificate superseded",
              {{"serial", serial}, {"error", std::string(st.message())}});
  }
  {
    absl::MutexLock lock(&crl_mu_);
    next_due_ = std::min(next_due_, clock_->Now() + options_.supersede_overlap);
  }
  ++counters_.renewed;
  return outcome;
}

EnrollOutcome Enrollment::Poll(const std::string& transaction_id,
                               const std::string& requester_cert_der) {
  auto pending = store_->GetPending(transaction_id);
  if (!pending.ok()) return Refuse(Refusal::kBadRequest, std::string(pending.status().message()));
  if (!pending->has_value()) {
    auto issued = store_->FindByTransaction(transaction_id);
    if (issued.ok() && issued->has_value()) {
      // Only to the key the certificate is for: a transaction ID is no secret.
      X509Ptr asked = ParseCertificateDer(requester_cert_der);
      X509Ptr cert = ParseCertificateDer((*issued)->der);
      if (!asked || !cert ||
          EVP_PKEY_eq(X509_get0_pubkey(asked.get()), X509_get0_pubkey(cert.get())) != 1) {
        ++counters_.refused;
        log::Warn("pki: a poll for another key's certificate refused",
                  {{"transaction", transaction_id}, {"device", (*issued)->device}});
        return Refuse(Refusal::kBadMessageCheck, "the poll is not signed by the requester");
      }
      return Issued(**issued);
    }
    return Refuse(Refusal::kBadCertId, "no request with this transaction ID");
  }
  const PendingRecord& p = **pending;
  X509Ptr asked = ParseCertificateDer(requester_cert_der);
  X509Ptr original = ParseCertificateDer(p.requester_cert_der);
  if (!asked || !original ||
      EVP_PKEY_eq(X509_get0_pubkey(asked.get()), X509_get0_pubkey(original.get())) != 1) {
    return Refuse(Refusal::kBadMessageCheck, "the poll is not signed by the requester");
  }
  switch (p.state) {
    case PendingState::kPending: {
      EnrollOutcome o;
      o.kind = EnrollOutcome::Kind::kPending;
      return o;
    }
    case PendingState::kRejected:
      return Refuse(Refusal::kBadRequest, absl::StrCat("rejected: ", p.reject_reason));
    case PendingState::kApproved:
      break;
  }
  auto cert = store_->GetCertificate(p.serial_hex);
  if (!cert.ok() || !cert->has_value()) {
    return Refuse(Refusal::kBadCertId, "the approved certificate is missing");
  }
  return Issued(**cert);
}

absl::StatusOr<CertificateRecord> Enrollment::Approve(const std::string& transaction_id) {
  auto pending = store_->GetPending(transaction_id);
  if (!pending.ok()) return pending.status();
  if (!pending->has_value()) {
    return absl::NotFoundError(absl::StrCat("no pending request ", transaction_id));
  }
  if ((*pending)->state != PendingState::kPending) {
    return absl::FailedPreconditionError(
        absl::StrCat("request ", transaction_id, " is not waiting for approval"));
  }
  CertificateRecord cert;
  EnrollOutcome o = IssueFor((*pending)->csr_der, nullptr, "", (*pending)->device, transaction_id, &cert);
  if (o.kind != EnrollOutcome::Kind::kIssued) return absl::FailedPreconditionError(o.why);
  if (auto st = store_->ApprovePending(transaction_id, cert); !st.ok()) return st;
  ++counters_.approved;
  return cert;
}

absl::Status Enrollment::Reject(const std::string& transaction_id, const std::string& reason) {
  auto pending = store_->GetPending(transaction_id);
  if (!pending.ok()) return pending.status();
  if (!pending->has_value()) {
    return absl::NotFoundError(absl::StrCat("no pending request ", transaction_id));
  }
  if (auto st = store_->RejectPending(transaction_id, reason); !st.ok()) return st;
  ++counters_.rejected;
  return absl::OkStatus();
}

absl::StatusOr<CertificateRecord> Enrollment::Revoke(const std::string& serial_hex,
                                                     v1::RevocationReason reason) {
  if (auto st = store_->Revoke(serial_hex, clock_->Now(), reason); !st.ok()) return st;
  {
    absl::MutexLock lock(&crl_mu_);
    crl_dirty_ = true;
  }
  ++counters_.revoked;
  auto cert = store_->GetCertificate(serial_hex);
  if (!cert.ok()) return cert.status();
  if (!cert->has_value()) return absl::NotFoundError(serial_hex);
  return **cert;
}

absl::StatusOr<PkiStore::CrlState> Enrollment::SignCrl(uint64_t number) {
  auto all = store_->ListCertificates({});
  if (!all.ok()) return all.status();
  std::vector<RevokedEntry> revoked;
  const absl::Time now = clock_->Now();
  next_due_ = absl::InfiniteFuture();
  for (const auto& c : *all) {
    if (!c.revoked) continue;
    if (c.revoked_at <= now) {
      revoked.push_back({c.serial_hex, c.revoked_at, c.revocation_reason});
    } else {
      next_due_ = std::min(next_due_, c.revoked_at);  // superseded, in its overlap
    }
  }
  PkiStore::CrlState crl;
  crl.number = number;
  crl.this_update = clock_->Now();
  crl.next_update = crl.this_update + options_.crl_validity;
  auto der = ca_->SignCrl(revoked, number, crl.next_update);
  if (!der.ok()) return der.status();
  crl.der = std::move(*der);
  if (auto st = store_->PutCrl(crl); !st.ok()) return st;
  ++counters_.crls_signed;
  return crl;
}

absl::StatusOr<PkiStore::CrlState> Enrollment::CurrentCrl() {
  absl::MutexLock lock(&crl_mu_);
  auto crl = store_->GetCrl();
  if (!crl.ok()) return crl.status();
  if (!crl_dirty_ && !crl->der.empty() && clock_->Now() < next_due_ &&
      crl->next_update - clock_->Now() > options_.crl_refresh_before) {
    return crl;
  }
  auto fresh = SignCrl(crl->number + 1);
  if (fresh.ok()) crl_dirty_ = false;
  return fresh;
}

}  // namespace vpnfleet::pki
