// Network-order loads and stores at a known-good offset (the caller has
// checked the length; untrusted input goes through ByteReader instead).
// One copy of the shifts that used to be hand-written in every module.
#ifndef VPNFLEET_COMMON_BYTES_BIG_ENDIAN_H_
#define VPNFLEET_COMMON_BYTES_BIG_ENDIAN_H_

#include <cstdint>

namespace vpnfleet::bytes {

inline uint16_t LoadBe16(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(b[0] << 8 | b[1]);
}
inline uint32_t LoadBe32(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return static_cast<uint32_t>(b[0]) << 24 | static_cast<uint32_t>(b[1]) << 16 |
         static_cast<uint32_t>(b[2]) << 8 | b[3];
}
inline uint64_t LoadBe64(const void* p) {
  const auto* b = static_cast<const uint8_t*>(p);
  return static_cast<uint64_t>(LoadBe32(b)) << 32 | LoadBe32(b + 4);
}

inline void StoreBe16(void* p, uint16_t v) {
  auto* b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v >> 8);
  b[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(void* p, uint32_t v) {
  auto* b = static_cast<uint8_t*>(p);
  b[0] = static_cast<uint8_t>(v >> 24);
  b[1] = static_cast<uint8_t>(v >> 16);
  b[2] = static_cast<uint8_t>(v >> 8);
  b[3] = static_cast<uint8_t>(v);
}
inline void StoreBe64(void* p, uint64_t v) {
  auto* b = static_cast<uint8_t*>(p);
  StoreBe32(b, static_cast<uint32_t>(v >> 32));
  StoreBe32(b + 4, static_cast<uint32_t>(v));
}

}  // namespace vpnfleet::bytes

#endif  // VPNFLEET_COMMON_BYTES_BIG_ENDIAN_H_
