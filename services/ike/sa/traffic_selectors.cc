#include "services/ike/sa/traffic_selectors.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes/big_endian.h"
#include "common/net/ip.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;

std::string RawOf(const net::IpAddress& a) {
  return std::string(reinterpret_cast<const char*>(a.bytes.data()),
                     a.family == net::Family::kV4 ? 4 : 16);
}

std::string AddressText(const std::string& raw) {
  net::IpAddress a;
  a.family = raw.size() == 4 ? net::Family::kV4 : net::Family::kV6;
  std::copy(raw.begin(), raw.end(), a.bytes.begin());
  return a.ToString();
}

uint32_t V4(const std::string& raw) { return bytes::LoadBe32(raw.data()); }

std::string V4Raw(uint32_t v) {
  std::string s(4, '\0');
  bytes::StoreBe32(s.data(), v);
  return s;
}

// Unsigned big-endian comparison of equal-length strings.
bool Less(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(),
      [](char x, char y) { return static_cast<uint8_t>(x) < static_cast<uint8_t>(y); });
}

}  // namespace

absl::StatusOr<v2::TrafficSelector> SelectorOf(const cv1::IpPrefix& prefix, uint32_t protocol,
                                               const cv1::PortRange& ports) {
  auto p = net::ParsePrefix(prefix);
  if (!p.ok()) return p.status();
  v2::TrafficSelector ts;
  const bool v4 = p->address.family == net::Family::kV4;
  ts.ts_type = v4 ? v2::kTsIpv4AddrRange : v2::kTsIpv6AddrRange;
  ts.ip_protocol = static_cast<uint8_t>(protocol);
  if (ports.start() == 0 && ports.end() == 0) {
    ts.start_port = 0;
    ts.end_port = 65535;
  } else {
    ts.start_port = static_cast<uint16_t>(ports.start());
    ts.end_port = static_cast<uint16_t>(ports.end());
  }
  std::string start = RawOf(p->address);
  std::string end = start;
  const int bits = static_cast<int>(start.size()) * 8;
  for (int i = p->length; i < bits; ++i) {
    const size_t byte = static_cast<size_t>(i / 8);
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (i % 8));
    start[byte] = static_cast<char>(static_cast<uint8_t>(start[byte]) & ~mask);
    end[byte] = static_cast<char>(static_cast<uint8_t>(end[byte]) | mask);
  }
  ts.start_address = start;
  ts.end_address = end;
  return ts;
}

std::optional<v2::TrafficSelector> Intersect(const v2::TrafficSelector& a,
                                             const v2::TrafficSelector& b) {
  if (a.ts_type != b.ts_type || a.start_address.size() != b.start_address.size()) {
    return std::nullopt;
  }
  if (a.ip_protocol != 0 && b.ip_protocol != 0 && a.ip_protocol != b.ip_protocol) {
    return std::nullopt;
  }
  v2::TrafficSelector r;
  r.ts_type = a.ts_type;
  r.ip_protocol = a.ip_protocol != 0 ? a.ip_protocol : b.ip_protocol;
  r.start_port = std::max(a.start_port, b.start_port);
  r.end_port = std::min(a.end_port, b.end_port);
  r.start_address = Less(a.start_address, b.start_address) ? b.start_address : a.start_address;
  r.end_address = Less(a.end_address, b.end_address) ? a.end_address : b.end_address;
  // OPAQUE ports (start 65535, end 0) never intersect a range; fine for us.
  if (r.start_port > r.end_port || Less(r.end_address, r.start_address)) return std::nullopt;
  return r;
}

TsList Narrow(const TsList& proposed, const TsList& allowed) {
  TsList out;
  for (const v2::TrafficSelector& p : proposed) {
    for (const v2::TrafficSelector& a : allowed) {
      auto x = Intersect(p, a);
      if (x && std::find(out.begin(), out.end(), *x) == out.end()) out.push_back(*x);
    }
  }
  return out;
}

bool Covers(const TsList& outer, const TsList& inner) {
  for (const v2::TrafficSelector& i : inner) {
    bool inside = false;
    for (const v2::TrafficSelector& o : outer) {
      auto x = Intersect(i, o);
      if (x && *x == i) {
        inside = true;
        break;
      }
    }
    if (!inside) return false;
  }
  return true;
}

