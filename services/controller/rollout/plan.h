// What a rollout would change on a device: its desired policy against what
// it reports it runs, as IOS lines (keys hidden). Lines are compared with
// their section ("crypto map FLEET 10: set peer 198.51.100.2"), so a line
// that moved from one entry to another shows as changed.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_PLAN_H_
#define VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_PLAN_H_

#include <optional>
#include <string>
#include <vector>

#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller {

// "- line" for what goes, "+ line" for what comes, in the order of each text.
std::vector<std::string> DiffPolicies(const vpnfleet::ike::v1::IkeConfig& current,
                                      const vpnfleet::ike::v1::IkeConfig& desired);

// A stable digest of a policy including its keys (SHA-256, hex): whether the
// device still runs what the controller last applied, secrets included.
std::string PolicyFingerprint(const vpnfleet::ike::v1::IkeConfig& config);

// `current`: what the device reports; `applied`: what the controller last
// applied there (if any). Keys changed since the last apply show up as a
// change even though the device cannot report them.
v1::DevicePlan PlanDevice(const std::string& device, uint64_t desired_revision,
                          const vpnfleet::ike::v1::IkeConfig& desired,
                          const vpnfleet::ike::v1::IkeConfig& current,
                          const std::optional<v1::AppliedPolicy>& applied);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_PLAN_H_
