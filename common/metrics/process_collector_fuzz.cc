// Fuzz target: /proc/PID/stat text (its command name is chosen by whoever
// started the process, so it is not trusted).
#include <cstdint>

#include "common/metrics/process_collector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)vpnfleet::metrics::ParseProcStat(text, 100, 4096, 1700000000);
  return 0;
}
