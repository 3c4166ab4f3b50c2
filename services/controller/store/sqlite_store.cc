#include "services/controller/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace vpnfleet::controller {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
  revision INTEGER NOT NULL,
  changed INTEGER NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  value BLOB
);
CREATE INDEX IF NOT EXISTS history_by_revision ON history (revision);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0);
)sql";

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Blob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  std::string ColumnBlob(int i) {
    const void* p = sqlite3_column_blob(s_, i);
    int n = sqlite3_column_bytes(s_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  std::string ColumnText(int i) {
    const unsigned char* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

absl::Status Error(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat("controller store: ", what, ": ", sqlite3_errmsg(db)));
}

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(absl::StrCat("controller store: ", msg));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot open controller store ", path, ": ", msg));
  }
  sqlite3_busy_timeout(db, 5000);
  // A page cache of 64 MiB (the default is 2 MiB): a 10,000-device fleet's
  // applied policies are read on every plan, and without it each read is a
  // pread of pages the kernel already holds.
  for (const char* sql : {"PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA cache_size=-65536;",
                          kSchema}) {
    if (auto st = Exec(db, sql); !st.ok()) {
      sqlite3_close(db);
      return absl::UnavailableError(absl::StrCat("cannot open controller store ", path, ": ", st.message()));
    }
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(db));
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

absl::StatusOr<uint64_t> SqliteStore::RevisionLocked() {
  Stmt s(db_, "SELECT value FROM meta WHERE key = 'revision'");
  if (!s.ok()) return Error(db_, "read revision");
  if (sqlite3_step(s.get()) != SQLITE_ROW) return Error(db_, "read revision");
  return static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
}

absl::StatusOr<uint64_t> SqliteStore::Revision() {
  std::lock_guard<std::mutex> lock(mu_);
  return RevisionLocked();
}

absl::StatusOr<std::vector<StoreRecord>> SqliteStore::List(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT name, value FROM records WHERE kind = ? ORDER BY name");
  if (!s.ok()) return Error(db_, "list");
  s.Text(1, kind);
  std::vector<StoreRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    out.push_back({kind, s.ColumnText(0), s.ColumnBlob(1)});
  }
  if (rc != SQLITE_DONE) return Error(db_, "list");
  return out;
}

absl::StatusOr<std::optional<std::string>> SqliteStore::Get(const std::string& kind,
                                                            const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT value FROM records WHERE kind = ? AND name = ?");
  if (!s.ok()) return Error(db_, "get");
  s.Text(1, kind);
  s.Text(2, name);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return std::optional<std::string>(s.ColumnBlob(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return Error(db_, "get");
}

absl::StatusOr<std::vector<std::optional<std::string>>> SqliteStore::GetMany(
    const std::string& kind, const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu_);
  // One statement for all: preparing it is most of what a Get costs.
  Stmt s(db_, "SELECT value FROM records WHERE kind = ? AND name = ?");
  if (!s.ok()) return Error(db_, "get");
  s.Text(1, kind);
  std::vector<std::optional<std::string>> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    s.Text(2, name);
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) {
      out.emplace_back(s.ColumnBlob(0));
    } else if (rc == SQLITE_DONE) {
      out.emplace_back();
    } else {
      return Error(db_, "get");
    }
    sqlite3_reset(s.get());
  }
  return out;
}

absl::StatusOr<uint64_t> SqliteStore::Commit(const std::vector<StoreWrite>& writes, bool new_revision,
                                             int64_t unix_seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto st = Exec(db_, "BEGIN IMMEDIATE"); !st.ok()) return st;
  auto fail = [&](absl::Status st) {
    Exec(db_, "ROLLBACK").IgnoreError();
    return st;
  };
  auto rev = RevisionLocked();
  if (!rev.ok()) return fail(rev.status());
  uint64_t revision = *rev + (new_revision ? 1 : 0);
  Stmt put(db_, "INSERT INTO records (kind, name, value) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, name) DO UPDATE SET value = excluded.value");
  Stmt del(db_, "DELETE FROM records WHERE kind = ? AND name = ?");
  Stmt hist(db_, "INSERT INTO history (revision, changed, kind, name, value) VALUES (?, ?, ?, ?, ?)");
  if (!put.ok() || !del.ok() || !hist.ok()) return fail(Error(db_, "prepare"));
  for (const auto& w : writes) {
    Stmt& s = w.value ? put : del;
    sqlite3_reset(s.get());
    s.Text(1, w.kind);
    s.Text(2, w.name);
    if (w.value) s.Blob(3, *w.value);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return fail(Error(db_, "write"));
    if (new_revision) {
      sqlite3_reset(hist.get());
      hist.Int(1, static_cast<int64_t>(revision));
      hist.Int(2, unix_seconds);
      hist.Text(3, w.kind);
      hist.Text(4, w.name);
      if (w.value) hist.Blob(5, *w.value);
      else sqlite3_bind_null(hist.get(), 5);
      if (sqlite3_step(hist.get()) != SQLITE_DONE) return fail(Error(db_, "history"));
    }
  }
  if (new_revision) {
    Stmt r(db_, "UPDATE meta SET value = ? WHERE key = 'revision'");
    r.Int(1, static_cast<int64_t>(revision));
    if (!r.ok() || sqlite3_step(r.get()) != SQLITE_DONE) return fail(Error(db_, "revision"));
  }
  if (auto st = Exec(db_, "COMMIT"); !st.ok()) return fail(st);
  // Watchers learn of the commit under the lock, so in commit order.
  bool gone = false;
  for (const auto& weak : watchers_) {
    auto queue = weak.lock();
    if (!queue) {
      gone = true;
      continue;
    }
    std::vector<StoreChange> changes;
    changes.reserve(writes.size());
    for (const auto& w : writes) changes.push_back({w.kind, w.name, w.value, new_revision ? revision : 0});
    queue->Push(std::move(changes));
  }
  if (gone) {
    watchers_.erase(std::remove_if(watchers_.begin(), watchers_.end(),
                                   [](const std::weak_ptr<ChangeQueue>& w) { return w.expired(); }),
                    watchers_.end());
  }
  return revision;
}

absl::StatusOr<std::unique_ptr<StoreWatch>> SqliteStore::Watch() {
  auto queue = std::make_shared<ChangeQueue>();
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(queue);
  return std::make_unique<QueueWatch>(std::move(queue));
}

absl::StatusOr<std::vector<StoreHistoryEntry>> SqliteStore::History(uint64_t after, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT revision, changed, kind, name, value IS NULL FROM history "
              "WHERE revision > ? ORDER BY revision, rowid LIMIT ?");
  if (!s.ok()) return Error(db_, "history");
  s.Int(1, static_cast<int64_t>(after));
  s.Int(2, static_cast<int64_t>(limit));
  std::vector<StoreHistoryEntry> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    StoreHistoryEntry e;
    e.revision = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
    e.changed_unix_seconds = sqlite3_column_int64(s.get(), 1);
    e.kind = s.ColumnText(2);
    e.name = s.ColumnText(3);
    e.deleted = sqlite3_column_int(s.get(), 4) != 0;
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(db_, "history");
  return out;
}

}  // namespace vpnfleet::controller