namespace {

// Splits [start, end] into aligned prefixes (at most 62 for IPv4).
std::vector<cv1::IpPrefix> V4Prefixes(uint32_t start, uint32_t end) {
  std::vector<cv1::IpPrefix> out;
  uint64_t s = start;
  const uint64_t e = end;
  while (s <= e) {
    int len = 32;
    while (len > 0) {
      const uint64_t size = uint64_t{1} << (32 - (len - 1));
      if ((s & (size - 1)) != 0 || s + size - 1 > e) break;
      --len;
    }
    cv1::IpPrefix p;
    p.set_address(AddressText(V4Raw(static_cast<uint32_t>(s))));
    p.set_length(static_cast<uint32_t>(len));
    out.push_back(p);
    s += uint64_t{1} << (32 - len);
  }
  return out;
}

std::vector<cv1::IpPrefix> PrefixesOf(const v2::TrafficSelector& ts) {
  if (ts.start_address.size() == 4) return V4Prefixes(V4(ts.start_address), V4(ts.end_address));
  // IPv6: the dataplane is IPv4-only; keep the covering prefix.
  int common = 0;
  while (common < 128) {
    const size_t byte = static_cast<size_t>(common / 8);
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (common % 8));
    if ((ts.start_address[byte] & mask) != (ts.end_address[byte] & mask)) break;
    ++common;
  }
  cv1::IpPrefix p;
  p.set_address(AddressText(ts.start_address));
  p.set_length(static_cast<uint32_t>(common));
  return {p};
}

}  // namespace

std::vector<cv1::TrafficSelector> SpdSelectorsOf(const TsList& local, const TsList& remote) {
  std::vector<cv1::TrafficSelector> out;
  for (const v2::TrafficSelector& l : local) {
    for (const v2::TrafficSelector& r : remote) {
      if (l.ts_type != r.ts_type) continue;
      if (l.ip_protocol != 0 && r.ip_protocol != 0 && l.ip_protocol != r.ip_protocol) continue;
      for (const cv1::IpPrefix& lp : PrefixesOf(l)) {
        for (const cv1::IpPrefix& rp : PrefixesOf(r)) {
          cv1::TrafficSelector s;
          *s.mutable_source() = lp;
          *s.mutable_destination() = rp;
          s.set_protocol(l.ip_protocol != 0 ? l.ip_protocol : r.ip_protocol);
          if (!(l.start_port == 0 && l.end_port == 65535)) {
            s.mutable_source_ports()->set_start(l.start_port);
            s.mutable_source_ports()->set_end(l.end_port);
          }
          if (!(r.start_port == 0 && r.end_port == 65535)) {
            s.mutable_destination_ports()->set_start(r.start_port);
            s.mutable_destination_ports()->set_end(r.end_port);
          }
          out.push_back(s);
        }
      }
    }
  }
  return out;
}

std::string ToString(const v2::TrafficSelector& ts) {
  if (ts.start_address.size() != 4 && ts.start_address.size() != 16) return "(invalid)";
  std::string s;
  auto prefixes = PrefixesOf(ts);
  if (prefixes.size() == 1) {
    s = absl::StrCat(prefixes[0].address(), "/", prefixes[0].length());
  } else {
    s = absl::StrCat(AddressText(ts.start_address), "-", AddressText(ts.end_address));
  }
  if (ts.ip_protocol != 0) absl::StrAppend(&s, "[", ts.ip_protocol);
  if (!(ts.start_port == 0 && ts.end_port == 65535)) {
    absl::StrAppend(&s, ts.ip_protocol != 0 ? "/" : "[any/", ts.start_port);
    if (ts.end_port != ts.start_port) absl::StrAppend(&s, "-", ts.end_port);
    absl::StrAppend(&s, "]");
  } else if (ts.ip_protocol != 0) {
    absl::StrAppend(&s, "]");
  }
  return s;
}

std::string ToString(const TsList& list) {
  std::vector<std::string> parts;
  for (const auto& ts : list) parts.push_back(ToString(ts));
  return absl::StrJoin(parts, " ");
}

v2::TrafficSelector HostSelector(const std::string& raw_address, uint8_t protocol, uint16_t port) {
  v2::TrafficSelector ts;
  ts.ts_type = raw_address.size() == 4 ? v2::kTsIpv4AddrRange : v2::kTsIpv6AddrRange;
  ts.ip_protocol = protocol;
  ts.start_port = port;
  ts.end_port = port == 0 ? 65535 : port;
  ts.start_address = raw_address;
  ts.end_address = raw_address;
  return ts;
}

}  // namespace vpnfleet::ike
