// Keeps a follower replica's Inventory in step with the store, so that it
// answers reads while the leader writes: it opens a store watch, reads the
// whole fleet, then applies each change as the watch delivers it. When the
// watch breaks (an etcd member died, the reader fell behind) it reads the
// fleet again and watches anew, after a pause. Reads in between see the
// last state applied: a follower is behind the leader by the watch's delay.
#ifndef VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_FOLLOWER_H_
#define VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_FOLLOWER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"
#include "services/controller/model/inventory.h"
#include "services/controller/store/store.h"

namespace vpnfleet::controller {

class InventoryFollower {
 public:
  // `on_change` (may be empty) runs on the follower's thread after each
  // full read and each applied batch.
  InventoryFollower(Inventory* inventory, Store* store, std::function<void()> on_change,
                    absl::Duration retry_pause = absl::Seconds(1));
  ~InventoryFollower() { Stop(); }

  void Start();
  // Ends the following and joins; the inventory keeps what it had.
  void Stop();
  // Once the first full read is done.
  bool ready() const { return ready_.load(); }
  // Full reads so far (1 + the times the watch broke).
  int resyncs() const { return resyncs_.load(); }

 private:
  void Run();
  // Waits `d` or until Stop; false when stopping.
  bool Pause(absl::Duration d);

  Inventory* const inventory_;
  Store* const store_;
  const std::function<void()> on_change_;
  const absl::Duration retry_pause_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::atomic<bool> ready_{false};
  std::atomic<int> resyncs_{0};
  std::thread thread_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_FOLLOWER_H_
