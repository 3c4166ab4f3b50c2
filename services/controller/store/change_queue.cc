#include "services/controller/store/change_queue.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace vpnfleet::controller {

void ChangeQueue::Push(std::vector<StoreChange> changes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_.ok()) return;
    if (pending_.size() + changes.size() > capacity_) {
      failed_ = absl::ResourceExhaustedError(absl::StrCat(
          "this watch fell more than ", capacity_, " changes behind the store; read the state again and watch anew"));
    } else {
      for (auto& c : changes) pending_.push_back(std::move(c));
    }
  }
  cv_.notify_all();
}

void ChangeQueue::Fail(absl::Status status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.ok()) failed_ = std::move(status);
  }
  cv_.notify_all();
}

absl::StatusOr<std::vector<StoreChange>> ChangeQueue::Next(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return !pending_.empty() || !failed_.ok(); });
  if (pending_.empty() && !failed_.ok()) return failed_;
  std::vector<StoreChange> out(std::make_move_iterator(pending_.begin()), std::make_move_iterator(pending_.end()));
  pending_.clear();
  return out;
}

}  // namespace vpnfleet::controller
