// Fuzz target: an SA as the IKE daemon or a tool may send it. Adding it never
// crashes, and what the table accepts it can read back without keys.
#include <cstdint>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"

#include "services/dataplane/sad/sa_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in string fields is a parse error protobuf also logs; the
  // error is what matters here, not thousands of log lines.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  vpnfleet::dataplane::v1::SecurityAssociation sa;
  if (!sa.ParseFromArray(data, static_cast<int>(size))) return 0;
  vpnfleet::FakeClock clock;
  vpnfleet::dataplane::SaTable table(&clock, {.allow_legacy = (size % 2) == 0});
  if (table.Add(sa).ok()) {
    auto back = table.Get(sa.key());
    if (!back.ok() || !back->sa().encryption_key().empty()) std::abort();
  }
  return 0;
}
