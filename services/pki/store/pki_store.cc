#include "services/pki/store/pki_store.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/pki/store/statement.h"

namespace vpnfleet::pki {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS certificates (
  serial TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  subject TEXT NOT NULL,
  sans TEXT NOT NULL,
  key_algorithm INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  der BLOB NOT NULL,
  transaction_id TEXT NOT NULL,
  revoked_at INTEGER,
  revocation_reason INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS certificates_by_transaction ON certificates(transaction_id);
CREATE TABLE IF NOT EXISTS challenges (
  id TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  subject_cn TEXT NOT NULL,
  password_hash BLOB NOT NULL UNIQUE,
  expires INTEGER NOT NULL,
  require_approval INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pending (
  transaction_id TEXT PRIMARY KEY,
  device TEXT NOT NULL,
  subject TEXT NOT NULL,
  sans TEXT NOT NULL,
  key_algorithm INTEGER NOT NULL,
  received INTEGER NOT NULL,
  renewal INTEGER NOT NULL,
  csr BLOB NOT NULL,
  requester_cert BLOB NOT NULL,
  state INTEGER NOT NULL,
  serial TEXT NOT NULL DEFAULT '',
  reject_reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS registrations (
  device TEXT PRIMARY KEY,
  subject_cn TEXT NOT NULL,
  sans TEXT NOT NULL,
  updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS crl (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  number INTEGER NOT NULL,
  der BLOB NOT NULL,
  this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL
);
)sql";

constexpr const char* kCertColumns =
    "serial, device, subject, sans, key_algorithm, not_before, not_after, fingerprint, der, "
    "transaction_id, revoked_at, revocation_reason";
constexpr const char* kPendingColumns =
    "transaction_id, device, subject, sans, key_algorithm, received, renewal, csr, "
    "requester_cert, state, serial, reject_reason";

constexpr const char* kAnyNames = "*";

std::string JoinNames(const std::vector<std::string>& names) { return absl::StrJoin(names, "\n"); }
std::vector<std::string> SplitNames(const std::string& s) {
  if (s.empty()) return {};
  return absl::StrSplit(s, '\n');
}

CertificateRecord CertificateFrom(const Statement& s) {
  CertificateRecord c;
  c.serial_hex = s.ColumnText(0);
  c.device = s.ColumnText(1);
  c.subject = s.ColumnText(2);
  c.subject_alt_names = SplitNames(s.ColumnText(3));
  c.key_algorithm = static_cast<v1::KeyAlgorithm>(s.ColumnInt(4));
  c.not_before = absl::FromUnixSeconds(s.ColumnInt(5));
  c.not_after = absl::FromUnixSeconds(s.ColumnInt(6));
  c.fingerprint_sha256 = s.ColumnText(7);
  c.der = s.ColumnText(8);
  c.transaction_id = s.ColumnText(9);
  c.revoked = !s.ColumnNull(10);
  if (c.revoked) c.revoked_at = absl::FromUnixSeconds(s.ColumnInt(10));
  c.revocation_reason = static_cast<v1::RevocationReason>(s.ColumnInt(11));
  return c;
}

PendingRecord PendingFrom(const Statement& s) {
  PendingRecord p;
  p.transaction_id = s.ColumnText(0);
  p.device = s.ColumnText(1);
  p.subject = s.ColumnText(2);
  p.subject_alt_names = SplitNames(s.ColumnText(3));
  p.key_algorithm = static_cast<v1::KeyAlgorithm>(s.ColumnInt(4));
  p.received = absl::FromUnixSeconds(s.ColumnInt(5));
  p.renewal = s.ColumnInt(6) != 0;
  p.csr_der = s.ColumnText(7);
  p.requester_cert_der = s.ColumnText(8);
  p.state = static_cast<PendingState>(s.ColumnInt(9));
  p.serial_hex = s.ColumnText(10);
  p.reject_reason = s.ColumnText(11);
  return p;
}

ChallengeRecord ChallengeFrom(const Statement& s) {
  ChallengeRecord c;
  c.id = s.ColumnText(0);
  c.device = s.ColumnText(1);
  c.subject_cn = s.ColumnText(2);
  c.password_hash = s.ColumnText(3);
  c.expires = absl::FromUnixSeconds(s.ColumnInt(4));
  c.require_approval = s.ColumnInt(5) != 0;
  c.used = s.ColumnInt(6) != 0;
  const std::string sans = s.ColumnText(7);
  c.any_names = sans == kAnyNames;
  if (!c.any_names) c.subject_alt_names = SplitNames(sans);
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PkiStore>> PkiStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open the PKI store ", path, ": ", why));
  }
  std::unique_ptr<PkiStore> store(new PkiStore(db));
  absl::MutexLock lock(&store->mu_);
  sqlite3_busy_timeout(db, 5000);
  // WAL with FULL sync: a committed enrollment survives a crash or power loss.
  for (const char* pragma : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;",
                             "PRAGMA foreign_keys=ON;", kSchema}) {
    if (auto st = store->Exec(pragma); !st.ok()) return st;
  }
  // Stores made before challenges carried their names: the column is added,
  // and the challenges already there keep accepting any names.
  if (!store->HasColumn("challenges", "sans")) {
    const std::string add = absl::StrCat(
        "ALTER TABLE challenges ADD COLUMN sans TEXT NOT NULL DEFAULT '", kAnyNames, "';");
    if (auto st = store->Exec(add.c_str()); !st.ok()) return st;
  }
  return store;
}

PkiStore::PkiStore(sqlite3* db) : db_(db), statements_(std::make_unique<StatementCache>(db)) {}

PkiStore::~PkiStore() {
  absl::MutexLock lock(&mu_);
  statements_.reset();  // finalized first: sqlite3_close refuses while any is open
  sqlite3_close(db_);
}

bool PkiStore::HasColumn(const char* table, const char* column) {
  const std::string sql = absl::StrCat("PRAGMA table_info(", table, ")");
  Statement s(db_, statements_.get(), sql.c_str());
  if (!s.ok()) return false;
  while (s.Step() == SQLITE_ROW) {
    if (s.ColumnText(1) == column) return true;
  }
  return false;
}

absl::Status PkiStore::ExecCached(const char* sql) {
  Statement s(db_, statements_.get(), sql);
  return Run(s, sql);
}

absl::Status PkiStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("store: ", why));
  }
  return absl::OkStatus();
}

