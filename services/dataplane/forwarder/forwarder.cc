#include "services/dataplane/forwarder/forwarder.h"

#include <cstring>

#include "services/dataplane/nodes/ah_nodes.h"
#include "services/dataplane/packet/ah_format.h"
#include "services/dataplane/packet/byte_order.h"
#include "services/dataplane/packet/esp_format.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {

const char* ForwardDropName(ForwardDrop d) {
  switch (d) {
    case ForwardDrop::kBadInner: return "bad_inner";
    case ForwardDrop::kNoSa: return "no_sa";
    case ForwardDrop::kPolicyDiscard: return "policy_discard";
    case ForwardDrop::kClearOnProtected: return "clear_on_protected";
    case ForwardDrop::kUnknownSpi: return "unknown_spi";
    case ForwardDrop::kSelectorMismatch: return "selector_mismatch";
    case ForwardDrop::kFragNeeded: return "frag_needed";
    case ForwardDrop::kNotEsp: return "not_esp";
    case ForwardDrop::kSaDrop: return "sa_drop";
    case ForwardDrop::kHandoffFull: return "handoff_full";
    case ForwardDrop::kSendError: return "send_error";
    case ForwardDrop::kBundleMismatch: return "bundle_mismatch";
    case ForwardDrop::kOversize: return "oversize";
    case ForwardDrop::kBadOffload: return "bad_offload";
    case ForwardDrop::kSocketOverflow: return "socket_overflow";
    case ForwardDrop::kCount: break;
  }
  return "unknown";
}

void ForwarderTotals::Add(const ForwarderCounters& c) {
  for (size_t r = 0; r < drops.size(); ++r) drops[r] += c.drops[r].load();
  inner_rx += c.inner_rx;
  inner_tx += c.inner_tx;
  udp_rx += c.udp_rx;
  udp_tx += c.udp_tx;
  raw_rx += c.raw_rx;
  raw_tx += c.raw_tx;
  acquires += c.acquires;
  unknown_spi_events += c.unknown_spi_events;
  tun_gso_rx += c.tun_gso_rx;
  tun_gro_tx += c.tun_gro_tx;
  udp_gso_tx += c.udp_gso_tx;
  udp_gro_rx += c.udp_gro_rx;
  for (size_t b = 0; b < frame_sizes.size(); ++b) frame_sizes[b] += c.frame_sizes[b].load();
  frame_packets += c.frame_packets;
}

Forwarder::Forwarder(ForwarderOptions options, ForwarderCounters* counters)
    : options_(options), counters_(counters) {}

void Forwarder::Drop(Packet& p, ForwardDrop d) noexcept {
  p.dropped = true;
  ++counters_->drops[static_cast<size_t>(d)];
}

bool Forwarder::RateLimited(uint64_t key, int64_t now_ns) noexcept {
  const size_t slot = (key * 0x9E3779B97F4A7C15ull) >> 56;
  if (limiter_keys_[slot] == key && limiter_times_[slot] != 0 &&
      now_ns - limiter_times_[slot] < options_.event_interval_ns) {
    return true;
  }
  limiter_keys_[slot] = key;
  limiter_times_[slot] = now_ns;
  return false;
}

void Forwarder::CountFrame(size_t n) noexcept {
  if (n == 0) return;
  size_t bucket = 0;
  while (bucket + 1 < ForwarderCounters::kFrameBuckets && (size_t{1} << bucket) < n) ++bucket;
  ++counters_->frame_sizes[bucket];
  counters_->frame_packets += n;
}

void Forwarder::SendFragNeeded(Packet& p, const SaEntry& sa, PacketSink& sink) noexcept {
  uint32_t mtu = sa.MaxInner(options_.outer_mtu);
  if (!sa.tunnel) mtu += kIpv4HeaderSize;
  if (mtu < 68) mtu = 68;
  uint8_t icmp[128];
  // From the far tunnel endpoint: our own addresses would be a martian
  // source to the kernel that forwards the ICMP to the sender.
  const size_t n = BuildFragNeeded(p.data(), p.len, sa.tunnel_dst, static_cast<uint16_t>(mtu),
                                   icmp);
  std::memcpy(p.data(), icmp, n);
  p.len = static_cast<uint32_t>(n);
  ++counters_->drops[static_cast<size_t>(ForwardDrop::kFragNeeded)];
  ++counters_->icmp_sent;
  sink.ToInner(p);
  p.dropped = true;  // the original is gone
}

