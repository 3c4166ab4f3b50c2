#include "services/controller/model/pair_keys.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/crypto/zeroize.h"

namespace vpnfleet::controller {
namespace {
std::string PairName(const std::string& a, const std::string& b) {
  return a < b ? absl::StrCat(a, "|", b) : absl::StrCat(b, "|", a);
}
}  // namespace

PairKeys::PairKeys(Store* store, const SecretBox* box, Rng* rng, const Clock* clock)
    : store_(store), box_(box), rng_(rng), clock_(clock) {}

PairKeys::~PairKeys() {
  for (auto& [name, key] : cache_) crypto::ZeroizeString(&key);
}

absl::StatusOr<std::string> PairKeys::Get(const std::string& a, const std::string& b) {
  const std::string name = PairName(a, b);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  auto stored = store_->Get(kKind, name);
  if (!stored.ok()) return stored.status();
  std::string key;
  if (stored->has_value()) {
    auto opened = box_->Open(**stored, name);
    if (!opened.ok()) {
      return absl::DataLossError(absl::StrCat("pre-shared key of ", name, ": ", opened.status().message()));
    }
    key = std::move(*opened);
  } else {
    std::string raw = rng_->Bytes(24);
    key = absl::WebSafeBase64Escape(raw);
    crypto::ZeroizeString(&raw);
    pending_.push_back(name);
  }
  cache_[name] = key;
  return key;
}

absl::Status PairKeys::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.empty()) return absl::OkStatus();
  std::vector<StoreWrite> writes;
  for (const auto& name : pending_) writes.push_back({kKind, name, box_->Seal(cache_.at(name), name)});
  auto committed = store_->Commit(writes, /*new_revision=*/false, absl::ToUnixSeconds(clock_->Now()));
  if (!committed.ok()) {
    for (const auto& name : pending_) {
      crypto::ZeroizeString(&cache_.at(name));
      cache_.erase(name);
    }
  }
  pending_.clear();
  return committed.status();
}

absl::Status PairKeys::ForgetDevice(const std::string& device) {
  std::lock_guard<std::mutex> lock(mu_);
  auto all = store_->List(kKind);
  if (!all.ok()) return all.status();
  std::vector<StoreWrite> deletes;
  for (const auto& r : *all) {
    if (absl::StartsWith(r.name, device + "|") || absl::EndsWith(r.name, "|" + device)) {
      deletes.push_back({kKind, r.name, std::nullopt});
      if (auto it = cache_.find(r.name); it != cache_.end()) {
        crypto::ZeroizeString(&it->second);
        cache_.erase(it);
      }
    }
  }
  if (deletes.empty()) return absl::OkStatus();
  return store_->Commit(deletes, false, absl::ToUnixSeconds(clock_->Now())).status();
}

}  // namespace vpnfleet::controller
