#include "services/pki/store/statement.h"

namespace vpnfleet::pki {

StatementCache::~StatementCache() {
  for (auto& [sql, e] : entries_) sqlite3_finalize(e.stmt);
}

StatementCache::Entry* StatementCache::Take(const char* sql) {
  auto it = entries_.find(sql);
  if (it == entries_.end()) {
    Entry e;
    if (sqlite3_prepare_v2(db_, sql, -1, &e.stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(e.stmt);
      return nullptr;
    }
    it = entries_.emplace(sql, e).first;
  }
  if (it->second.in_use) return nullptr;
  it->second.in_use = true;
  return &it->second;
}

Statement::Statement(sqlite3* db, StatementCache* cache, const char* sql) : db_(db) {
  kept_ = cache != nullptr ? cache->Take(sql) : nullptr;
  if (kept_ != nullptr) {
    stmt_ = kept_->stmt;
  } else {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
}

Statement::~Statement() {
  if (kept_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    kept_->in_use = false;
  } else {
    sqlite3_finalize(stmt_);
  }
}

absl::Status Run(Statement& s, absl::string_view what) {
  if (!s.ok()) return s.Error(what);
  const int rc = s.Step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return s.Error(what);
  return absl::OkStatus();
}

}  // namespace vpnfleet::pki