void Forwarder::FlushEncrypt(Frame& batch, const SaEntry* sa, uint8_t next_header,
                             PacketSink& sink) noexcept {
  if (batch.size == 0) return;
  // Where the packets go; in transport mode the source stays the packet's.
  for (size_t i = 0; i < batch.size; ++i) {
    Packet& p = *batch.packets[i];
    p.outer_dst = sa->tunnel_dst;
    if (sa->tunnel) p.outer_src = sa->tunnel_src;
  }
  const SaEntry* ah = sa->ah ? sa : sa->ah_outer;
  if (!sa->ah) {
    EspEncrypt(*sa->runtime, batch, next_header);
    next_header = kProtoEsp;
  }
  if (ah != nullptr) AhProtect(*ah->runtime, batch, next_header);
  for (size_t i = 0; i < batch.size; ++i) {
    Packet& p = *batch.packets[i];
    if (p.dropped) {
      ++counters_->drops[static_cast<size_t>(ForwardDrop::kSaDrop)];
      continue;
    }
    p.outer_proto = ah != nullptr ? kProtoAh : kProtoEsp;
    const bool udp = ah == nullptr && sa->udp;
    p.outer_sport = udp ? sa->udp_src_port : 0;
    p.outer_dport = udp ? sa->udp_dst_port : 0;
    sink.ToOuter(p);
  }
  batch.size = 0;
}

void Forwarder::FromInner(const ForwardingTables& t, Frame& frame, int64_t now_ns,
                          PacketSink& sink) noexcept {
  CountFrame(frame.size);
  counters_->inner_rx += frame.size;
  const SaEntry* current = nullptr;
  batch_.size = 0;
  for (size_t i = 0; i < frame.size; ++i) {
    Packet& p = *frame.packets[i];
    if (p.dropped) continue;
    Ipv4Info info;
    FlowKey flow;
    if (ParseIpv4(p.data(), p.len, &info, &flow) != Ipv4Error::kOk) {
      Drop(p, ForwardDrop::kBadInner);
      continue;
    }
    p.len = info.total_size;
    const CompiledPolicy* policy = t.outbound_spd().Match(flow);
    if (policy == nullptr) {
      // Not ours to protect. If it is cleartext that should have come
      // protected (an inbound PROTECT policy covers it), it is dropped.
      const CompiledPolicy* in = t.inbound_spd().Match(flow);
      if (in != nullptr && in->action == v1::POLICY_ACTION_PROTECT) {
        Drop(p, ForwardDrop::kClearOnProtected);
      } else if (in != nullptr && in->action == v1::POLICY_ACTION_DISCARD) {
        Drop(p, ForwardDrop::kPolicyDiscard);
      } else {
        sink.ToInner(p);
      }
      continue;
    }
    if (policy->action == v1::POLICY_ACTION_DISCARD) {
      Drop(p, ForwardDrop::kPolicyDiscard);
      continue;
    }
    if (policy->action != v1::POLICY_ACTION_PROTECT) {  // BYPASS
      sink.ToInner(p);
      continue;
    }
    const SaEntry* sa = t.OutboundFor(*policy, flow);
    if (sa == nullptr) {
      // Per-host level: each host pair is its own SA pair, so its own
      // acquire; otherwise one per policy and interval.
      uint64_t key = policy->id;
      if (policy->per_host) {
        for (size_t i = 0; i < (flow.v6 ? 16 : 4); ++i) {
          key = key * 1099511628211ull ^ flow.src[i];
          key = key * 1099511628211ull ^ flow.dst[i];
        }
      }
      if (!RateLimited(key, now_ns)) {
        ForwarderEvent e;
        e.kind = ForwarderEvent::Kind::kAcquire;
        e.policy_id = policy->id;
        e.reqid = policy->reqid;
        e.flow = flow;
        e.unix_nanos = now_ns;
        ++counters_->acquires;
        sink.Emit(e);
      }
      Drop(p, ForwardDrop::kNoSa);
      continue;
    }
    if (sa->owner != options_.worker) {
      ++counters_->handoffs;
      sink.Handoff(sa->owner, p, true);
      continue;
    }
    const uint32_t payload = sa->tunnel ? info.total_size : info.total_size - info.header_size;
    if (payload > sa->MaxInner(options_.outer_mtu) && info.dont_fragment) {
      SendFragNeeded(p, *sa, sink);
      continue;
    }
    sa->runtime->last_used_ns.store(now_ns, std::memory_order_relaxed);
    if (sa->ah_outer != nullptr) {
      sa->ah_outer->runtime->last_used_ns.store(now_ns, std::memory_order_relaxed);
    }
    if (!sa->tunnel) {
      // Transport mode: ESP goes between the IP header and its payload; the
      // kernel writes the outer header from these addresses.
      FlushEncrypt(batch_, current, 4, sink);
      current = nullptr;
      p.outer_src = info.src;
      p.outer_tos = sa->copy_dscp ? (info.tos & 0xfc) : 0;
      p.offset += info.header_size;
      p.len -= info.header_size;
      batch_.packets[0] = &p;
      batch_.size = 1;
      FlushEncrypt(batch_, sa, info.protocol, sink);
      continue;
    }
    if (sa != current) {
      FlushEncrypt(batch_, current, kProtoIpInIp, sink);
      current = sa;
    }
    p.outer_tos = sa->copy_dscp ? (info.tos & 0xfc) : 0;
    batch_.packets[batch_.size++] = &p;
  }
  FlushEncrypt(batch_, current, kProtoIpInIp, sink);
}

