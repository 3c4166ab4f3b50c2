// The IKE daemon's configuration: one versioned document, edited atomically.
// Every change is validated as a whole before it replaces the current
// configuration; a rejected change leaves the current one untouched.
//
// Secrets stay inside the store: Get() returns the configuration with keys
// removed and `*_set` flags raised. An edit that carries such a redacted
// object back (key empty, key_set true) keeps the key already stored, so a
// read-modify-write round trip does not need the secrets.
#ifndef VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_STORE_H_
#define VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_STORE_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

struct EditResult {
  uint64_t revision = 0;
  int64_t changed_unix_seconds = 0;
  std::vector<std::string> warnings;
};

class ConfigStore {
 public:
  explicit ConfigStore(const Clock* clock);
  ~ConfigStore();

  // The current configuration, secrets removed.
  vpnfleet::ike::v1::IkeConfig Get() const;

  // Applies `edits` in order, as one change. `expected_revision` 0 = any.
  absl::StatusOr<EditResult> Edit(
      const google::protobuf::RepeatedPtrField<vpnfleet::ike::v1::ConfigEdit>& edits,
      uint64_t expected_revision, bool validate_only);

  // Replaces the whole configuration (its revision field is ignored).
  absl::StatusOr<EditResult> Replace(const vpnfleet::ike::v1::IkeConfig& config,
                                     uint64_t expected_revision, bool validate_only);

  uint64_t revision() const;

  // Called with the whole new configuration, secrets included, after every
  // change that took (under the store's lock: copy and return quickly).
  // This is how the IKE engine learns its keys; nothing else sees them.
  void SetListener(std::function<void(const vpnfleet::ike::v1::IkeConfig&)> listener);

 private:
  absl::StatusOr<EditResult> Commit(vpnfleet::ike::v1::IkeConfig candidate,
                                    uint64_t expected_revision, bool validate_only)
      /* requires mu_ */;

  const Clock* clock_;
  mutable std::mutex mu_;
  vpnfleet::ike::v1::IkeConfig current_;  // with secrets
  std::function<void(const vpnfleet::ike::v1::IkeConfig&)> listener_;
};


}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_STORE_H_
