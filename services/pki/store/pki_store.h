// The PKI's durable state in embedded SQLite (WAL, synchronous=FULL):
// issued certificates, revocations, one-time challenges, requests held for
// approval and the CRL counter. Every change is one transaction, so a crash
// leaves either all of it or none. Thread-safe (one connection, a mutex);
// concurrent changes share one commit (group commit) without losing their
// own all-or-nothing.
#ifndef VPNFLEET_SERVICES_PKI_STORE_PKI_STORE_H_
#define VPNFLEET_SERVICES_PKI_STORE_PKI_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vpnfleet/pki/v1/pki.pb.h"

struct sqlite3;

namespace vpnfleet::pki {
class StatementCache;
}

namespace vpnfleet::pki {

struct CertificateRecord {
  std::string serial_hex;
  std::string device;
  std::string subject;
  std::vector<std::string> subject_alt_names;
  vpnfleet::pki::v1::KeyAlgorithm key_algorithm = vpnfleet::pki::v1::KEY_ALGORITHM_UNSPECIFIED;
  absl::Time not_before, not_after;
  std::string fingerprint_sha256;
  std::string der;
  std::string transaction_id;  // the SCEP transaction that got it
  bool revoked = false;
  absl::Time revoked_at;
  vpnfleet::pki::v1::RevocationReason revocation_reason =
      vpnfleet::pki::v1::REVOCATION_REASON_UNSPECIFIED;
};

struct ChallengeRecord {
  std::string id;
  std::string device;
  std::string subject_cn;     // empty: any CN
  // The names a CSR may ask for (CanonicalSan form), or a subset of them.
  std::vector<std::string> subject_alt_names;
  // Challenges stored before names were registered with them: any names.
  bool any_names = false;
  std::string password_hash;  // SHA-256 of the password; the password is never stored
  absl::Time expires;
  bool require_approval = false;
  bool used = false;
};

// What the controller says a device's certificates name (the last enrollment
// ticket, or RegisterDevice after its address changed): renewals follow it.
struct RegistrationRecord {
  std::string device;
  std::string subject_cn;                      // empty: keep the certificate's subject
  std::vector<std::string> subject_alt_names;  // CanonicalSan form
  absl::Time updated;
};

enum class PendingState { kPending, kApproved, kRejected };

struct PendingRecord {
  std::string transaction_id;
  std::string device;
  std::string subject;
  std::vector<std::string> subject_alt_names;
  vpnfleet::pki::v1::KeyAlgorithm key_algorithm = vpnfleet::pki::v1::KEY_ALGORITHM_UNSPECIFIED;
  absl::Time received;
  bool renewal = false;
  std::string csr_der;
  std::string requester_cert_der;  // the reply is enveloped for it
  PendingState state = PendingState::kPending;
  std::string serial_hex;  // once approved and issued
  std::string reject_reason;
};

struct CertificateFilter {
  std::string device;
  std::string subject_contains;
};

class PkiStore {
 public:
  // `path` ":memory:" for a store that lives as long as the object.
  static absl::StatusOr<std::unique_ptr<PkiStore>> Open(const std::string& path);
  ~PkiStore();
  PkiStore(const PkiStore&) = delete;
  PkiStore& operator=(const PkiStore&) = delete;

  absl::Status AddChallenge(const ChallengeRecord& c);
  // The challenge whose password hashes to `password_hash`, used or not.
  absl::StatusOr<std::optional<ChallengeRecord>> FindChallenge(const std::string& password_hash);

  // One transaction: marks the challenge used (it must still be unused) and
  // stores the certificate. FAILED_PRECONDITION if the challenge was used
  // meanwhile; nothing is written then.
  absl::Status RecordEnrollment(const std::string& challenge_id, const CertificateRecord& cert);
  // One transaction: marks the challenge used and holds the request.
  absl::Status RecordPending(const std::string& challenge_id, const PendingRecord& request);
  absl::Status AddCertificate(const CertificateRecord& cert);

  absl::StatusOr<std::optional<CertificateRecord>> GetCertificate(const std::string& serial_hex);

  // A device's registration, replaced whole.
  absl::Status PutRegistration(const RegistrationRecord& r);
  absl::StatusOr<std::optional<RegistrationRecord>> GetRegistration(const std::string& device);
  absl::StatusOr<std::optional<CertificateRecord>> FindByTransaction(
      const std::string& transaction_id);
  absl::StatusOr<std::vector<CertificateRecord>> ListCertificates(const CertificateFilter& filter);
  // Marks a certificate revoked from `at`; NOT_FOUND if unknown,
  // FAILED_PRECONDITION if already revoked at or before `at` (a later,
  // scheduled revocation is brought forward).
  absl::Status Revoke(const std::string& serial_hex, absl::Time at,
                      vpnfleet::pki::v1::RevocationReason reason);

  absl::StatusOr<std::optional<PendingRecord>> GetPending(const std::string& transaction_id);
  absl::StatusOr<std::vector<PendingRecord>> ListPending(bool only_waiting);
  // One transaction: the request approved and its certificate stored.
  absl::Status ApprovePending(const std::string& transaction_id, const CertificateRecord& cert);
  absl::Status RejectPending(const std::string& transaction_id, const std::string& reason);

  // The CRL most recently published and its number (0 before the first).
  struct CrlState {
    uint64_t number = 0;
    std::string der;
    absl::Time this_update, next_update;
  };
  absl::StatusOr<CrlState> GetCrl();
  absl::Status PutCrl(const CrlState& crl);

  struct Counts {
    int64_t valid = 0, revoked = 0, expired = 0, pending = 0;
  };
  absl::StatusOr<Counts> Count(absl::Time now);

 private:
  explicit PkiStore(sqlite3* db);
  absl::Status Exec(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One statement, prepared once and kept (transaction control).
  absl::Status ExecCached(const char* sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasColumn(const char* table, const char* column) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  struct QueuedWrite;
  // Runs `body` (which may use db_) inside a committed transaction, batched
  // with concurrent writers (group commit); returns body's status, or the
  // commit's error.
  absl::Status Write(const std::function<absl::Status()>& body) ABSL_LOCKS_EXCLUDED(mu_, queue_mu_);
  void CommitBatch(const std::vector<QueuedWrite*>& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InsertCertificate(const CertificateRecord& cert) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UseChallenge(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<CertificateRecord>> QueryCertificates(const char* where,
                                                                   const std::vector<std::string>& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<PendingRecord>> QueryPending(const char* where,
                                                          const std::vector<std::string>& args)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
  // Prepared statements by SQL text, kept for the store's life: preparing
  // them anew for every enrollment was a tenth of the server's CPU.
  std::unique_ptr<StatementCache> statements_ ABSL_GUARDED_BY(mu_);
  absl::Mutex queue_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<QueuedWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leader_active_ ABSL_GUARDED_BY(queue_mu_) = false;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_STORE_PKI_STORE_H_