void Forwarder::Deliver(Packet& p, const SaEntry& sa, uint8_t nh, PacketSink& sink) noexcept {
  if (sa.tunnel) {
    if (nh != kProtoIpInIp) {
      Drop(p, ForwardDrop::kBadInner);
      return;
    }
  } else {
    // Transport mode: the IP header is the outer one, with the payload's
    // protocol (RFC 4303 §3.1.1, RFC 4302 §3.1.1). The buffer has the
    // removed headers (at least 16 bytes) in front to put it in.
    if (p.headroom() < kIpv4HeaderSize || p.len + kIpv4HeaderSize > 65535) {
      Drop(p, ForwardDrop::kBadInner);
      return;
    }
    p.offset -= kIpv4HeaderSize;
    p.len += kIpv4HeaderSize;
    WriteIpv4Header(p.data(), p.outer_src, p.outer_dst, nh, static_cast<uint16_t>(p.len),
                    p.outer_tos, 64, 0, false);
  }
  Ipv4Info info;
  FlowKey flow;
  if (ParseIpv4(p.data(), p.len, &info, &flow) != Ipv4Error::kOk) {
    Drop(p, ForwardDrop::kBadInner);
    return;
  }
  p.len = info.total_size;
  if (!sa.SelectorsMatch(flow)) {
    Drop(p, ForwardDrop::kSelectorMismatch);
    return;
  }
  sink.ToInner(p);
}

void Forwarder::FlushDecrypt(Frame& batch, const SaEntry* sa, bool via_ah,
                             PacketSink& sink) noexcept {
  if (batch.size == 0) return;
  if (sa->needs_ah && !via_ah) {
    // RFC 4301 §5.2 step 4: the SAs applied must be the policy's bundle.
    for (size_t i = 0; i < batch.size; ++i) Drop(*batch.packets[i], ForwardDrop::kBundleMismatch);
    batch.size = 0;
    return;
  }
  uint8_t* headers = via_ah ? bundle_headers_.data() : next_headers_.data();
  EspDecrypt(*sa->runtime, batch, headers);
  for (size_t i = 0; i < batch.size; ++i) {
    Packet& p = *batch.packets[i];
    if (p.dropped) {
      ++counters_->drops[static_cast<size_t>(ForwardDrop::kSaDrop)];
      continue;
    }
    Deliver(p, *sa, headers[i], sink);
  }
  batch.size = 0;
}