// Group commit: writers queue their change; the first one to find no
// commit under way becomes the leader and applies every queued change in
// one transaction (each in its own savepoint, so one failing change does
// not undo the others), then commits once. Each writer returns only after
// the commit (and its fsync) that holds its change. Throughput under
// concurrent enrollments is no longer one fsync per certificate.
struct PkiStore::QueuedWrite {
  const std::function<absl::Status()>* body;
  absl::Status result;
  bool done = false;
};

namespace {
struct WaitArgs {
  const bool* leader_active;
  const bool* done;
};
bool MayProceed(WaitArgs* a) { return *a->done || !*a->leader_active; }
}  // namespace

absl::Status PkiStore::Write(const std::function<absl::Status()>& body) {
  QueuedWrite w{&body, absl::OkStatus(), false};
  absl::MutexLock queue_lock(&queue_mu_);
  queue_.push_back(&w);
  WaitArgs args{&leader_active_, &w.done};
  while (!w.done) {
    queue_mu_.Await(absl::Condition(&MayProceed, &args));
    if (w.done) break;
    leader_active_ = true;
    std::vector<QueuedWrite*> batch;
    batch.swap(queue_);
    queue_mu_.Unlock();
    {
      absl::MutexLock db_lock(&mu_);
      CommitBatch(batch);
    }
    queue_mu_.Lock();
    for (QueuedWrite* q : batch) q->done = true;
    leader_active_ = false;
  }
  return w.result;
}

void PkiStore::CommitBatch(const std::vector<QueuedWrite*>& batch) {
  if (auto st = ExecCached("BEGIN IMMEDIATE;"); !st.ok()) {
    for (QueuedWrite* q : batch) q->result = st;
    return;
  }
  for (QueuedWrite* q : batch) {
    absl::Status st = ExecCached("SAVEPOINT change;");
    if (st.ok()) st = (*q->body)();
    if (st.ok()) {
      st = ExecCached("RELEASE change;");
    } else {
      ExecCached("ROLLBACK TO change;").IgnoreError();
      ExecCached("RELEASE change;").IgnoreError();
    }
    q->result = st;
  }
  if (auto st = ExecCached("COMMIT;"); !st.ok()) {
    ExecCached("ROLLBACK;").IgnoreError();
    for (QueuedWrite* q : batch) {
      if (q->result.ok()) q->result = st;
    }
  }
}

