// A log line that hostile input can trigger (a flood of garbage, a peer
// retransmitting an exchange we refuse) goes through a RateLimit: a burst
// of lines, then one per interval, each saying how many were held back.
// Sans-I/O: the caller passes the time; one thread per limiter.
#ifndef VPNFLEET_COMMON_LOG_RATE_LIMIT_H_
#define VPNFLEET_COMMON_LOG_RATE_LIMIT_H_

#include <cstdint>

#include "absl/time/time.h"

namespace vpnfleet::log {

class RateLimit {
 public:
  RateLimit(absl::Duration interval, uint32_t burst) : interval_(interval), burst_(burst) {}

  // Whether a line may be written at `now`; when it may, `*suppressed`
  // holds the lines held back since the last one written (and restarts).
  bool Allow(absl::Time now, uint64_t* suppressed) {
    if (now - window_start_ >= interval_) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++held_;
      return false;
    }
    ++used_;
    *suppressed = held_;
    held_ = 0;
    return true;
  }

 private:
  absl::Duration interval_;
  uint32_t burst_;
  absl::Time window_start_ = absl::InfinitePast();
  uint32_t used_ = 0;
  uint64_t held_ = 0;
};

}  // namespace vpnfleet::log

#endif  // VPNFLEET_COMMON_LOG_RATE_LIMIT_H_
