// Store in one embedded SQLite database: WAL journal, synchronous=FULL, one
// transaction per commit, so a crash (kill -9, power) leaves every commit
// whole or absent. One connection behind a mutex; reads and commits from
// many threads are serialised (the controller keeps its working set in
// memory and reads the database at start).
#ifndef VPNFLEET_SERVICES_CONTROLLER_STORE_SQLITE_STORE_H_
#define VPNFLEET_SERVICES_CONTROLLER_STORE_SQLITE_STORE_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "services/controller/store/change_queue.h"
#include "services/controller/store/store.h"

struct sqlite3;

namespace vpnfleet::controller {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at `path` (":memory:" for tests).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;

  absl::StatusOr<uint64_t> Revision() override;
  absl::StatusOr<std::vector<StoreRecord>> List(const std::string& kind) override;
  absl::StatusOr<std::optional<std::string>> Get(const std::string& kind,
                                                 const std::string& name) override;
  absl::StatusOr<std::vector<std::optional<std::string>>> GetMany(const std::string& kind,
                                                               const std::vector<std::string>& names) override;
  absl::StatusOr<uint64_t> Commit(const std::vector<StoreWrite>& writes, bool new_revision,
                                  int64_t unix_seconds) override;
  absl::StatusOr<std::vector<StoreHistoryEntry>> History(uint64_t after, size_t limit) override;
  // Commits through this object only: one process owns the database.
  absl::StatusOr<std::unique_ptr<StoreWatch>> Watch() override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  absl::StatusOr<uint64_t> RevisionLocked();

  std::mutex mu_;
  sqlite3* db_;
  std::vector<std::weak_ptr<ChangeQueue>> watchers_;  // guarded by mu_
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_STORE_SQLITE_STORE_H_
