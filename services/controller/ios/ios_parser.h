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
// lines) is skipped; an unknown or malformed command inside a crypto
// section is an error with its line number, as IOS would reject it at the
// prompt, and a command read but not carried into our policy is a warning
// that says why.
//
// The result is what the text says; whether it makes a sensible whole
// (referenced ACLs and transform sets exist, ...) is checked by the edge's
// validator and by the controller's fleet validation.
#ifndef VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_PARSER_H_
#define VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_PARSER_H_

#include "absl/strings/string_view.h"
#include <vector>

#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller::ios {

struct ParseResult {
  vpnfleet::ike::v1::IkeConfig config;
  std::vector<v1::Diagnostic> diagnostics;  // errors and warnings, by line

  bool ok() const;  // no errors (warnings allowed)
};

// Input larger than this is refused as a whole (one error) rather than read.
inline constexpr size_t kMaxConfigBytes = 8 << 20;

// `device` only labels the diagnostics.
ParseResult ParseIosConfig(absl::string_view text, absl::string_view device = "");

}  // namespace vpnfleet::controller::ios

#endif  // VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_PARSER_H_
