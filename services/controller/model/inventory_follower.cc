#include "services/controller/model/inventory_follower.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/log/log.h"

namespace vpnfleet::controller {

InventoryFollower::InventoryFollower(Inventory* inventory, Store* store, std::function<void()> on_change,
                                     absl::Duration retry_pause)
    : inventory_(inventory), store_(store), on_change_(std::move(on_change)), retry_pause_(retry_pause) {}

void InventoryFollower::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void InventoryFollower::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool InventoryFollower::Pause(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return stopping_; });
  return !stopping_;
}

void InventoryFollower::Run() {
  bool first = true;
  while (first || Pause(retry_pause_)) {
    first = false;
    // The watch first: a change committed during the full read arrives
    // again through it, and applying it twice is harmless.
    auto watch = store_->Watch();
    if (!watch.ok()) {
      log::Warn("follower: cannot watch the controller store", {{"error", std::string(watch.status().message())}});
      continue;
    }
    if (auto st = inventory_->Load(); !st.ok()) {
      log::Warn("follower: cannot read the fleet from the store", {{"error", std::string(st.message())}});
      continue;
    }
    resyncs_.fetch_add(1);
    ready_.store(true);
    log::Info("follower: fleet read from the store", {{"revision", inventory_->revision()}});
    if (on_change_) on_change_();
    while (Pause(absl::ZeroDuration())) {
      auto changes = (*watch)->Next(absl::Milliseconds(500));
      if (!changes.ok()) {
        log::Warn("follower: the store's watch ended; reading the fleet again",
                  {{"error", std::string(changes.status().message())}});
        break;
      }
      // Rollout progress and applied policies are most of what a rollout
      // commits: they change nothing here and cost no read of the revision.
      const bool inventory = std::any_of(changes->begin(), changes->end(), [](const StoreChange& c) {
        return c.kind == Inventory::kDeviceKind || c.kind == Inventory::kTemplateKind ||
               c.kind == Inventory::kDataSetKind;
      });
      if (!inventory) continue;
      // The revision the applied commits made, not the store's latest: that
      // may already be a commit whose changes are still on their way.
      uint64_t revision = 0;
      for (const auto& c : *changes) revision = std::max(revision, c.revision);
      if (auto st = inventory_->Apply(*changes, revision); !st.ok()) {
        log::Error("follower: a change from the store was not applied", {{"error", std::string(st.message())}});
      }
      if (on_change_) on_change_();
    }
  }
}

}  // namespace vpnfleet::controller
