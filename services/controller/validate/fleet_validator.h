// Checks a fleet's desired policies as a whole before anything is pushed:
// for every tunnel a static crypto map entry asks for, the peer is a device
// of the fleet and answers it (a static entry back or a dynamic map), the
// two crypto ACLs are mirror images (or the dynamic side's covers the other),
// the two share an ISAKMP policy and a transform set, and the credentials
// that policy needs (a key for the peer, a trustpoint) are there. Across the
// fleet, no two devices claim overlapping inner prefixes. Inside each policy,
// every reference resolves. Legacy algorithms are warnings.
//
// Every finding names the device, the entry and the field.
#ifndef VPNFLEET_SERVICES_CONTROLLER_VALIDATE_FLEET_VALIDATOR_H_
#define VPNFLEET_SERVICES_CONTROLLER_VALIDATE_FLEET_VALIDATOR_H_

#include <map>
#include <string>
#include <vector>

#include "services/controller/model/inventory.h"
#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller {

// `policies`: the desired policy of each device that has one.
std::vector<v1::Diagnostic> ValidateFleet(
    const Snapshot& snapshot, const std::map<std::string, const vpnfleet::ike::v1::IkeConfig*>& policies);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_VALIDATE_FLEET_VALIDATOR_H_
