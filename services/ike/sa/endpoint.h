// An IKE endpoint (address and UDP port) and the two ports IKE uses: what
// the socket layer and the state machine share, without either including
// the other.
#ifndef VPNFLEET_SERVICES_IKE_SA_ENDPOINT_H_
#define VPNFLEET_SERVICES_IKE_SA_ENDPOINT_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/net/ip.h"

namespace vpnfleet::ike {

inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kNatTPort = 4500;  // RFC 3948: IKE and ESP in UDP after NAT detection

struct Endpoint {
  net::IpAddress address;
  uint16_t port = kIkePort;
  std::string ToString() const { return absl::StrCat(address.ToString(), ":", port); }
  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.address == b.address && a.port == b.port;
  }
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_ENDPOINT_H_
