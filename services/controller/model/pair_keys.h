// The pre-shared key of each device pair of a pre-shared-key topology:
// generated on first use (192 random bits, base64url, which IOS takes as a
// key), sealed with the SecretBox and kept in the store, the same for both
// ends. New keys are held until Flush, which stores them all in one commit
// (one fsync for a 10,000-spoke hub, not 10,000); callers flush before any
// key leaves the controller.
#ifndef VPNFLEET_SERVICES_CONTROLLER_MODEL_PAIR_KEYS_H_
#define VPNFLEET_SERVICES_CONTROLLER_MODEL_PAIR_KEYS_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/random/rng.h"
#include "services/controller/store/secret_box.h"
#include "services/controller/store/store.h"

namespace vpnfleet::controller {

class PairKeys {
 public:
  static constexpr char kKind[] = "pair-key";

  PairKeys(Store* store, const SecretBox* box, Rng* rng, const Clock* clock);
  ~PairKeys();

  absl::StatusOr<std::string> Get(const std::string& a, const std::string& b);
  // Stores the keys made since the last flush; on failure they are dropped
  // (the next Get makes new ones).
  absl::Status Flush();
  absl::Status ForgetDevice(const std::string& device);

 private:
  Store* store_;
  const SecretBox* box_;
  Rng* rng_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, std::string> cache_;  // "a|b" → key
  std::vector<std::string> pending_;          // names made since Flush
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_MODEL_PAIR_KEYS_H_