absl::Status PkiStore::AddChallenge(const ChallengeRecord& c) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Statement s(db_, statements_.get(),
                "INSERT INTO challenges (id, device, subject_cn, password_hash, expires, "
                "require_approval, used, sans) VALUES (?,?,?,?,?,?,0,?)");
    s.Text(c.id).Text(c.device).Text(c.subject_cn).Blob(c.password_hash);
    s.Int(absl::ToUnixSeconds(c.expires)).Int(c.require_approval ? 1 : 0);
    s.Text(c.any_names ? std::string(kAnyNames) : JoinNames(c.subject_alt_names));
    return Run(s, "adding a challenge");
  });
}

absl::Status PkiStore::PutRegistration(const RegistrationRecord& r) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Statement s(db_, statements_.get(),
                "INSERT OR REPLACE INTO registrations (device, subject_cn, sans, updated) "
                "VALUES (?,?,?,?)");
    s.Text(r.device).Text(r.subject_cn).Text(JoinNames(r.subject_alt_names));
    s.Int(absl::ToUnixSeconds(r.updated));
    return Run(s, "registering a device");
  });
}

absl::StatusOr<std::optional<RegistrationRecord>> PkiStore::GetRegistration(
    const std::string& device) {
  absl::MutexLock lock(&mu_);
  Statement s(db_, statements_.get(), "SELECT device, subject_cn, sans, updated FROM registrations WHERE device = ?");
  if (!s.ok()) return s.Error("reading a registration");
  s.Text(device);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<RegistrationRecord>();
  if (rc != SQLITE_ROW) return s.Error("reading a registration");
  RegistrationRecord r;
  r.device = s.ColumnText(0);
  r.subject_cn = s.ColumnText(1);
  r.subject_alt_names = SplitNames(s.ColumnText(2));
  r.updated = absl::FromUnixSeconds(s.ColumnInt(3));
  return std::optional<RegistrationRecord>(std::move(r));
}

absl::StatusOr<std::optional<ChallengeRecord>> PkiStore::FindChallenge(
    const std::string& password_hash) {
  absl::MutexLock lock(&mu_);
  Statement s(db_, statements_.get(),
              "SELECT id, device, subject_cn, password_hash, expires, require_approval, used, "
              "sans FROM challenges WHERE password_hash = ?");
  if (!s.ok()) return s.Error("finding a challenge");
  s.Blob(password_hash);
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return std::optional<ChallengeRecord>();
  if (rc != SQLITE_ROW) return s.Error("finding a challenge");
  return std::optional<ChallengeRecord>(ChallengeFrom(s));
}

absl::Status PkiStore::UseChallenge(const std::string& id) {
  Statement s(db_, statements_.get(), "UPDATE challenges SET used = 1 WHERE id = ? AND used = 0");
  s.Text(id);
  if (auto st = Run(s, "using a challenge"); !st.ok()) return st;
  if (sqlite3_changes(db_) != 1) {
    return absl::FailedPreconditionError("the challenge password was already used");
  }
  return absl::OkStatus();
}

absl::Status PkiStore::InsertCertificate(const CertificateRecord& c) {
  Statement s(db_, statements_.get(), absl::StrCat("INSERT INTO certificates (", kCertColumns,
                                ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
                       .c_str());
  s.Text(c.serial_hex).Text(c.device).Text(c.subject).Text(JoinNames(c.subject_alt_names));
  s.Int(c.key_algorithm).Int(absl::ToUnixSeconds(c.not_before));
  s.Int(absl::ToUnixSeconds(c.not_after)).Text(c.fingerprint_sha256).Blob(c.der);
  s.Text(c.transaction_id);
  if (c.revoked) {
    s.Int(absl::ToUnixSeconds(c.revoked_at));
  } else {
    s.Null();
  }
  s.Int(c.revocation_reason);
  return Run(s, "storing a certificate");
}

absl::Status PkiStore::RecordEnrollment(const std::string& challenge_id,
                                        const CertificateRecord& cert) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (auto st = UseChallenge(challenge_id); !st.ok()) return st;
    return InsertCertificate(cert);
  });
}

