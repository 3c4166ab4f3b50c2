#include "services/dataplane/spd/classifier.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/net/ip.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

void PrefixToMask(const net::IpPrefix& p, std::array<uint8_t, 16>* addr,
                  std::array<uint8_t, 16>* mask) {
  *addr = p.address.bytes;
  mask->fill(0);
  for (int bit = 0; bit < p.length; ++bit) (*mask)[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
}

bool Under(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& net,
           const std::array<uint8_t, 16>& mask, int octets) noexcept {
  uint8_t diff = 0;
  for (int i = 0; i < octets; ++i) diff |= static_cast<uint8_t>((a[i] ^ net[i]) & mask[i]);
  return diff == 0;
}

void Ports(const cv1::PortRange& r, uint16_t* lo, uint16_t* hi) {
  if (r.start() == 0 && r.end() == 0) {
    *lo = 0;
    *hi = 65535;
  } else {
    *lo = static_cast<uint16_t>(r.start());
    *hi = static_cast<uint16_t>(r.end());
  }
}

}  // namespace

bool CompiledSelector::Matches(const FlowKey& flow) const noexcept {
  if (flow.v6 != v6) return false;
  if (protocol != 0 && flow.protocol != protocol) return false;
  const int octets = v6 ? 16 : 4;
  if (!Under(flow.src, src, src_mask, octets) || !Under(flow.dst, dst, dst_mask, octets)) {
    return false;
  }
  return flow.src_port >= src_port_lo && flow.src_port <= src_port_hi &&
         flow.dst_port >= dst_port_lo && flow.dst_port <= dst_port_hi;
}

absl::StatusOr<CompiledSelector> CompileSelector(const cv1::TrafficSelector& sel) {
  auto src = net::ParsePrefix(sel.source());
  if (!src.ok()) return absl::InvalidArgumentError(absl::StrCat("source: ", src.status().message()));
  auto dst = net::ParsePrefix(sel.destination());
  if (!dst.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("destination: ", dst.status().message()));
  }
  if (src->address.family != dst->address.family) {
    return absl::InvalidArgumentError("source and destination are of different IP versions");
  }
  if (sel.protocol() > 255) return absl::InvalidArgumentError("protocol must be 0..255");
  for (const auto* r : {&sel.source_ports(), &sel.destination_ports()}) {
    // {0, 0} is "any port"; any other range must be start <= end <= 65535.
    const bool any = r->start() == 0 && r->end() == 0;
    if (!any && (r->end() > 65535 || r->start() > r->end())) {
      return absl::InvalidArgumentError("ports must be a range within 0..65535, start <= end");
    }
  }
  CompiledSelector c;
  c.v6 = src->address.family == net::Family::kV6;
  PrefixToMask(*src, &c.src, &c.src_mask);
  PrefixToMask(*dst, &c.dst, &c.dst_mask);
  c.protocol = static_cast<uint8_t>(sel.protocol());
  Ports(sel.source_ports(), &c.src_port_lo, &c.src_port_hi);
  Ports(sel.destination_ports(), &c.dst_port_lo, &c.dst_port_hi);
  return c;
}

absl::StatusOr<SpdSnapshot> SpdSnapshot::Build(const std::vector<v1::SpdPolicy>& policies,
                                               cv1::Direction direction) {
  SpdSnapshot snap;
  std::map<std::pair<std::string, uint32_t>, uint32_t> entries;
  for (const auto& p : policies) {
    if (p.direction() != direction) continue;
    auto sel = CompileSelector(p.selector());
    if (!sel.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy ", p.id(), ": selector ", sel.status().message()));
    }
    const auto key = std::make_pair(p.crypto_map(), p.crypto_map_sequence());
    const uint32_t entry = entries.emplace(key, static_cast<uint32_t>(entries.size() + 1)).first->second;
    snap.policies_.push_back({p.id(), p.action(), p.reqid(), p.per_host(), entry, *sel});
  }
  return snap;
}

const CompiledPolicy* SpdSnapshot::Match(const FlowKey& flow) const noexcept {
  uint32_t skipped = 0;  // entry numbers start at 1
  for (const auto& p : policies_) {
    if (p.entry == skipped || !p.selector.Matches(flow)) continue;
    if (p.action == v1::POLICY_ACTION_SKIP_ENTRY) {
      skipped = p.entry;
      continue;
    }
    return &p;
  }
  return nullptr;
}

}  // namespace vpnfleet::dataplane
