// The Security Policy Database as configured through the API: ordered
// policies per direction with crypto-ACL semantics (lowest priority first,
// first match wins; RFC 4301 §4.4.1). Matching on packets is the forwarder's;
// this table owns the ordered, validated list and the policy ids.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SPD_POLICY_TABLE_H_
#define VPNFLEET_SERVICES_DATAPLANE_SPD_POLICY_TABLE_H_

#include <cstdint>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::dataplane {

absl::Status ValidatePolicy(const v1::SpdPolicy& policy);

class PolicyTable {
 public:
  // Returns the id assigned to the new policy.
  absl::StatusOr<uint64_t> Add(v1::SpdPolicy policy);
  absl::Status Delete(uint64_t id);
  // In evaluation order: by direction, then priority, then insertion.
  std::vector<v1::SpdPolicy> List(vpnfleet::common::v1::Direction direction) const;
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<v1::SpdPolicy> policies_;  // kept sorted
  uint64_t next_id_ = 1;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SPD_POLICY_TABLE_H_
