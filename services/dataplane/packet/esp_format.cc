#include "services/dataplane/packet/esp_format.h"

#include "services/dataplane/packet/byte_order.h"

namespace vpnfleet::dataplane {
namespace {

// IP protocol 59: "no next header", what a TFC dummy packet carries.
constexpr uint8_t kNoNextHeader = 59;

}  // namespace

const char* EspErrorName(EspError e) {
  switch (e) {
    case EspError::kOk: return "ok";
    case EspError::kTruncated: return "truncated";
    case EspError::kMisaligned: return "misaligned";
    case EspError::kBadPadLength: return "bad_pad_length";
    case EspError::kBadPadding: return "bad_padding";
    case EspError::kDummyPacket: return "dummy_packet";
    case EspError::kBadNextHeader: return "bad_next_header";
  }
  return "unknown";
}

EspError ParseEsp(const uint8_t* packet, size_t size, const EspLayout& layout, EspView* view) {
  const size_t overhead = kEspHeaderSize + layout.iv_size + 2 + layout.icv_size;
  if (packet == nullptr || size < overhead) return EspError::kTruncated;
  view->spi = LoadBe32(packet);
  view->seq_low = LoadBe32(packet + 4);
  view->iv_offset = kEspHeaderSize;
  view->ciphertext_offset = kEspHeaderSize + layout.iv_size;
  view->icv_offset = size - layout.icv_size;
  view->ciphertext_size = view->icv_offset - view->ciphertext_offset;
  // RFC 4303 §2.4: the ciphertext ends 4-byte aligned, and block ciphers
  // need whole blocks.
  const size_t align = layout.block_size > 4 ? layout.block_size : 4;
  if (view->ciphertext_size % align != 0) return EspError::kMisaligned;
  return EspError::kOk;
}

EspError ParseTrailer(const uint8_t* plaintext, size_t size, size_t* payload_size,
                      uint8_t* next_header) {
  if (plaintext == nullptr || size < 2) return EspError::kTruncated;
  const uint8_t pad_length = plaintext[size - 2];
  const uint8_t nh = plaintext[size - 1];
  if (static_cast<size_t>(pad_length) + 2 > size) return EspError::kBadPadLength;
  const size_t payload = size - 2 - pad_length;
  // Default padding is 1, 2, 3, ...; a mismatch means a wrong key or a forged
  // packet that slipped through, and RFC 4303 §2.4 has the receiver check it.
  for (size_t i = 0; i < pad_length; ++i) {
    if (plaintext[payload + i] != static_cast<uint8_t>(i + 1)) return EspError::kBadPadding;
  }
  if (nh == kNoNextHeader) return EspError::kDummyPacket;
  if (nh == 0) return EspError::kBadNextHeader;
  *payload_size = payload;
  *next_header = nh;
  return EspError::kOk;
}

size_t PaddingFor(size_t payload_size, uint8_t block_size) {
  const size_t align = block_size > 4 ? block_size : 4;
  const size_t used = (payload_size + 2) % align;
  return used == 0 ? 0 : align - used;
}

size_t WriteTrailer(uint8_t* trailer, size_t padding, uint8_t next_header) {
  for (size_t i = 0; i < padding; ++i) trailer[i] = static_cast<uint8_t>(i + 1);
  trailer[padding] = static_cast<uint8_t>(padding);
  trailer[padding + 1] = next_header;
  return padding + 2;
}

void WriteEspHeader(uint8_t* out, uint32_t spi, uint32_t seq_low) {
  StoreBe32(out, spi);
  StoreBe32(out + 4, seq_low);
}

}  // namespace vpnfleet::dataplane
