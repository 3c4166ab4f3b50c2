// The controller's durable state, as the rest of the controller sees it: a
// set of (kind, name) → bytes records, changed in all-or-nothing commits.
// Desired-state commits (devices, templates, data sets) take the next
// revision and are kept in a history; operational commits (rollout progress,
// what was applied where) change records without a revision.
//
// SqliteStore is the embedded implementation; a distributed store (etcd, a
// SQL cluster) implements the same seven calls.
#ifndef VPNFLEET_SERVICES_CONTROLLER_STORE_STORE_H_
#define VPNFLEET_SERVICES_CONTROLLER_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vpnfleet::controller {

struct StoreWrite {
  std::string kind;
  std::string name;
  std::optional<std::string> value;  // nullopt: delete
};

struct StoreRecord {
  std::string kind;
  std::string name;
  std::string value;
};

struct StoreHistoryEntry {
  uint64_t revision = 0;
  int64_t changed_unix_seconds = 0;
  std::string kind;
  std::string name;
  bool deleted = false;
};

// One record as a commit left it.
struct StoreChange {
  std::string kind;
  std::string name;
  std::optional<std::string> value;  // nullopt: deleted
  // The desired-state revision this commit made; 0 for operational
  // commits (and records listed rather than watched). A follower takes its
  // revision from here, so it never shows a revision before its changes.
  uint64_t revision = 0;
};

// The changes committed after the watch was opened, in commit order, by
// this process or (for a shared store) any other.
class StoreWatch {
 public:
  virtual ~StoreWatch() = default;
  // What was committed since the last call, waiting up to `timeout` for the
  // first change (empty: none came). An error ends the watch: changes may
  // have been lost (a reader too slow, the store's history compacted, the
  // store unreachable); the caller reads the state again and watches anew.
  virtual absl::StatusOr<std::vector<StoreChange>> Next(absl::Duration timeout) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The latest desired-state revision (0 for an empty store).
  virtual absl::StatusOr<uint64_t> Revision() = 0;

  // Every record of one kind, ordered by name.
  virtual absl::StatusOr<std::vector<StoreRecord>> List(const std::string& kind) = 0;

  virtual absl::StatusOr<std::optional<std::string>> Get(const std::string& kind,
                                                         const std::string& name) = 0;

  // The records `names` of one kind, in the order asked (nullopt: absent):
  // what a rollout reads for each of its devices, in a few round trips to
  // the store rather than one per device. Each is as a Get would return it.
  virtual absl::StatusOr<std::vector<std::optional<std::string>>> GetMany(const std::string& kind,
                                                                       const std::vector<std::string>& names) = 0;

  // Applies `writes` atomically. With `new_revision`, the commit is desired
  // state: the revision becomes Revision() + 1 (returned) and each write is
  // recorded in the history; without, the revision is unchanged (returned).
  virtual absl::StatusOr<uint64_t> Commit(const std::vector<StoreWrite>& writes, bool new_revision,
                                          int64_t unix_seconds) = 0;

  // Desired-state changes after revision `after`, oldest first.
  virtual absl::StatusOr<std::vector<StoreHistoryEntry>> History(uint64_t after, size_t limit) = 0;

  // Every change committed from the moment this returns on, of every kind.
  virtual absl::StatusOr<std::unique_ptr<StoreWatch>> Watch() = 0;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_STORE_STORE_H_
