// The ESP packet format (RFC 4303 §2), without the cryptography:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//   |               Security Parameters Index (SPI)                 | ^Int.
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//   |                      Sequence Number                          | |ered
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
//   |                    IV (explicit, per transform)               | |   ^
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//   |                    Payload Data (variable)                    | |Conf.
//   ~               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//   |               |     Padding (0-255 bytes)                     | |ered*
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//   |                               |  Pad Length   | Next Header   | v   v
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
//   |         Integrity Check Value-ICV   (variable)                |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Functions here split a received packet into these parts and build the
// trailer of an outgoing one. They work on caller-owned buffers, return
// errors as values and never allocate: they run on the packet path.
#ifndef VPNFLEET_SERVICES_DATAPLANE_PACKET_ESP_FORMAT_H_
#define VPNFLEET_SERVICES_DATAPLANE_PACKET_ESP_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace vpnfleet::dataplane {

// Why a packet was dropped while parsing; each is a counter, never a log line.
enum class EspError : uint8_t {
  kOk = 0,
  kTruncated,       // shorter than header + IV + minimal trailer + ICV
  kMisaligned,      // ciphertext not a multiple of the cipher block
  kBadPadLength,    // Pad Length points before the payload
  kBadPadding,      // padding bytes are not 1, 2, 3, ... (RFC 4303 §2.4)
  kDummyPacket,     // Next Header 59: a TFC dummy packet (RFC 4303 §2.6)
  kBadNextHeader,   // Next Header 0 or otherwise unusable
};

const char* EspErrorName(EspError e);

// The sizes one transform puts around the payload.
struct EspLayout {
  uint8_t iv_size;     // explicit IV in the packet (8 for GCM/ChaCha, 16 for AES-CBC)
  uint8_t block_size;  // the cipher's block size; padding aligns to max(block, 4)
  uint8_t icv_size;    // 16 for the AEADs, 12 for HMAC-SHA1-96, ...
};

// Offsets into a received ESP packet (starting at the SPI).
struct EspView {
  uint32_t spi = 0;
  uint32_t seq_low = 0;
  size_t iv_offset = 0;
  size_t ciphertext_offset = 0;  // first byte after the IV
  size_t ciphertext_size = 0;    // payload + padding + pad length + next header
  size_t icv_offset = 0;
};

constexpr size_t kEspHeaderSize = 8;

// Splits a received packet; checks lengths and alignment only (nothing
// decrypted yet, so nothing else can be checked).
EspError ParseEsp(const uint8_t* packet, size_t size, const EspLayout& layout, EspView* view);

// Reads the trailer of a decrypted ciphertext: returns the payload size and
// the next header, after checking the pad length and the padding bytes.
EspError ParseTrailer(const uint8_t* plaintext, size_t size, size_t* payload_size,
                      uint8_t* next_header);

// How many padding bytes an outgoing payload of `payload_size` needs so that
// payload + padding + 2 is a multiple of max(block_size, 4) (RFC 4303 §2.4).
size_t PaddingFor(size_t payload_size, uint8_t block_size);

// Writes padding (1, 2, 3, ...), Pad Length and Next Header after the payload
// at `trailer`; the caller has room for PaddingFor(...) + 2 bytes. Returns the
// number of bytes written.
size_t WriteTrailer(uint8_t* trailer, size_t padding, uint8_t next_header);

void WriteEspHeader(uint8_t* out, uint32_t spi, uint32_t seq_low);

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_PACKET_ESP_FORMAT_H_
