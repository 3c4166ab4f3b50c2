// The PKI's rules, between its two front doors (SCEP and the gRPC API) and
// the CA and store behind them: one-time challenge passwords bound to a
// device, enrollment and renewal by CSR, requests held for approval,
// revocation and the CRL that follows it. Every refusal names its SCEP
// failInfo and changes nothing in the store.
#ifndef VPNFLEET_SERVICES_PKI_ENROLLMENT_ENROLLMENT_H_
#define VPNFLEET_SERVICES_PKI_ENROLLMENT_ENROLLMENT_H_

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "services/pki/ca/authority.h"
#include "services/pki/store/pki_store.h"

namespace vpnfleet::pki {

struct EnrollmentOptions {
  absl::Duration certificate_validity = absl::Hours(24 * 365);
  absl::Duration challenge_validity = absl::Hours(24);
  absl::Duration crl_validity = absl::Hours(24 * 7);
  // The CRL is signed again when less than this is left of it.
  absl::Duration crl_refresh_before = absl::Hours(24 * 3);
  std::vector<std::string> crl_urls;
  std::vector<std::string> ocsp_urls;  // written into certificates (authorityInfoAccess)
  // Identities the CA writes into certificates: spiffe://TRUST_DOMAIN/edge/DEVICE
  // for a device's SCEP enrollment, spiffe://TRUST_DOMAIN/ROLE/NAME for IssueIdentity.
  std::string trust_domain = "vpnfleet";
  absl::Duration identity_validity = absl::Hours(24 * 90);
  // A renewed certificate stays valid this long, then is revoked (superseded):
  // time for the device to switch over. It can never be renewed again.
  absl::Duration supersede_overlap = absl::Hours(24);
};

// Roles IssueIdentity names (the default authorization policy's).
bool IsIdentityRole(absl::string_view role);
// A name fit for a spiffe:// path segment: 1-64 of [A-Za-z0-9._-].
bool IsIdentityName(absl::string_view name);

// Why an enrollment did not end with a certificate.
enum class Refusal { kNone, kBadAlg, kBadMessageCheck, kBadRequest, kBadTime, kBadCertId };
const char* RefusalName(Refusal r);

struct EnrollOutcome {
  enum class Kind { kIssued, kPending, kRefused } kind = Kind::kRefused;
  Refusal refusal = Refusal::kNone;
  std::string why;  // for the log; no secrets
  CertificateRecord certificate;  // kIssued
};

struct NewChallenge {
  ChallengeRecord record;
  std::string password;  // returned once, never stored
};

// Counters the server exports; monotonic.
struct EnrollmentCounters {
  std::atomic<uint64_t> issued{0}, renewed{0}, pending{0}, approved{0}, rejected{0}, refused{0},
      revoked{0}, crls_signed{0};
};

class Enrollment {
 public:
  Enrollment(const CertificateAuthority* ca, PkiStore* store, const Clock* clock,
             EnrollmentOptions options)
      : ca_(ca), store_(store), clock_(clock), options_(std::move(options)) {}

  // A one-time password for `device`'s first enrollment: its CSR must carry
  // `subject_cn` (when set) and may ask only for the names in `sans`
  // ("DNS:x", "IP:a.b.c.d"), or a subset; none when `sans` is empty.
  absl::StatusOr<NewChallenge> IssueChallenge(const std::string& device,
                                              const std::string& subject_cn,
                                              const std::vector<std::string>& sans,
                                              absl::Duration valid, bool require_approval);

  // The names `device`'s certificates are to carry from now on (the
  // controller calls this when the device's address changes; every
  // IssueChallenge registers its names too). A renewal of a certificate
  // whose names differ takes the registered ones (and CN, when set).
  absl::StatusOr<RegistrationRecord> RegisterDevice(const std::string& device,
                                                    const std::string& subject_cn,
                                                    const std::vector<std::string>& sans);

  // PKCSReq: the CSR (DER) with its challengePassword. `requester_cert_der`
  // is the certificate the request was signed with (kept for a reply that
  // comes after approval). A repeated transaction gets what the first got.
  EnrollOutcome Enroll(const std::string& csr_der, const std::string& transaction_id,
                       const std::string& requester_cert_der);
  // RenewalReq: signed with `current_cert_der`, which we issued and which is
  // neither revoked nor expired; the new subject and names must be the same
  // (or fewer names), unless the device's registration changed since.
  EnrollOutcome Renew(const std::string& csr_der, const std::string& transaction_id,
                      const std::string& current_cert_der);
  // CertPoll for a held request; `requester_cert_der` must be the one that
  // sent it.
  EnrollOutcome Poll(const std::string& transaction_id, const std::string& requester_cert_der);

  // A certificate for the fleet's own mTLS named spiffe://TRUST_DOMAIN/ROLE/NAME
  // (admin, operator, viewer, controller, edge, pki), from the holder's CSR.
  absl::StatusOr<CertificateRecord> IssueIdentity(const std::string& csr_der, const std::string& role,
                                                  const std::string& name, absl::Duration validity);

  absl::StatusOr<CertificateRecord> Approve(const std::string& transaction_id);
  absl::Status Reject(const std::string& transaction_id, const std::string& reason);
  absl::StatusOr<CertificateRecord> Revoke(const std::string& serial_hex,
                                           vpnfleet::pki::v1::RevocationReason reason);

  // The current CRL, signed again first if it is missing, stale, or older
  // than the last revocation.
  absl::StatusOr<PkiStore::CrlState> CurrentCrl();

  const CertificateAuthority& ca() const { return *ca_; }
  PkiStore& store() { return *store_; }
  const Clock& clock() const { return *clock_; }
  EnrollmentCounters& counters() { return counters_; }
  const EnrollmentOptions& options() const { return options_; }

 private:
  EnrollOutcome IssueFor(const std::string& csr_der, X509_REQ* parsed, const std::string& required_cn,
                         const std::string& device, const std::string& transaction_id,
                         CertificateRecord* out,
                         const std::vector<std::string>* allowed_sans = nullptr);
  absl::StatusOr<PkiStore::CrlState> SignCrl(uint64_t number) ABSL_EXCLUSIVE_LOCKS_REQUIRED(crl_mu_);

  const CertificateAuthority* ca_;
  PkiStore* store_;
  const Clock* clock_;
  EnrollmentOptions options_;
  EnrollmentCounters counters_;
  absl::Mutex crl_mu_;
  // When the next superseded certificate's overlap ends (the CRL must list it).
  absl::Time next_due_ ABSL_GUARDED_BY(crl_mu_) = absl::InfinitePast();
  bool crl_dirty_ ABSL_GUARDED_BY(crl_mu_) = true;
};

std::string PasswordHash(const std::string& password);

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_ENROLLMENT_ENROLLMENT_H_
