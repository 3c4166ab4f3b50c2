#include "services/dataplane/nodes/ah_nodes.h"

#include "services/dataplane/packet/ah_format.h"
#include "services/dataplane/packet/byte_order.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {
void AhProtect(SaRuntime& sa, Frame& frame, uint8_t next_header) noexcept {
  if (!sa.ah) return DropFrameOnSa(sa, frame, DropReason::kBadProtocol);
  const uint8_t icv = sa.ah->icv_size();
  const uint32_t front = static_cast<uint32_t>(kIpv4HeaderSize + AhSize(icv));
  for (size_t i = 0; i < frame.size; ++i) {
    Packet& p = *frame.packets[i];
    if (p.dropped) continue;
    if (p.headroom() < front || p.len + front > 65535) {
      DropOnSa(sa, p, DropReason::kNoRoom);
      continue;
    }
    uint64_t seq = 0;
    if (!NextOutboundSeq(sa, p, &seq)) continue;
    const uint32_t inner = p.len;
    p.offset -= front;
    p.len += front;
    // The Identification is covered by the ICV, so we choose it rather than
    // the kernel (which fills in only a zero one).
    if (++sa.next_ip_id == 0) sa.next_ip_id = 1;
    WriteIpv4Header(p.data(), p.outer_src, p.outer_dst, kProtoAh, static_cast<uint16_t>(p.len),
                    p.outer_tos, 64, sa.next_ip_id, false);
    WriteAhHeader(p.data() + kIpv4HeaderSize, next_header, icv, sa.spi,
                  static_cast<uint32_t>(seq));
    if (!sa.ah->Seal(p.data(), p.len, seq)) {
      DropOnSa(sa, p, DropReason::kCryptoError);
      continue;
    }
    ++sa.counters.pkts_encaps;
    ++sa.counters.pkts_digest;
    sa.counters.bytes += inner;
  }
}

void AhVerify(SaRuntime& sa, Frame& frame, uint8_t* next_headers) noexcept {
  if (!sa.ah) return DropFrameOnSa(sa, frame, DropReason::kBadProtocol);
  for (size_t i = 0; i < frame.size; ++i) {
    Packet& p = *frame.packets[i];
    if (p.dropped) continue;
    AhView v;
    if (ParseAh(p.data(), p.len, sa.ah->icv_size(), &v) != AhError::kOk) {
      DropOnSa(sa, p, DropReason::kMalformed);
      continue;
    }
    if (v.spi != sa.spi) {
      DropOnSa(sa, p, DropReason::kWrongSpi);
      continue;
    }
    if (!ReplayCheckedVerify(sa, p, v.seq_low,
                             [&](uint64_t seq) { return sa.ah->Verify(p.data(), v, seq); })) {
      continue;
    }
    next_headers[i] = v.next_header;
    p.offset += v.payload_offset;
    p.len = v.total_size - v.payload_offset;
    ++sa.counters.pkts_decaps;
    ++sa.counters.pkts_verify;
    sa.counters.bytes += p.len;
  }
}

}  // namespace vpnfleet::dataplane
