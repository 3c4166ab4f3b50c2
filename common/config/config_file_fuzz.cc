// Fuzz target: configuration file text. Whatever the text, parsing returns
// arguments or an error naming a line; every argument it returns is a flag.
#include <cstdint>
#include <cstdlib>

#include "common/config/config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto args = vpnfleet::config::ParseConfigText(text);
  if (args.ok()) {
    for (const auto& a : *args) {
      if (a.rfind("--", 0) != 0 || a.find('=') == std::string::npos) std::abort();
    }
  }
  return 0;
}
