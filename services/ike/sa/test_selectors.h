// Traffic selectors written as CIDR text ("10.1.0.0/16", "2001:db8::/32"),
// all protocols and ports: for tests.
#ifndef VPNFLEET_SERVICES_IKE_SA_TEST_SELECTORS_H_
#define VPNFLEET_SERVICES_IKE_SA_TEST_SELECTORS_H_

#include <cstdint>

#include "common/net/ip.h"
#include "services/ike/sa/traffic_selectors.h"
#include "vpnfleet/common/v1/types.pb.h"

namespace vpnfleet::ike {

inline v2::TrafficSelector Ts(const char* cidr) {
  auto p = net::ParseCidr(cidr);
  vpnfleet::common::v1::IpPrefix api;
  api.set_address(p->address.ToString());
  api.set_length(static_cast<uint32_t>(p->length));
  return *SelectorOf(api, 0, vpnfleet::common::v1::PortRange());
}

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_TEST_SELECTORS_H_
