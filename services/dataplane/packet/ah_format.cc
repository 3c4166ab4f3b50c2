#include "services/dataplane/packet/ah_format.h"

#include <cstring>

#include "services/dataplane/packet/byte_order.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {

const char* AhErrorName(AhError e) {
  switch (e) {
    case AhError::kOk: return "ok";
    case AhError::kTruncated: return "truncated";
    case AhError::kNotIpv4: return "not_ipv4";
    case AhError::kNotAh: return "not_ah";
    case AhError::kFragment: return "fragment";
    case AhError::kBadLength: return "bad_length";
    case AhError::kBadOption: return "bad_option";
  }
  return "unknown";
}

AhError ParseAh(const uint8_t* packet, size_t size, uint8_t icv_size, AhView* view) {
  if (size < kIpv4HeaderSize) return AhError::kTruncated;
  if ((packet[0] >> 4) != 4) return AhError::kNotIpv4;
  const uint32_t ihl = (packet[0] & 0x0f) * 4u;
  const uint32_t total = LoadBe16(packet + 2);
  if (ihl < kIpv4HeaderSize || total < ihl || total > size) return AhError::kTruncated;
  if (packet[9] != kProtoAh) return AhError::kNotAh;
  if ((LoadBe16(packet + 6) & 0x3fff) != 0) return AhError::kFragment;
  if (total < ihl + kAhFixedSize) return AhError::kTruncated;
  const uint8_t* ah = packet + ihl;
  // Payload Len: the AH length in 32-bit words, minus 2 (RFC 4302 §2.2).
  const size_t ah_size = (size_t{ah[1]} + 2) * 4;
  if (ah_size != AhSize(icv_size)) return AhError::kBadLength;
  if (total < ihl + ah_size) return AhError::kTruncated;
  view->ip_header_size = ihl;
  view->total_size = total;
  view->ah_offset = ihl;
  view->payload_offset = static_cast<uint32_t>(ihl + ah_size);
  view->next_header = ah[0];
  view->spi = LoadBe32(ah + 4);
  view->seq_low = LoadBe32(ah + 8);
  return AhError::kOk;
}

uint32_t PeekAhSpi(const uint8_t* packet, size_t size) {
  if (size < kIpv4HeaderSize || (packet[0] >> 4) != 4 || packet[9] != kProtoAh) return 0;
  const size_t ihl = (packet[0] & 0x0f) * 4u;
  if (ihl < kIpv4HeaderSize || size < ihl + kAhFixedSize) return 0;
  return LoadBe32(packet + ihl + 4);
}

void WriteAhHeader(uint8_t* out, uint8_t next_header, uint8_t icv_size, uint32_t spi,
                   uint32_t seq_low) {
  out[0] = next_header;
  out[1] = static_cast<uint8_t>(AhSize(icv_size) / 4 - 2);
  out[2] = out[3] = 0;
  StoreBe32(out + 4, spi);
  StoreBe32(out + 8, seq_low);
  std::memset(out + kAhFixedSize, 0, icv_size);
}

namespace {

// RFC 4302 Appendix A.1, IPv4 options that do not change in transit.
bool ImmutableOption(uint8_t type) {
  switch (type) {
    case 0:    // End of Option List
    case 1:    // No Operation
    case 130:  // Security
    case 133:  // Extended Security
    case 134:  // Commercial Security
    case 148:  // Router Alert
    case 149:  // Sender Directed Multi-Destination Delivery
      return true;
    default:
      return false;
  }
}

}  // namespace

AhError MaskedIpv4Header(const uint8_t* packet, size_t header_size, uint8_t* out) {
  if (header_size < kIpv4HeaderSize || header_size > 60) return AhError::kTruncated;
  std::memcpy(out, packet, header_size);
  out[1] = 0;            // TOS (DSCP, ECN)
  out[6] = out[7] = 0;   // flags, fragment offset
  out[8] = 0;            // TTL
  out[10] = out[11] = 0; // header checksum
  size_t i = kIpv4HeaderSize;
  while (i < header_size) {
    const uint8_t type = out[i];
    if (type == 0) break;  // EOL: the rest is padding, immutable
    size_t len = 1;
    if (type != 1) {
      if (i + 1 >= header_size || out[i + 1] < 2 || i + out[i + 1] > header_size) {
        return AhError::kBadOption;
      }
      len = out[i + 1];
    }
    if (!ImmutableOption(type)) std::memset(out + i, 0, len);
    i += len;
  }
  return AhError::kOk;
}

}  // namespace vpnfleet::dataplane
