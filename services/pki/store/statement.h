// SQLite statements for the PKI store: prepared once and kept by SQL text
// (StatementCache), bound and stepped through Statement, which hands a kept
// statement back reset (or finalizes one it prepared for itself) on every
// path.
#ifndef VPNFLEET_SERVICES_PKI_STORE_STATEMENT_H_
#define VPNFLEET_SERVICES_PKI_STORE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace vpnfleet::pki {

// Prepared statements by SQL text. A statement still in use when the same
// text is asked for again (a nested query) gets a fresh, unkept one.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  ~StatementCache();
  struct Entry {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  // The kept entry for `sql` (prepared on first use), or null when it is in
  // use or cannot be prepared.
  Entry* Take(const char* sql);

 private:
  sqlite3* db_;
  std::map<std::string, Entry> entries_;
};

// One use of a statement: bind, step, read columns; handed back on every path.
class Statement {
 public:
  // A kept statement from `cache` (may be null) when it has one free, else
  // one prepared for this use only.
  Statement(sqlite3* db, StatementCache* cache, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Statement& Text(const std::string& v) {
    sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Blob(const std::string& v) {
    sqlite3_bind_blob(stmt_, ++index_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Int(int64_t v) {
    sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }
  Statement& Null() {
    sqlite3_bind_null(stmt_, ++index_);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }

  std::string ColumnText(int i) const {
    const auto* p = sqlite3_column_blob(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }
  int64_t ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  bool ColumnNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  absl::Status Error(absl::string_view what) const {
    return absl::InternalError(absl::StrCat("store: ", what, ": ", sqlite3_errmsg(db_)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  StatementCache::Entry* kept_ = nullptr;
  int rc_ = SQLITE_OK;
  int index_ = 0;
};

// Steps `s` once; an error names `what`.
absl::Status Run(Statement& s, absl::string_view what);

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_STORE_STATEMENT_H_
