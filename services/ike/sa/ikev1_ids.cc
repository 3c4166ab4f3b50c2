#include "services/ike/sa/ikev1_ids.h"

#include "absl/status/status.h"

namespace vpnfleet::ike::ikev1 {
namespace {

// The prefix length of a mask, or -1 when it is not contiguous.
int PrefixLength(absl::string_view mask) {
  int bits = 0;
  bool ended = false;
  for (char c : mask) {
    for (int b = 7; b >= 0; --b) {
      const bool set = (static_cast<uint8_t>(c) >> b) & 1;
      if (set && ended) return -1;
      if (set) ++bits; else ended = true;
    }
  }
  return bits;
}

std::string MaskOf(size_t octets, int bits) {
  std::string m(octets, '\0');
  for (int i = 0; i < bits; ++i) m[i / 8] = static_cast<char>(m[i / 8] | (0x80 >> (i % 8)));
  return m;
}

// The prefix length when [start, end] is exactly one prefix, else -1.
int RangePrefix(const std::string& start, const std::string& end) {
  const int width = static_cast<int>(start.size()) * 8;
  for (int bits = 0; bits <= width; ++bits) {
    const std::string mask = MaskOf(start.size(), bits);
    bool ok = true;
    for (size_t i = 0; i < start.size() && ok; ++i) {
      const uint8_t m = static_cast<uint8_t>(mask[i]);
      ok = (static_cast<uint8_t>(start[i]) & ~m) == 0 &&
           static_cast<uint8_t>(end[i] | m) == 0xff &&
           (static_cast<uint8_t>(start[i]) & m) == (static_cast<uint8_t>(end[i]) & m);
    }
    if (ok) return bits;
  }
  return -1;
}

}  // namespace

isakmp::IdPayload Phase1Id(const v2::IdPayload& id) {
  isakmp::IdPayload out;
  out.id_type = id.id_type;  // IKEv1 and IKEv2 share these type numbers
  out.data = id.data;
  return out;
}

v2::IdPayload Phase1IdOf(const isakmp::IdPayload& id) {
  v2::IdPayload out;
  out.id_type = id.id_type;
  out.data = id.data;
  return out;
}

isakmp::IdPayload ProxyIdOf(const v2::TrafficSelector& ts) {
  isakmp::IdPayload id;
  const bool v4 = ts.start_address.size() == 4;
  id.protocol = ts.ip_protocol;
  id.port = ts.start_port == ts.end_port ? ts.start_port : 0;
  if (ts.start_address == ts.end_address) {
    id.id_type = v4 ? isakmp::kIdIpv4 : isakmp::kIdIpv6;
    id.data = ts.start_address;
    return id;
  }
  const int bits = RangePrefix(ts.start_address, ts.end_address);
  if (bits >= 0) {
    id.id_type = v4 ? isakmp::kIdIpv4Subnet : isakmp::kIdIpv6Subnet;
    id.data = ts.start_address + MaskOf(ts.start_address.size(), bits);
  } else {
    id.id_type = v4 ? isakmp::kIdIpv4Range : isakmp::kIdIpv6Range;
    id.data = ts.start_address + ts.end_address;
  }
  return id;
}

absl::StatusOr<v2::TrafficSelector> SelectorOfProxyId(const isakmp::IdPayload& id) {
  v2::TrafficSelector ts;
  ts.ip_protocol = id.protocol;
  ts.start_port = id.port;
  ts.end_port = id.port == 0 ? 65535 : id.port;
  size_t octets = 0;
  switch (id.id_type) {
    case isakmp::kIdIpv4:
    case isakmp::kIdIpv4Subnet:
    case isakmp::kIdIpv4Range: octets = 4; ts.ts_type = v2::kTsIpv4AddrRange; break;
    case isakmp::kIdIpv6:
    case isakmp::kIdIpv6Subnet:
    case isakmp::kIdIpv6Range: octets = 16; ts.ts_type = v2::kTsIpv6AddrRange; break;
    default:
      return absl::InvalidArgumentError("proxy identity is no address, subnet or range");
  }
  const bool single = id.id_type == isakmp::kIdIpv4 || id.id_type == isakmp::kIdIpv6;
  if (id.data.size() != (single ? octets : 2 * octets)) {
    return absl::InvalidArgumentError("proxy identity of the wrong length");
  }
  ts.start_address = id.data.substr(0, octets);
  if (single) {
    ts.end_address = ts.start_address;
  } else if (id.id_type == isakmp::kIdIpv4Range || id.id_type == isakmp::kIdIpv6Range) {
    ts.end_address = id.data.substr(octets);
    if (ts.end_address < ts.start_address) {
      return absl::InvalidArgumentError("proxy identity range ends before it starts");
    }
  } else {
    const std::string mask = id.data.substr(octets);
    if (PrefixLength(mask) < 0) return absl::InvalidArgumentError("proxy identity mask has holes");
    ts.end_address = ts.start_address;
    for (size_t i = 0; i < octets; ++i) {
      ts.start_address[i] = static_cast<char>(ts.start_address[i] & mask[i]);
      ts.end_address[i] = static_cast<char>(ts.start_address[i] | ~mask[i]);
    }
  }
  return ts;
}

}  // namespace vpnfleet::ike::ikev1
