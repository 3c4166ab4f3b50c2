#include "services/dataplane/nodes/esp_nodes.h"

#include "services/dataplane/packet/byte_order.h"

namespace vpnfleet::dataplane {
void EspEncrypt(SaRuntime& sa, Frame& frame, uint8_t next_header) noexcept {
  if (!sa.transform) return DropFrameOnSa(sa, frame, DropReason::kBadProtocol);
  const EspLayout& l = sa.transform->layout();
  const uint32_t front = static_cast<uint32_t>(kEspHeaderSize + l.iv_size);
  for (size_t i = 0; i < frame.size; ++i) {
    Packet& p = *frame.packets[i];
    if (p.dropped) continue;
    const uint32_t pad = static_cast<uint32_t>(PaddingFor(p.len, l.block_size));
    if (p.headroom() < front || p.tailroom() < pad + 2 + l.icv_size) {
      DropOnSa(sa, p, DropReason::kNoRoom);
      continue;
    }
    uint64_t seq = 0;
    if (!NextOutboundSeq(sa, p, &seq)) continue;
    const uint32_t inner = p.len;
    WriteTrailer(p.data() + inner, pad, next_header);
    p.offset -= front;
    WriteEspHeader(p.data(), sa.spi, static_cast<uint32_t>(seq));
    const size_t n = sa.transform->Seal(p.data(), inner + pad + 2, seq);
    if (n == 0) {
      DropOnSa(sa, p, DropReason::kCryptoError);
      continue;
    }
    p.len = static_cast<uint32_t>(n);
    ++sa.counters.pkts_encaps;
    ++sa.counters.pkts_encrypt;
    ++sa.counters.pkts_digest;
    sa.counters.bytes += inner;
  }
}

void EspDecrypt(SaRuntime& sa, Frame& frame, uint8_t* next_headers) noexcept {
  if (!sa.transform) return DropFrameOnSa(sa, frame, DropReason::kBadProtocol);
  const EspLayout& l = sa.transform->layout();
  for (size_t i = 0; i < frame.size; ++i) {
    Packet& p = *frame.packets[i];
    if (p.dropped) continue;
    EspView v;
    if (ParseEsp(p.data(), p.len, l, &v) != EspError::kOk) {
      DropOnSa(sa, p, DropReason::kMalformed);
      continue;
    }
    if (LoadBe32(p.data()) != sa.spi) {
      DropOnSa(sa, p, DropReason::kWrongSpi);
      continue;
    }
    if (!ReplayCheckedVerify(sa, p, v.seq_low,
                             [&](uint64_t seq) { return sa.transform->Open(p.data(), v, seq); })) {
      continue;
    }
    size_t payload = 0;
    EspError e = ParseTrailer(p.data() + v.ciphertext_offset, v.ciphertext_size, &payload,
                              &next_headers[i]);
    if (e != EspError::kOk) {
      DropOnSa(sa, p, e == EspError::kDummyPacket ? DropReason::kDummy : DropReason::kBadTrailer);
      continue;
    }
    p.offset += static_cast<uint32_t>(v.ciphertext_offset);
    p.len = static_cast<uint32_t>(payload);
    ++sa.counters.pkts_decaps;
    ++sa.counters.pkts_decrypt;
    ++sa.counters.pkts_verify;
    sa.counters.bytes += payload;
  }
}

}  // namespace vpnfleet::dataplane
