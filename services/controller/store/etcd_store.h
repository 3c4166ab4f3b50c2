// Store in etcd v3, for controllers that run as a replicated set. Layout
// under the prefix (default "/vpnfleet/"):
//   records/KIND/NAME          the record's value, as the controller wrote it
//   revision                   RevisionRecord: the desired-state revision
//   history/REVISION/INDEX     HistoryRecord: what each revision changed
// Every commit is one etcd transaction. A desired-state commit compares the
// revision key's mod revision with the one it read, so two writers can
// never both take revision N+1; a commit whose reply was lost is recognised
// by its token instead of being applied twice. With a fence set (the
// leader's election key), a commit goes in only while that key still exists
// as this replica created it: a leader whose lease expired cannot write.
//
// etcd bounds a transaction (--max-txn-ops, default 128; --max-request-bytes,
// default 1.5 MiB); a controller's commits are as large as its largest plan,
// so its etcd runs with higher limits (README: "High availability on etcd").
#ifndef VPNFLEET_SERVICES_CONTROLLER_STORE_ETCD_STORE_H_
#define VPNFLEET_SERVICES_CONTROLLER_STORE_ETCD_STORE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/random/rng.h"
#include "services/controller/etcd/etcd_client.h"
#include "services/controller/store/change_queue.h"
#include "services/controller/store/store.h"

namespace vpnfleet::controller {

// The condition every commit carries while set: `key` exists and was
// created at `create_revision` (etcd's revision of the election put).
struct EtcdFence {
  std::string key;
  int64_t create_revision = 0;
};

class EtcdStore final : public Store {
 public:
  // `client` is shared with leader election; `prefix` must end with '/'.
  static absl::StatusOr<std::unique_ptr<EtcdStore>> Open(std::shared_ptr<EtcdClient> client, std::string prefix,
                                                         Rng* rng);

  absl::StatusOr<uint64_t> Revision() override;
  absl::StatusOr<std::vector<StoreRecord>> List(const std::string& kind) override;
  absl::StatusOr<std::optional<std::string>> Get(const std::string& kind, const std::string& name) override;
  absl::StatusOr<std::vector<std::optional<std::string>>> GetMany(const std::string& kind,
                                                               const std::vector<std::string>& names) override;
  absl::StatusOr<uint64_t> Commit(const std::vector<StoreWrite>& writes, bool new_revision,
                                  int64_t unix_seconds) override;
  absl::StatusOr<std::vector<StoreHistoryEntry>> History(uint64_t after, size_t limit) override;
  // etcd's watch of records/: commits of every replica, each commit's
  // changes together (one etcd revision).
  absl::StatusOr<std::unique_ptr<StoreWatch>> Watch() override;

  // Commits from now on carry `fence` (nullopt: none). A commit refused by
  // the fence fails with FailedPrecondition and writes nothing.
  void SetFence(std::optional<EtcdFence> fence);

  const std::string& prefix() const { return prefix_; }

 private:
  EtcdStore(std::shared_ptr<EtcdClient> client, std::string prefix, Rng* rng)
      : client_(std::move(client)), prefix_(std::move(prefix)), rng_(rng) {}

  std::string RecordKey(const std::string& kind, const std::string& name) const;
  std::string HistoryKey(uint64_t revision, size_t index) const;
  // The revision record and the mod revision of its key (0: none yet).
  absl::StatusOr<std::pair<uint64_t, int64_t>> ReadRevision(std::string* token);
  absl::StatusOr<uint64_t> TryCommit(const std::vector<const StoreWrite*>& writes, bool new_revision,
                                     int64_t unix_seconds, const std::string& token, bool* retry);

  std::shared_ptr<EtcdClient> client_;
  const std::string prefix_;
  Rng* rng_;
  std::mutex mu_;  // guards fence_
  std::optional<EtcdFence> fence_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_STORE_ETCD_STORE_H_
