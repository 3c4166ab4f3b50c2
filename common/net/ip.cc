#include "absl/strings/string_view.h"
#include "common/net/ip.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::net {

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::kV4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string IpPrefix::ToString() const {
  return absl::StrCat(address.ToString(), "/", length);
}

bool IpPrefix::Contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  int full = length / 8;
  for (int i = 0; i < full; ++i) {
    if (a.bytes[i] != address.bytes[i]) return false;
  }
  int rest = length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.bytes[full] & mask) == (address.bytes[full] & mask);
}

absl::StatusOr<IpAddress> ParseAddress(absl::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV6;
    return a;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not an IPv4 or IPv6 address"));
}

absl::StatusOr<IpPrefix> ParsePrefix(const vpnfleet::common::v1::IpPrefix& p) {
  auto addr = ParseAddress(p.address());
  if (!addr.ok()) return addr.status();
  IpPrefix prefix{*addr, static_cast<int>(p.length())};
  if (p.length() > static_cast<uint32_t>(addr->bit_length())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prefix length ", p.length(), " is longer than ", addr->bit_length()));
  }
  IpPrefix masked = prefix;
  for (int bit = prefix.length; bit < addr->bit_length(); ++bit) {
    masked.address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  if (!(masked.address == prefix.address)) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix.ToString(), " has host bits set; did you mean ",
                     masked.ToString(), "?"));
  }
  return prefix;
}

absl::StatusOr<IpPrefix> ParseCidr(absl::string_view text) {
  vpnfleet::common::v1::IpPrefix p;
  size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    auto addr = ParseAddress(text);
    if (!addr.ok()) return addr.status();
    return IpPrefix{*addr, addr->bit_length()};
  }
  uint32_t len = 0;
  if (!absl::SimpleAtoi(text.substr(slash + 1), &len)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' has no valid prefix length"));
  }
  p.set_address(std::string(text.substr(0, slash)));
  p.set_length(len);
  return ParsePrefix(p);
}

}  // namespace vpnfleet::net
