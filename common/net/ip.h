// IP addresses and prefixes as the APIs carry them (text), parsed and checked.
#ifndef VPNFLEET_COMMON_NET_IP_H_
#define VPNFLEET_COMMON_NET_IP_H_

#include "absl/strings/string_view.h"
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "vpnfleet/common/v1/types.pb.h"

namespace vpnfleet::net {

enum class Family { kV4, kV6 };

struct IpAddress {
  Family family = Family::kV4;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4

  int bit_length() const { return family == Family::kV4 ? 32 : 128; }
  std::string ToString() const;
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
};

struct IpPrefix {
  IpAddress address;
  int length = 0;
  std::string ToString() const;
  bool Contains(const IpAddress& a) const;
};

// "192.0.2.1" or "2001:db8::1"; nothing else (no hostnames, no zones).
absl::StatusOr<IpAddress> ParseAddress(absl::string_view text);

// Checks the API form of a prefix. Host bits must be zero: "10.1.0.1/24" is an
// error, because a crypto ACL that silently widens is a security bug.
absl::StatusOr<IpPrefix> ParsePrefix(const vpnfleet::common::v1::IpPrefix& p);

// "10.1.0.0/24" → prefix; a bare address is a host prefix.
absl::StatusOr<IpPrefix> ParseCidr(absl::string_view text);

}  // namespace vpnfleet::net

#endif  // VPNFLEET_COMMON_NET_IP_H_
