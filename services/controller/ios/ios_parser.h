// Reads the crypto sections of a Cisco IOS configuration into our typed IKE
// policy (`vpnfleet.ike.v1.IkeConfig`), as IOS means them:
//
//   hostname; crypto isakmp policy/key/identity/keepalive/nat keepalive/
//   invalid-spi-recovery/aggressive-mode disable (IKEv1); crypto ikev2
//   proposal/policy/keyring/profile/dpd/nat keepalive (IKEv2, for the crypto
//   map entries that `set ikev2-profile`); crypto ipsec transform-set;
//   access-list (numbered extended), ip access-list extended; crypto map
//   (ipsec-isakmp, ipsec-manual, ipsec-isakmp dynamic), crypto dynamic-map;
//   crypto pki trustpoint; crypto key pubkey-chain rsa; interface ... crypto
//   map.
//
// Everything else in a full configuration (interfaces' addresses, routing,
// lines) is skipped, and ParseResult::skipped says which lines and why; an
// unknown or malformed command inside a crypto section is an error with its
// line number, as IOS would reject it at the prompt, and a command read but
// not carried into our policy is a warning that says why. Nothing is dropped
// without one of the three.
//
// The result is what the text says; whether it makes a sensible whole
// (referenced ACLs and transform sets exist, ...) is checked by the edge's
// validator and by the controller's fleet validation.
#ifndef VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_PARSER_H_
#define VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_PARSER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller::ios {

// Lines read as nothing, with the reason: every line of the input is either
// in the policy, the subject of a diagnostic, blank, or in one of these.
struct SkippedLines {
  uint32_t first_line = 0;  // 1-based
  uint32_t last_line = 0;   // blank lines inside the range belong to it
  std::string reason;
};

// The reasons that are not about one command (those name it).
inline constexpr absl::string_view kSkipNotCrypto =
    "not crypto policy: addressing, routing, management and other IOS commands stay on the device";
inline constexpr absl::string_view kSkipSeparator = "a comment or section separator (!, exit, end)";
inline constexpr absl::string_view kSkipInterface =
    "an interface setting other than its crypto map: not crypto policy";
inline constexpr absl::string_view kSkipDescription = "a description: not carried";

struct ParseResult {
  vpnfleet::ike::v1::IkeConfig config;
  std::vector<v1::Diagnostic> diagnostics;  // errors and warnings, by line
  std::vector<SkippedLines> skipped;        // in line order

  bool ok() const;  // no errors (warnings allowed)
};

// Input larger than this is refused as a whole (one error) rather than read.
inline constexpr size_t kMaxConfigBytes = 8 << 20;

// `device` only labels the diagnostics.
ParseResult ParseIosConfig(absl::string_view text, absl::string_view device = "");

}  // namespace vpnfleet::controller::ios

#endif  // VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_PARSER_H_
