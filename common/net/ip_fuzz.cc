// Fuzz target: addresses and CIDR prefixes from text (API requests, configs).
// A parsed prefix prints back to a form that parses to the same prefix.
#include <cstdint>
#include <cstdlib>

#include "common/net/ip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto prefix = vpnfleet::net::ParseCidr(text);
  if (prefix.ok()) {
    auto again = vpnfleet::net::ParseCidr(prefix->ToString());
    if (!again.ok() || !(again->address == prefix->address) || again->length != prefix->length) {
      std::abort();
    }
    if (!prefix->Contains(prefix->address)) std::abort();
  }
  (void)vpnfleet::net::ParseAddress(text);
  return 0;
}