absl::Status PkiStore::RecordPending(const std::string& challenge_id, const PendingRecord& p) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (!challenge_id.empty()) {
      if (auto st = UseChallenge(challenge_id); !st.ok()) return st;
    }
    Statement s(db_, statements_.get(), absl::StrCat("INSERT INTO pending (", kPendingColumns,
                                  ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
                         .c_str());
    s.Text(p.transaction_id).Text(p.device).Text(p.subject).Text(JoinNames(p.subject_alt_names));
    s.Int(p.key_algorithm).Int(absl::ToUnixSeconds(p.received)).Int(p.renewal ? 1 : 0);
    s.Blob(p.csr_der).Blob(p.requester_cert_der).Int(static_cast<int>(p.state));
    s.Text(p.serial_hex).Text(p.reject_reason);
    return Run(s, "holding a request");
  });
}

absl::Status PkiStore::AddCertificate(const CertificateRecord& cert) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return InsertCertificate(cert); });
}

absl::StatusOr<std::vector<CertificateRecord>> PkiStore::QueryCertificates(
    const char* where, const std::vector<std::string>& args) {
  Statement s(db_, statements_.get(), absl::StrCat("SELECT ", kCertColumns, " FROM certificates ", where,
                                " ORDER BY not_before, serial")
                       .c_str());
  if (!s.ok()) return s.Error("reading certificates");
  for (const auto& a : args) s.Text(a);
  std::vector<CertificateRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(CertificateFrom(s));
  if (rc != SQLITE_DONE) return s.Error("reading certificates");
  return out;
}

absl::StatusOr<std::optional<CertificateRecord>> PkiStore::GetCertificate(
    const std::string& serial_hex) {
  absl::MutexLock lock(&mu_);
  auto rows = QueryCertificates("WHERE serial = ?", {serial_hex});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<CertificateRecord>();
  return std::optional<CertificateRecord>(std::move(rows->front()));
}

absl::StatusOr<std::optional<CertificateRecord>> PkiStore::FindByTransaction(
    const std::string& transaction_id) {
  absl::MutexLock lock(&mu_);
  auto rows = QueryCertificates("WHERE transaction_id = ?", {transaction_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<CertificateRecord>();
  return std::optional<CertificateRecord>(std::move(rows->back()));
}

absl::StatusOr<std::vector<CertificateRecord>> PkiStore::ListCertificates(
    const CertificateFilter& filter) {
  absl::MutexLock lock(&mu_);
  // instr() rather than LIKE: the filter is literal text, not a pattern.
  return QueryCertificates("WHERE (?1 = '' OR device = ?1) AND (?2 = '' OR instr(subject, ?2) > 0)",
                           {filter.device, filter.subject_contains});
}

absl::Status PkiStore::Revoke(const std::string& serial_hex, absl::Time at,
                              v1::RevocationReason reason) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    Statement q(db_, statements_.get(), "SELECT revoked_at FROM certificates WHERE serial = ?");
    if (!q.ok()) return q.Error("revoking");
    q.Text(serial_hex);
    const int rc = q.Step();
    if (rc == SQLITE_DONE) {
      return absl::NotFoundError(absl::StrCat("no certificate with serial ", serial_hex));
    }
    if (rc != SQLITE_ROW) return q.Error("revoking");
    // A revocation still in the future (a superseded certificate in its
    // overlap) may be brought forward; one in force stays as it is.
    if (!q.ColumnNull(0) && absl::FromUnixSeconds(q.ColumnInt(0)) <= at) {
      return absl::FailedPreconditionError(
          absl::StrCat("certificate ", serial_hex, " is already revoked"));
    }
    Statement s(db_, statements_.get(),
                "UPDATE certificates SET revoked_at = ?, revocation_reason = ? WHERE serial = ?");
    s.Int(absl::ToUnixSeconds(at)).Int(reason).Text(serial_hex);
    return Run(s, "revoking");
  });
}

