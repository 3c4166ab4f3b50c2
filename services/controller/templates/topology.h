// Who peers with whom under a template's topology, and what each side of a
// pair protects. The members are the devices with a data set of the
// template. For each member this gives its peers in a stable order, with the
// prefixes the pair's crypto ACL covers on each side:
//
//   hub-and-spoke: a spoke peers with each hub and reaches every other
//     member's prefixes through it (spoke-to-spoke traffic crosses the hub);
//     a hub peers with each spoke and covers, on its side, its own prefixes
//     and those of every member but that spoke. With summary prefixes, the
//     summary stands for all of those on both ends.
//   full mesh: every pair, each side its own prefixes.
//   pairs: the listed pairs, each side its own prefixes.
//
// Both ends of a pair get mirror-image selectors by construction.
#ifndef VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_TOPOLOGY_H_
#define VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_TOPOLOGY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {

struct PeerLink {
  const v1::Device* peer = nullptr;
  std::vector<vpnfleet::common::v1::IpPrefix> local;   // this device's side
  std::vector<vpnfleet::common::v1::IpPrefix> remote;  // the peer's side
};

// `members` by name. Errors name what is wrong (an unknown device in a
// pair, a hub-and-spoke without hubs).
// `hubs` (optional): the members with the hub role, found once by a caller
// that asks for every member, so a spoke's peers cost the hubs, not the fleet.
absl::StatusOr<std::vector<PeerLink>> PeersOf(const v1::Topology& topology,
                                              const std::string& device,
                                              const std::map<std::string, const v1::Device*>& members,
                                              const std::vector<const v1::Device*>* hubs = nullptr);

std::vector<const v1::Device*> HubsOf(const v1::Topology& topology,
                                      const std::map<std::string, const v1::Device*>& members);

std::string HubRole(const v1::Topology& topology);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_TOPOLOGY_H_
