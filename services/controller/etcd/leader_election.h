// Leader election among controller replicas on etcd, with a lease and a
// transaction (the recipe of etcd's own election API): the replica that
// creates KEY, attached to its lease, leads until the lease ends. The others
// keep their own lease alive and try again whenever KEY is gone, so a dead
// leader is replaced within its lease time.
//
// A leader stops acting before anyone else can start: it counts its lease
// from the moment it *sent* each refresh, and declares itself deposed
// (`lost`) once that deadline is near without a fresh refresh, while etcd
// only expires the lease a full TTL after it *received* the last one. Its
// store commits carry KEY's create revision as a fence as well, so even a
// leader that missed all of this cannot write once KEY is another's.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ETCD_LEADER_ELECTION_H_
#define VPNFLEET_SERVICES_CONTROLLER_ETCD_LEADER_ELECTION_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "services/controller/etcd/etcd_client.h"

namespace vpnfleet::controller {

struct LeaderElectionOptions {
  std::string key;       // e.g. "/vpnfleet/leader"
  std::string identity;  // what followers tell clients: "NAME at ADDRESS"
  absl::Duration lease = absl::Seconds(10);
};

class LeaderElection {
 public:
  struct Callbacks {
    // This replica leads from now on; `create_revision` fences its writes.
    // Runs on the election thread; leadership is kept alive meanwhile.
    std::function<void(int64_t create_revision)> elected;
    // This replica no longer leads (or cannot be sure it does): stop acting
    // now. Runs on the election thread, which then ends.
    std::function<void()> lost;
  };

  LeaderElection(std::shared_ptr<EtcdClient> client, LeaderElectionOptions options, Callbacks callbacks);
  ~LeaderElection();

  void Start();
  // Ends the election thread; a leader resigns (its lease is revoked, so a
  // follower takes over at once instead of after the lease time).
  void Stop();

  // While elected and the lease, as last refreshed, has more than a quarter
  // of its time left.
  bool leading() const;
  // The identity of the leader as last seen; empty while unknown.
  std::string leader() const;

 private:
  void Run();
  // The lease in whole seconds, as etcd grants it (at least 2).
  int64_t TtlSeconds() const;
  // Waits up to `d`; false once Stop() was called.
  bool Wait(absl::Duration d);
  bool Campaign(int64_t* create_revision);
  // Keeps the lease of a leader alive until it is lost or Stop().
  void Lead(int64_t create_revision);

  std::shared_ptr<EtcdClient> client_;
  const LeaderElectionOptions options_;
  Callbacks callbacks_;
  int64_t lease_id_ = 0;

  mutable std::mutex mu_;
  absl::Time lease_valid_until_;  // guarded by mu_
  std::condition_variable cv_;
  bool stopping_ = false;
  bool leading_ = false;
  std::string leader_;
  std::thread thread_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ETCD_LEADER_ELECTION_H_