absl::StatusOr<std::vector<PendingRecord>> PkiStore::QueryPending(
    const char* where, const std::vector<std::string>& args) {
  Statement s(db_, statements_.get(), absl::StrCat("SELECT ", kPendingColumns, " FROM pending ", where,
                                " ORDER BY received, transaction_id")
                       .c_str());
  if (!s.ok()) return s.Error("reading pending requests");
  for (const auto& a : args) s.Text(a);
  std::vector<PendingRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(PendingFrom(s));
  if (rc != SQLITE_DONE) return s.Error("reading pending requests");
  return out;
}

absl::StatusOr<std::optional<PendingRecord>> PkiStore::GetPending(
    const std::string& transaction_id) {
  absl::MutexLock lock(&mu_);
  auto rows = QueryPending("WHERE transaction_id = ?", {transaction_id});
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<PendingRecord>();
  return std::optional<PendingRecord>(std::move(rows->front()));
}

absl::StatusOr<std::vector<PendingRecord>> PkiStore::ListPending(bool only_waiting) {
  absl::MutexLock lock(&mu_);
  return only_waiting ? QueryPending("WHERE state = 0", {}) : QueryPending("", {});
}

absl::Status PkiStore::ApprovePending(const std::string& transaction_id,
                                      const CertificateRecord& cert) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    Statement s(db_, statements_.get(), "UPDATE pending SET state = 1, serial = ? WHERE transaction_id = ? AND state = 0");
    s.Text(cert.serial_hex).Text(transaction_id);
    if (auto st = Run(s, "approving"); !st.ok()) return st;
    if (sqlite3_changes(db_) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("request ", transaction_id, " is not waiting for approval"));
    }
    return InsertCertificate(cert);
  });
}

absl::Status PkiStore::RejectPending(const std::string& transaction_id, const std::string& reason) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    Statement s(db_, statements_.get(),
                "UPDATE pending SET state = 2, reject_reason = ? WHERE transaction_id = ? AND "
                "state = 0");
    s.Text(reason).Text(transaction_id);
    if (auto st = Run(s, "rejecting"); !st.ok()) return st;
    if (sqlite3_changes(db_) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("request ", transaction_id, " is not waiting for approval"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<PkiStore::CrlState> PkiStore::GetCrl() {
  absl::MutexLock lock(&mu_);
  Statement s(db_, statements_.get(), "SELECT number, der, this_update, next_update FROM crl WHERE id = 1");
  if (!s.ok()) return s.Error("reading the CRL");
  CrlState c;
  const int rc = s.Step();
  if (rc == SQLITE_DONE) return c;
  if (rc != SQLITE_ROW) return s.Error("reading the CRL");
  c.number = static_cast<uint64_t>(s.ColumnInt(0));
  c.der = s.ColumnText(1);
  c.this_update = absl::FromUnixSeconds(s.ColumnInt(2));
  c.next_update = absl::FromUnixSeconds(s.ColumnInt(3));
  return c;
}

absl::Status PkiStore::PutCrl(const CrlState& c) {
  return Write([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    Statement s(db_, statements_.get(),
                "INSERT INTO crl (id, number, der, this_update, next_update) VALUES (1,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET number = excluded.number, der = excluded.der, "
                "this_update = excluded.this_update, next_update = excluded.next_update");
    s.Int(static_cast<int64_t>(c.number)).Blob(c.der);
    s.Int(absl::ToUnixSeconds(c.this_update)).Int(absl::ToUnixSeconds(c.next_update));
    return Run(s, "storing the CRL");
  });
}

absl::StatusOr<PkiStore::Counts> PkiStore::Count(absl::Time now) {
  absl::MutexLock lock(&mu_);
  Statement s(db_, statements_.get(),
              "SELECT "
              "(SELECT count(*) FROM certificates WHERE revoked_at IS NULL AND not_after > ?1), "
              "(SELECT count(*) FROM certificates WHERE revoked_at IS NOT NULL), "
              "(SELECT count(*) FROM certificates WHERE revoked_at IS NULL AND not_after <= ?1), "
              "(SELECT count(*) FROM pending WHERE state = 0)");
  if (!s.ok()) return s.Error("counting");
  s.Int(absl::ToUnixSeconds(now));
  if (s.Step() != SQLITE_ROW) return s.Error("counting");
  Counts c;
  c.valid = s.ColumnInt(0);
  c.revoked = s.ColumnInt(1);
  c.expired = s.ColumnInt(2);
  c.pending = s.ColumnInt(3);
  return c;
}

}  // namespace vpnfleet::pki
