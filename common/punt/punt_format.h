// The IKE punt channel between the dataplane and the IKE daemon, the way
// VPP hands UDP/500 and 4500 to charon over a Unix socket: the dataplane
// owns UDP/4500 (ESP in UDP arrives there), passes every IKE message it
// receives there (those with the four-zero-octet non-ESP marker, RFC 3948
// §2.2) to the daemon that registered, and sends from port 4500 what the
// daemon gives it.
//
// One Unix datagram per message, both ways: this 16-octet header in
// network byte order, then the UDP payload exactly as on the wire (with the
// non-ESP marker, or the one octet 0xFF of a NAT keepalive).
#ifndef VPNFLEET_COMMON_PUNT_PUNT_FORMAT_H_
#define VPNFLEET_COMMON_PUNT_PUNT_FORMAT_H_

#include <cstddef>
#include <cstdint>

#include "common/bytes/big_endian.h"

namespace vpnfleet::punt {

inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kMaxPayload = 65535;

enum class Kind : uint8_t {
  kRegister = 1,  // daemon → dataplane: send punted messages to my address
  kPacket = 2,    // either way: one UDP payload
};

struct Header {
  Kind kind = Kind::kPacket;
  uint32_t local_address = 0;   // IPv4, host order here
  uint32_t remote_address = 0;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
};

inline void WriteHeader(const Header& h, uint8_t* out) {
  out[0] = kVersion;
  out[1] = static_cast<uint8_t>(h.kind);
  out[2] = out[3] = 0;
  bytes::StoreBe32(out + 4, h.local_address);
  bytes::StoreBe32(out + 8, h.remote_address);
  bytes::StoreBe16(out + 12, h.local_port);
  bytes::StoreBe16(out + 14, h.remote_port);
}

// False for anything that is not a version-1 header of a known kind.
inline bool ReadHeader(const uint8_t* in, size_t len, Header* h) {
  if (len < kHeaderSize || in[0] != kVersion) return false;
  if (in[1] != static_cast<uint8_t>(Kind::kRegister) && in[1] != static_cast<uint8_t>(Kind::kPacket)) {
    return false;
  }
  h->kind = static_cast<Kind>(in[1]);
  h->local_address = bytes::LoadBe32(in + 4);
  h->remote_address = bytes::LoadBe32(in + 8);
  h->local_port = bytes::LoadBe16(in + 12);
  h->remote_port = bytes::LoadBe16(in + 14);
  return true;
}

}  // namespace vpnfleet::punt

#endif  // VPNFLEET_COMMON_PUNT_PUNT_FORMAT_H_