void Forwarder::FlushAhVerify(Frame& batch, const SaEntry* sa, const ForwardingTables& t,
                              PacketSink& sink) noexcept {
  if (batch.size == 0) return;
  AhVerify(*sa->runtime, batch, next_headers_.data());
  const SaEntry* esp = nullptr;
  bundle_.size = 0;
  for (size_t i = 0; i < batch.size; ++i) {
    Packet& p = *batch.packets[i];
    if (p.dropped) {
      ++counters_->drops[static_cast<size_t>(ForwardDrop::kSaDrop)];
      continue;
    }
    if (next_headers_[i] != kProtoEsp) {
      Deliver(p, *sa, next_headers_[i], sink);
      continue;
    }
    // ESP inside AH: an SA of the same bundle, run here (same owner).
    const SaEntry* inner = p.len >= kEspHeaderSize ? t.Inbound(LoadBe32(p.data()), kProtoEsp)
                                                   : nullptr;
    if (inner == nullptr || inner->reqid != sa->reqid || inner->key_dst != p.outer_dst ||
        inner->owner != options_.worker) {
      Drop(p, ForwardDrop::kBundleMismatch);
      continue;
    }
    if (inner != esp) {
      FlushDecrypt(bundle_, esp, true, sink);
      esp = inner;
    }
    inner->runtime->last_used_ns.store(sa->runtime->last_used_ns.load(std::memory_order_relaxed),
                                       std::memory_order_relaxed);
    bundle_.packets[bundle_.size++] = &p;
  }
  FlushDecrypt(bundle_, esp, true, sink);
  batch.size = 0;
}

void Forwarder::FromOuter(const ForwardingTables& t, Frame& frame, int64_t now_ns,
                          PacketSink& sink) noexcept {
  CountFrame(frame.size);
  counters_->outer_rx += frame.size;
  const SaEntry* current = nullptr;
  const SaEntry* last = nullptr;  // last-SA cache: bursts come from one SA
  batch_.size = 0;
  for (size_t i = 0; i < frame.size; ++i) {
    Packet& p = *frame.packets[i];
    if (p.dropped) continue;
    const uint8_t proto = p.outer_proto == kProtoAh ? kProtoAh : kProtoEsp;
    uint32_t spi = 0;
    if (proto == kProtoAh) {
      spi = PeekAhSpi(p.data(), p.len);
    } else if (p.len >= kEspHeaderSize) {
      // Shorter: RFC 3948's one-byte 0xFF NAT keepalive, IKE's.
      spi = LoadBe32(p.data());
    }
    if (spi == 0) {  // also the non-ESP marker: an IKE message on port 4500
      Drop(p, ForwardDrop::kNotEsp);
      continue;
    }
    const SaEntry* sa = (last != nullptr && last->key.spi() == spi && last->ah == (proto == kProtoAh))
                            ? last
                            : t.Inbound(spi, proto);
    if (sa == nullptr || sa->key_dst != p.outer_dst) {
      const uint64_t key = (uint64_t{1} << 63) | (uint64_t{proto == kProtoAh} << 62) |
                           ((uint64_t{p.outer_src} << 30) ^ spi);
      if (!RateLimited(key, now_ns)) {
        ForwarderEvent e;
        e.kind = ForwarderEvent::Kind::kUnknownSpi;
        e.spi = spi;
        e.protocol = proto;
        e.src = p.outer_src;
        e.dst = p.outer_dst;
        e.unix_nanos = now_ns;
        ++counters_->unknown_spi_events;
        sink.Emit(e);
      }
      Drop(p, ForwardDrop::kUnknownSpi);
      continue;
    }
    last = sa;
    if (sa->owner != options_.worker) {
      ++counters_->handoffs;
      sink.Handoff(sa->owner, p, false);
      continue;
    }
    sa->runtime->last_used_ns.store(now_ns, std::memory_order_relaxed);
    if (sa != current) {
      FlushInbound(t, current, sink);
      current = sa;
    }
    batch_.packets[batch_.size++] = &p;
  }
  FlushInbound(t, current, sink);
}

void Forwarder::FlushInbound(const ForwardingTables& t, const SaEntry* sa,
                             PacketSink& sink) noexcept {
  if (sa == nullptr || batch_.size == 0) return;
  if (sa->ah) {
    FlushAhVerify(batch_, sa, t, sink);
  } else {
    FlushDecrypt(batch_, sa, false, sink);
  }
}

}  // namespace vpnfleet::dataplane
