// Traffic selectors (RFC 7296 §3.13): made from crypto ACL lines, narrowed
// by a responder (§2.9), checked by an initiator, and turned back into the
// prefixes the dataplane's SPD and `show crypto ipsec sa` speak.
#ifndef VPNFLEET_SERVICES_IKE_SA_TRAFFIC_SELECTORS_H_
#define VPNFLEET_SERVICES_IKE_SA_TRAFFIC_SELECTORS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ike/codec/ikev2_message.h"
#include "vpnfleet/common/v1/types.pb.h"

namespace vpnfleet::ike {

using TsList = std::vector<v2::TrafficSelector>;

// One side of an ACL line (prefix, protocol, ports) as a range selector.
absl::StatusOr<v2::TrafficSelector> SelectorOf(const vpnfleet::common::v1::IpPrefix& prefix,
                                               uint32_t protocol,
                                               const vpnfleet::common::v1::PortRange& ports);

// The part of `a` also in `b`, if any.
std::optional<v2::TrafficSelector> Intersect(const v2::TrafficSelector& a,
                                             const v2::TrafficSelector& b);

// §2.9: every proposed selector cut down to what `allowed` permits; empty
// when nothing is left (TS_UNACCEPTABLE).
TsList Narrow(const TsList& proposed, const TsList& allowed);

// Whether every selector of `inner` lies inside some selector of `outer`.
bool Covers(const TsList& outer, const TsList& inner);

// The selectors as the smallest set of address prefixes (IPv4 ranges that
// are not a prefix are split), with protocol and ports, for the SPD.
std::vector<vpnfleet::common::v1::TrafficSelector> SpdSelectorsOf(const TsList& local,
                                                                  const TsList& remote);

std::string ToString(const v2::TrafficSelector& ts);
std::string ToString(const TsList& list);

// A host selector (address, any protocol and port): a packet's flow.
v2::TrafficSelector HostSelector(const std::string& raw_address, uint8_t protocol = 0,
                                 uint16_t port = 0);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_TRAFFIC_SELECTORS_H_
