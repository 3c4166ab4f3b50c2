#include "services/dataplane/forwarder/tables.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/net/ip.h"
#include "services/dataplane/packet/esp_format.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {
namespace cv1 = vpnfleet::common::v1;

namespace {

absl::StatusOr<uint32_t> Ipv4HostOrder(const std::string& text, absl::string_view field) {
  auto a = net::ParseAddress(text);
  if (!a.ok() || a->family != net::Family::kV4) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": the forwarder carries IPv4 outer addresses only, got '", text, "'"));
  }
  const auto& b = a->bytes;
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

uint32_t SaEntry::Overhead(uint32_t inner_size) const noexcept {
  const EspLayout& l = runtime->transform->layout();
  return static_cast<uint32_t>(kIpv4HeaderSize + (udp ? 8 : 0) + kEspHeaderSize + l.iv_size +
                               PaddingFor(inner_size, l.block_size) + 2 + l.icv_size);
}

bool SaEntry::SelectorsMatch(const FlowKey& flow) const noexcept {
  if (selectors.empty()) return true;
  for (const auto& s : selectors) {
    if (s.Matches(flow)) return true;
  }
  return false;
}

absl::StatusOr<std::shared_ptr<const ForwardingTables>> ForwardingTables::Build(
    const std::vector<v1::SpdPolicy>& policies, const std::vector<InstalledSa>& sas,
    uint32_t workers) {
  auto t = std::make_shared<ForwardingTables>();
  auto out = SpdSnapshot::Build(policies, cv1::DIRECTION_OUTBOUND);
  if (!out.ok()) return out.status();
  auto in = SpdSnapshot::Build(policies, cv1::DIRECTION_INBOUND);
  if (!in.ok()) return in.status();
  t->outbound_spd_ = *std::move(out);
  t->inbound_spd_ = *std::move(in);
  if (workers == 0) workers = 1;

  for (const InstalledSa& installed : sas) {
    const v1::SecurityAssociation& sa = installed.sa;
    if (sa.key().protocol() != cv1::IPSEC_PROTOCOL_ESP) continue;  // AH: not forwarded yet
    auto e = std::make_unique<SaEntry>();
    e->runtime = installed.runtime;
    e->key = sa.key();
    e->reqid = sa.reqid();
    e->tunnel = sa.mode() != cv1::IPSEC_MODE_TRANSPORT;
    if (e->tunnel) {
      auto src = Ipv4HostOrder(sa.tunnel_source(), "tunnel_source");
      if (!src.ok()) return src.status();
      auto dst = Ipv4HostOrder(sa.tunnel_destination(), "tunnel_destination");
      if (!dst.ok()) return dst.status();
      e->tunnel_src = *src;
      e->tunnel_dst = *dst;
    }
    auto key_dst = Ipv4HostOrder(sa.key().destination(), "key.destination");
    if (!key_dst.ok()) return key_dst.status();
    e->key_dst = *key_dst;
    if (!e->tunnel) e->tunnel_dst = *key_dst;
    e->udp = sa.udp_encapsulation().destination_port() != 0;
    e->udp_src_port = static_cast<uint16_t>(sa.udp_encapsulation().source_port());
    e->udp_dst_port = static_cast<uint16_t>(sa.udp_encapsulation().destination_port());
    e->copy_dscp = sa.copy_dscp();
    for (const auto& sel : sa.selectors()) {
      auto c = CompileSelector(sel);
      if (!c.ok()) return c.status();
      e->selectors.push_back(*c);
    }
    e->owner = (sa.key().spi() * 2654435761u) % workers;
    if (sa.direction() == cv1::DIRECTION_OUTBOUND) {
      t->outbound_by_reqid_[e->reqid].push_back(e.get());
    } else {
      t->inbound_by_spi_[e->key.spi()] = e.get();
    }
    t->entries_.push_back(std::move(e));
  }
  // `sas` comes oldest first; the newest SA of a reqid goes first.
  for (auto& [reqid, list] : t->outbound_by_reqid_) std::reverse(list.begin(), list.end());
  return std::shared_ptr<const ForwardingTables>(std::move(t));
}

const SaEntry* ForwardingTables::OutboundFor(const CompiledPolicy& policy,
                                             const FlowKey& flow) const noexcept {
  auto it = outbound_by_reqid_.find(policy.reqid);
  if (it == outbound_by_reqid_.end()) return nullptr;
  for (const SaEntry* e : it->second) {
    if (!policy.per_host || e->SelectorsMatch(flow)) return e;
  }
  return nullptr;
}

const SaEntry* ForwardingTables::Inbound(uint32_t spi) const noexcept {
  auto it = inbound_by_spi_.find(spi);
  return it == inbound_by_spi_.end() ? nullptr : it->second;
}

}  // namespace vpnfleet::dataplane
