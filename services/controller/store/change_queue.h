// The buffer behind a StoreWatch: a store's commit path (or its etcd watch
// reader) pushes changes, the watcher takes them. Bounded: a watcher that
// falls more than `capacity` changes behind loses its watch (an error from
// Next) instead of growing the controller's memory without end.
#ifndef VPNFLEET_SERVICES_CONTROLLER_STORE_CHANGE_QUEUE_H_
#define VPNFLEET_SERVICES_CONTROLLER_STORE_CHANGE_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "services/controller/store/store.h"

namespace vpnfleet::controller {

class ChangeQueue {
 public:
  static constexpr size_t kDefaultCapacity = 1'000'000;
  explicit ChangeQueue(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Appends the changes of one commit (all or, over capacity, none: the
  // queue then fails).
  void Push(std::vector<StoreChange> changes);
  // Ends the watch with `status` (kept: the first failure wins); changes
  // already queued are still delivered first.
  void Fail(absl::Status status);
  absl::StatusOr<std::vector<StoreChange>> Next(absl::Duration timeout);

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StoreChange> pending_;
  absl::Status failed_;
};

// A StoreWatch that reads a queue another party fills.
class QueueWatch : public StoreWatch {
 public:
  explicit QueueWatch(std::shared_ptr<ChangeQueue> queue) : queue_(std::move(queue)) {}
  absl::StatusOr<std::vector<StoreChange>> Next(absl::Duration timeout) override { return queue_->Next(timeout); }

 private:
  std::shared_ptr<ChangeQueue> queue_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_STORE_CHANGE_QUEUE_H_
