// Network byte order reads and writes on packet buffers, for every codec of
// the packet path (header only; no alignment assumed).
#ifndef VPNFLEET_SERVICES_DATAPLANE_PACKET_BYTE_ORDER_H_
#define VPNFLEET_SERVICES_DATAPLANE_PACKET_BYTE_ORDER_H_

#include <cstdint>

namespace vpnfleet::dataplane {

inline uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

inline void StoreBe32(uint8_t* p, uint32_t v) {
  StoreBe16(p, static_cast<uint16_t>(v >> 16));
  StoreBe16(p + 2, static_cast<uint16_t>(v));
}

inline void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_PACKET_BYTE_ORDER_H_
