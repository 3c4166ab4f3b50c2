#include "services/dataplane/packet/ipv4.h"

#include <cstring>

#include "services/dataplane/packet/byte_order.h"

namespace vpnfleet::dataplane {
namespace {

constexpr uint8_t kProtoSctp = 132;

}  // namespace

Ipv4Error ParseIpv4(const uint8_t* p, size_t size, Ipv4Info* info, FlowKey* flow) {
  if (size < kIpv4HeaderSize) return Ipv4Error::kTruncated;
  if ((p[0] >> 4) != 4) return Ipv4Error::kNotIpv4;
  const uint32_t ihl = (p[0] & 0x0f) * 4u;
  if (ihl < kIpv4HeaderSize) return Ipv4Error::kBadHeaderLength;
  const uint32_t total = LoadBe16(p + 2);
  if (total < ihl) return Ipv4Error::kBadHeaderLength;
  if (total > size) return Ipv4Error::kTruncated;
  const uint16_t frag = LoadBe16(p + 6);
  info->header_size = ihl;
  info->total_size = total;
  info->tos = p[1];
  info->ttl = p[8];
  info->protocol = p[9];
  info->dont_fragment = (frag & 0x4000) != 0;
  info->fragment = (frag & 0x2000) != 0 || (frag & 0x1fff) != 0;
  info->src = LoadBe32(p + 12);
  info->dst = LoadBe32(p + 16);

  *flow = FlowKey{};
  std::memcpy(flow->src.data(), p + 12, 4);
  std::memcpy(flow->dst.data(), p + 16, 4);
  flow->protocol = info->protocol;
  // Ports are only in the first fragment; later ones carry none (RFC 4301
  // §7 would reassemble or use OPAQUE; we match them with ports zero).
  if ((frag & 0x1fff) == 0) {
    const uint8_t* l4 = p + ihl;
    const size_t l4_size = total - ihl;
    switch (info->protocol) {
      case kProtoTcp:
      case kProtoUdp:
      case kProtoSctp:
        if (l4_size >= 4) {
          flow->src_port = LoadBe16(l4);
          flow->dst_port = LoadBe16(l4 + 2);
        }
        break;
      case kProtoIcmp:
        if (l4_size >= 2) {
          flow->src_port = l4[0];  // type
          flow->dst_port = l4[1];  // code
        }
        break;
      default:
        break;
    }
  }
  return Ipv4Error::kOk;
}

uint16_t InternetChecksum(const uint8_t* data, size_t size, uint32_t initial) {
  uint64_t sum = initial;
  size_t i = 0;
  for (; i + 1 < size; i += 2) sum += LoadBe16(data + i);
  if (i < size) sum += static_cast<uint32_t>(data[i]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void WriteIpv4Header(uint8_t* out, uint32_t src, uint32_t dst, uint8_t protocol,
                     uint16_t total_size, uint8_t tos, uint8_t ttl, uint16_t id,
                     bool dont_fragment) {
  out[0] = 0x45;
  out[1] = tos;
  StoreBe16(out + 2, total_size);
  StoreBe16(out + 4, id);
  StoreBe16(out + 6, dont_fragment ? 0x4000 : 0);
  out[8] = ttl;
  out[9] = protocol;
  StoreBe16(out + 10, 0);
  StoreBe32(out + 12, src);
  StoreBe32(out + 16, dst);
  StoreBe16(out + 10, InternetChecksum(out, kIpv4HeaderSize));
}

bool DecrementTtl(uint8_t* h) {
  if (h[8] <= 1) return false;
  --h[8];
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m the 16-bit word holding TTL.
  uint32_t sum = static_cast<uint16_t>(~LoadBe16(h + 10));
  sum += static_cast<uint16_t>(~((h[8] + 1) << 8 | h[9]));
  sum += static_cast<uint16_t>(h[8] << 8 | h[9]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  StoreBe16(h + 10, static_cast<uint16_t>(~sum));
  return true;
}

size_t BuildFragNeeded(const uint8_t* original, size_t original_size, uint32_t router,
                       uint16_t next_hop_mtu, uint8_t* out) {
  const size_t ihl = (original[0] & 0x0f) * 4u;
  size_t quoted = ihl + 8;
  if (quoted > original_size) quoted = original_size;
  const size_t icmp_size = 8 + quoted;
  const size_t total = kIpv4HeaderSize + icmp_size;
  uint8_t* icmp = out + kIpv4HeaderSize;
  icmp[0] = 3;  // destination unreachable
  icmp[1] = 4;  // fragmentation needed and DF set
  StoreBe16(icmp + 2, 0);
  StoreBe16(icmp + 4, 0);
  StoreBe16(icmp + 6, next_hop_mtu);
  std::memcpy(icmp + 8, original, quoted);
  StoreBe16(icmp + 2, InternetChecksum(icmp, icmp_size));
  WriteIpv4Header(out, router, LoadBe32(original + 12), kProtoIcmp,
                  static_cast<uint16_t>(total), 0xc0 /* internetwork control */, 64, 0,
                  false);
  return total;
}

}  // namespace vpnfleet::dataplane
