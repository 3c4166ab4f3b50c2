// Fuzz target: an IKE configuration as an API client may send it (any bytes
// decoded as an IkeConfig). Validation and replacement never crash, and a
// rejected replacement leaves the stored configuration as it was. What is
// accepted compiles into CHILD policies as IOS reads ACLs: one pair of
// selectors per permit line, a reqid of its own per line and peer.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"

#include "services/ike/config/config_store.h"
#include "services/ike/config/config_validator.h"
#include "services/ike/daemon/policy_book.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Invalid UTF-8 in string fields is a parse error protobuf also logs; the
  // error is what matters here, not thousands of log lines.
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  vpnfleet::ike::v1::IkeConfig config;
  if (!config.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)vpnfleet::ike::ValidateIkeConfig(config);
  vpnfleet::FakeClock clock;
  vpnfleet::ike::ConfigStore store(&clock);
  auto result = store.Replace(config, 0, false);
  if (!result.ok() && store.revision() != 0) std::abort();
  if (result.ok() && store.revision() != 1) std::abort();
  if (!result.ok()) return 0;
  vpnfleet::ike::ReqidAllocator reqids;
  std::vector<std::string> warnings;
  auto book = vpnfleet::ike::PolicyBook::Build(config, vpnfleet::ike::LoadedTrustpoints{}, reqids,
                                               &warnings);
  std::set<uint32_t> seen;
  for (const auto& s : book.statics()) {
    if (s.child.local_ts.size() != 1 || s.child.remote_ts.size() != 1) std::abort();
    if (!seen.insert(s.child.reqid).second) std::abort();
  }
  return 0;
}
