// SA lifetimes (RFC 4301 §4.4.2.1): soft and hard limits in seconds,
// kilobytes and packets, and an idle time (`set security-association
// idle-time`). A soft expiry asks the IKE daemon to rekey, once; a hard one
// removes the SA. The packet path only counts packets and bytes; this check
// runs on the control side every so often, with an injected clock.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SAD_LIFETIME_H_
#define VPNFLEET_SERVICES_DATAPLANE_SAD_LIFETIME_H_

#include <cstdint>

#include "absl/time/time.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::dataplane {

struct LifetimeLimits {
  uint64_t seconds = 0;    // 0: no limit of this kind
  uint64_t kilobytes = 0;  // 1 kilobyte = 1024 bytes, as IOS counts
  uint64_t packets = 0;
};

enum class ExpiryKind : uint8_t { kNone, kSoft, kHard };

struct Expiry {
  ExpiryKind kind = ExpiryKind::kNone;
  v1::Expire::Reason reason = v1::Expire::REASON_UNSPECIFIED;
};

class SaLifetime {
 public:
  SaLifetime(LifetimeLimits soft, LifetimeLimits hard, uint32_t idle_seconds, absl::Time added);

  // Reports a hard expiry as soon as any hard limit (or the idle time) is
  // reached; otherwise a soft expiry, only the first time one is reached.
  Expiry Check(absl::Time now, uint64_t bytes, uint64_t packets, absl::Time last_used);

  // What `show crypto ipsec sa` prints as "remaining key lifetime (k/sec)".
  // A limit that is not set reads as the other one's or zero.
  uint64_t RemainingSeconds(absl::Time now) const;
  uint64_t RemainingKilobytes(uint64_t bytes) const;
  bool soft_expired() const { return soft_reported_; }

 private:
  static Expiry Reached(const LifetimeLimits& l, uint64_t age_s, uint64_t bytes,
                        uint64_t packets, ExpiryKind kind);

  LifetimeLimits soft_, hard_;
  uint32_t idle_seconds_;
  absl::Time added_;
  bool soft_reported_ = false;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SAD_LIFETIME_H_
