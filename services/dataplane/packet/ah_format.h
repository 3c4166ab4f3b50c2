// The AH packet format (RFC 4302 §2) over IPv4, without the cryptography:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Header   |  Payload Len  |          RESERVED             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Security Parameters Index (SPI)               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Sequence Number Field                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                Integrity Check Value-ICV (variable)           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// AH sits right after the IP header and its ICV covers that header too,
// except the fields routers change in transit (RFC 4302 §3.3.3.1.1): these
// are zeroed for the computation. Functions here split a received packet
// (starting at its IPv4 header), build the header of an outgoing one and
// prepare the zeroed copy of the IP header; no allocation.
#ifndef VPNFLEET_SERVICES_DATAPLANE_PACKET_AH_FORMAT_H_
#define VPNFLEET_SERVICES_DATAPLANE_PACKET_AH_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace vpnfleet::dataplane {

constexpr size_t kAhFixedSize = 12;  // up to the ICV

enum class AhError : uint8_t {
  kOk = 0,
  kTruncated,      // IP header or AH shorter than stated
  kNotIpv4,
  kNotAh,          // the IP header's protocol is not 51
  kFragment,       // AH is applied to whole packets only (RFC 4302 §3.4.1)
  kBadLength,      // Payload Len does not match the SA's ICV size
  kBadOption,      // a malformed IPv4 option
};

const char* AhErrorName(AhError e);

struct AhView {
  uint32_t ip_header_size = 0;
  uint32_t total_size = 0;   // IP Total Length
  uint32_t ah_offset = 0;    // = ip_header_size
  uint32_t payload_offset = 0;  // first byte after the ICV
  uint8_t next_header = 0;
  uint32_t spi = 0;
  uint32_t seq_low = 0;
};

// The AH length for an ICV of `icv_size` bytes: 12 + ICV, which for every
// HMAC we support is already a multiple of 4 (IPv4, RFC 4302 §3.3.3.2.1).
constexpr size_t AhSize(uint8_t icv_size) { return kAhFixedSize + icv_size; }

// Splits a received IPv4 packet carrying AH. `icv_size` is the SA's; the
// header must say exactly that much (Payload Len = (12 + ICV) / 4 - 2).
AhError ParseAh(const uint8_t* packet, size_t size, uint8_t icv_size, AhView* view);

// Reads only the SPI of an IPv4+AH packet, for the SA lookup (0: too short
// or not AH).
uint32_t PeekAhSpi(const uint8_t* packet, size_t size);

// Writes the 12 fixed AH bytes at `out` and zeroes the ICV field after it.
void WriteAhHeader(uint8_t* out, uint8_t next_header, uint8_t icv_size, uint32_t spi,
                   uint32_t seq_low);

// Copies the IPv4 header (with options, at most 60 bytes) of `packet` to
// `out` with the mutable fields zeroed as RFC 4302 §3.3.3.1.1.1 says: TOS,
// flags and fragment offset, TTL, checksum, and every option that is not
// immutable (Appendix A.1: only EOL, NOP, the security options and Router
// Alert are kept; others are zeroed whole, type and length included).
AhError MaskedIpv4Header(const uint8_t* packet, size_t header_size, uint8_t* out);

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_PACKET_AH_FORMAT_H_
