#include "services/dataplane/sad/lifetime.h"

namespace vpnfleet::dataplane {

SaLifetime::SaLifetime(LifetimeLimits soft, LifetimeLimits hard, uint32_t idle_seconds,
                       absl::Time added)
    : soft_(soft), hard_(hard), idle_seconds_(idle_seconds), added_(added) {}

Expiry SaLifetime::Reached(const LifetimeLimits& l, uint64_t age_s, uint64_t bytes,
                           uint64_t packets, ExpiryKind kind) {
  if (l.seconds != 0 && age_s >= l.seconds) return {kind, v1::Expire::REASON_SECONDS};
  if (l.kilobytes != 0 && bytes >= l.kilobytes * 1024) return {kind, v1::Expire::REASON_KILOBYTES};
  if (l.packets != 0 && packets >= l.packets) return {kind, v1::Expire::REASON_PACKETS};
  return {};
}

Expiry SaLifetime::Check(absl::Time now, uint64_t bytes, uint64_t packets, absl::Time last_used) {
  const absl::Duration age = now - added_;
  const uint64_t age_s = age < absl::ZeroDuration() ? 0 : static_cast<uint64_t>(absl::ToInt64Seconds(age));
  if (Expiry hard = Reached(hard_, age_s, bytes, packets, ExpiryKind::kHard);
      hard.kind != ExpiryKind::kNone) {
    return hard;
  }
  if (idle_seconds_ != 0) {
    // Never used: idle since it was added.
    const absl::Time since = last_used > added_ ? last_used : added_;
    if (now - since >= absl::Seconds(idle_seconds_)) {
      return {ExpiryKind::kHard, v1::Expire::REASON_IDLE};
    }
  }
  if (!soft_reported_) {
    Expiry soft = Reached(soft_, age_s, bytes, packets, ExpiryKind::kSoft);
    if (soft.kind != ExpiryKind::kNone) {
      soft_reported_ = true;
      return soft;
    }
  }
  return {};
}

uint64_t SaLifetime::RemainingSeconds(absl::Time now) const {
  if (hard_.seconds == 0) return 0;
  const int64_t age = absl::ToInt64Seconds(now - added_);
  if (age <= 0) return hard_.seconds;
  return static_cast<uint64_t>(age) >= hard_.seconds ? 0 : hard_.seconds - static_cast<uint64_t>(age);
}

uint64_t SaLifetime::RemainingKilobytes(uint64_t bytes) const {
  if (hard_.kilobytes == 0) return 0;
  const uint64_t used = bytes / 1024;
  return used >= hard_.kilobytes ? 0 : hard_.kilobytes - used;
}

}  // namespace vpnfleet::dataplane
