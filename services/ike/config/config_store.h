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

  // Applies the whole new configuration, secrets included, before a change
  // is stored; an error refuses the change (the stored revision is applied
  // again and stays in force). Called one change at a time, never under the
  // lock readers take, so it may wait for the engine. This is how the IKE
  // engine learns its keys; nothing else sees them.
  // The current configuration is applied at once; its status is returned.
  using Listener = std::function<absl::Status(const vpnfleet::ike::v1::IkeConfig&)>;
  absl::Status SetListener(Listener listener);

 private:
  absl::StatusOr<EditResult> Commit(vpnfleet::ike::v1::IkeConfig candidate,
                                    uint64_t expected_revision, bool validate_only)
      /* requires apply_mu_ */;

  const Clock* clock_;
  std::mutex apply_mu_;    // held by a change from start to end
  mutable std::mutex mu_;  // readers; writers also hold it while they swap current_
  vpnfleet::ike::v1::IkeConfig current_;  // with secrets
  Listener listener_;
};


}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_STORE_H_
