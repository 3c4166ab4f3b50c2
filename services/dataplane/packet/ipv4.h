// IPv4 headers on the packet path (RFC 791): reading the selectors of an
// inner packet, writing the outer header of a tunnel-mode packet, and the
// ICMP "fragmentation needed" answer of RFC 1191 / RFC 4301 §8.
//
// Like esp_format.h these functions work on caller-owned buffers, return
// errors as values and never allocate.
#ifndef VPNFLEET_SERVICES_DATAPLANE_PACKET_IPV4_H_
#define VPNFLEET_SERVICES_DATAPLANE_PACKET_IPV4_H_

#include <cstddef>
#include <cstdint>

#include "services/dataplane/spd/classifier.h"

namespace vpnfleet::dataplane {

constexpr size_t kIpv4HeaderSize = 20;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIpInIp = 4;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoEsp = 50;
constexpr uint8_t kProtoAh = 51;

enum class Ipv4Error : uint8_t {
  kOk = 0,
  kTruncated,     // shorter than the header or than Total Length says
  kNotIpv4,       // version is not 4
  kBadHeaderLength,
};

struct Ipv4Info {
  uint32_t header_size = 0;
  uint32_t total_size = 0;  // Total Length; the buffer may hold more (padding)
  uint8_t tos = 0;
  uint8_t ttl = 0;
  uint8_t protocol = 0;
  bool dont_fragment = false;
  bool fragment = false;  // MF set or offset non-zero: no ports to read
  uint32_t src = 0;       // host order
  uint32_t dst = 0;
};

// Checks the header and fills `info` and the selector fields of `flow`
// (addresses, protocol, and ports for TCP/UDP/SCTP or ICMP type/code as RFC
// 4301 §4.4.1.1 puts them; zero in later fragments).
Ipv4Error ParseIpv4(const uint8_t* packet, size_t size, Ipv4Info* info, FlowKey* flow);

uint16_t InternetChecksum(const uint8_t* data, size_t size, uint32_t initial = 0);

// Writes a 20-byte header (no options) with its checksum.
void WriteIpv4Header(uint8_t* out, uint32_t src, uint32_t dst, uint8_t protocol,
                     uint16_t total_size, uint8_t tos, uint8_t ttl, uint16_t id,
                     bool dont_fragment);

// Decrements TTL and patches the checksum incrementally (RFC 1624).
// Returns false when the TTL was already 1 or 0: the packet must not leave.
bool DecrementTtl(uint8_t* header);

// Builds ICMP type 3 code 4 (fragmentation needed, RFC 1191) from `router`
// to the sender of `original`, quoting its header and first 8 payload bytes.
// `out` needs room for 20 + 8 + 28 + options bytes (at most 96). Returns the
// size written.
size_t BuildFragNeeded(const uint8_t* original, size_t original_size, uint32_t router,
                       uint16_t next_hop_mtu, uint8_t* out);

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_PACKET_IPV4_H_
