// Fuzz target: received ESP packets (before and after decryption) and
// received IPv4+AH packets. Parsing never reads outside the packet and the
// parts it returns tile the packet.
#include <cstdint>
#include <cstdlib>
#include <initializer_list>

#include "services/dataplane/packet/ah_format.h"
#include "services/dataplane/packet/esp_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpnfleet::dataplane;
  static constexpr EspLayout kLayouts[] = {{8, 1, 16}, {16, 16, 12}, {16, 16, 16}, {0, 1, 12}};
  for (const EspLayout& layout : kLayouts) {
    EspView v;
    if (ParseEsp(data, size, layout, &v) == EspError::kOk) {
      if (v.ciphertext_offset + v.ciphertext_size + layout.icv_size != size) std::abort();
      size_t payload = 0;
      uint8_t nh = 0;
      // Treat the ciphertext as if it were decrypted: the trailer parser
      // sees arbitrary bytes here, as it would with a wrong key.
      if (ParseTrailer(data + v.ciphertext_offset, v.ciphertext_size, &payload, &nh) ==
              EspError::kOk &&
          payload + 2 > v.ciphertext_size) {
        std::abort();
      }
    }
  }
  for (uint8_t icv : {12, 16, 24, 32}) {
    AhView v;
    if (ParseAh(data, size, icv, &v) == AhError::kOk) {
      if (v.payload_offset != v.ip_header_size + AhSize(icv) || v.total_size > size ||
          v.payload_offset > v.total_size || PeekAhSpi(data, size) != v.spi) {
        std::abort();
      }
      uint8_t masked[60];
      (void)MaskedIpv4Header(data, v.ip_header_size, masked);
    }
  }
  return 0;
}
