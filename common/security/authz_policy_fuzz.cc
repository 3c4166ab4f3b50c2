// Any text: parsed or refused, never a crash; what parses answers queries.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/security/authz_policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto policy = vpnfleet::security::AuthzPolicy::Parse(text);
  if (!policy.ok()) return 0;
  // Query with pieces of the input itself, so globs meet hostile text.
  const std::string probe = text.substr(0, std::min<size_t>(text.size(), 256));
  const std::string role = policy->RoleOf(probe);
  (void)policy->Allows(role, probe, vpnfleet::security::Access::kWrite);
  (void)policy->Allows("admin", "vpnfleet.ike.v1.IkeService/ReplaceConfig",
                       vpnfleet::security::Access::kWrite);
  return 0;
}
