#include "services/dataplane/forwarder/tables.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/net/ip.h"
#include "services/dataplane/packet/ah_format.h"
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
  uint32_t n = kIpv4HeaderSize;
  if (ah) return n + static_cast<uint32_t>(AhSize(runtime->ah->icv_size()));
  const EspLayout& l = runtime->transform->layout();
  n += static_cast<uint32_t>((udp ? 8 : 0) + kEspHeaderSize + l.iv_size +
                             PaddingFor(inner_size, l.block_size) + 2 + l.icv_size);
  if (ah_outer != nullptr) n += static_cast<uint32_t>(AhSize(ah_outer->runtime->ah->icv_size()));
  return n;
}

uint32_t SaEntry::MaxInner(uint32_t outer_mtu) const noexcept {
  const uint32_t fixed = Overhead(0) - (ah ? 0 : static_cast<uint32_t>(PaddingFor(
                                                      0, runtime->transform->layout().block_size)));
  if (outer_mtu <= fixed + 2) return 0;
  if (ah) return outer_mtu - fixed;
  // ESP pads payload + 2 up to the alignment (RFC 4303 §2.4).
  const uint32_t block = runtime->transform->layout().block_size;
  const uint32_t align = block > 4 ? block : 4;
  return (outer_mtu - fixed + 2) / align * align - 2;
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
    if (!installed.runtime) continue;
    auto e = std::make_unique<SaEntry>();
    e->runtime = installed.runtime;
    e->key = sa.key();
    e->ah = sa.key().protocol() == cv1::IPSEC_PROTOCOL_AH;
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
    e->owner = installed.runtime->owner % workers;
    if (sa.direction() == cv1::DIRECTION_INBOUND) {
      (e->ah ? t->inbound_ah_ : t->inbound_esp_)[e->key.spi()] = e.get();
    }
    t->entries_.push_back(std::move(e));
  }
  // Bundles: an outbound ESP SA gets the newest AH SA of its reqid and
  // destination on top (never with UDP encapsulation: RFC 3948 is ESP
  // only); the reqid's list then holds the ESP SAs, or the AH SAs when
  // there is no ESP. `sas` comes oldest first; the newest goes first.
  for (auto it = t->entries_.rbegin(); it != t->entries_.rend(); ++it) {
    SaEntry* e = it->get();
    const bool outbound = !e->runtime->inbound;
    for (const auto& other : t->entries_) {
      if (!other->ah || e->ah || other->runtime->inbound != e->runtime->inbound ||
          other->reqid != e->reqid || other->key.destination() != e->key.destination() ||
          other->owner != e->owner || e->udp) {
        continue;
      }
      if (outbound) {
        e->ah_outer = other.get();  // entries_ is oldest first: the newest wins
      } else {
        e->needs_ah = true;
      }
    }
  }
  for (auto it = t->entries_.rbegin(); it != t->entries_.rend(); ++it) {
    SaEntry* e = it->get();
    if (e->runtime->inbound) continue;
    std::vector<const SaEntry*>& list = t->outbound_by_reqid_[e->reqid];
    if (!e->ah) {
      list.erase(std::remove_if(list.begin(), list.end(), [](const SaEntry* x) { return x->ah; }),
                 list.end());
      list.push_back(e);
    } else if (list.empty() || list.front()->ah) {
      list.push_back(e);
    }
  }
  return std::shared_ptr<const ForwardingTables>(std::move(t));
}

const SaEntry* ForwardingTables::OutboundFor(const CompiledPolicy& policy,
                                             const FlowKey& flow) const noexcept {
  auto it = outbound_by_reqid_.find(policy.reqid);
  if (it == outbound_by_reqid_.end()) return nullptr;
  // Newest first: the newest SA whose negotiated selectors cover the flow
  // (a peer may narrow one ACL line into several CHILD SAs); without
  // per-host level, else the newest of the bundle.
  for (const SaEntry* e : it->second) {
    if (e->SelectorsMatch(flow)) return e;
  }
  return policy.per_host || it->second.empty() ? nullptr : it->second.front();
}

const SaEntry* ForwardingTables::Inbound(uint32_t spi, uint8_t protocol) const noexcept {
  const auto& map = protocol == kProtoAh ? inbound_ah_ : inbound_esp_;
  auto it = map.find(spi);
  return it == map.end() ? nullptr : it->second;
}

}  // namespace vpnfleet::dataplane
