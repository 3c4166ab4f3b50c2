// The one place that knows which fields of an IKE configuration are secret
// (pre-shared keys, manual session keys): the IKE daemon's reads, the
// controller's renders, plans and rollouts all redact and wipe through it,
// so a secret field added to the proto is hidden everywhere or nowhere.
#ifndef VPNFLEET_COMMON_SECRETS_IKE_CONFIG_SECRETS_H_
#define VPNFLEET_COMMON_SECRETS_IKE_CONFIG_SECRETS_H_

#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::secrets {

// Zeroizes every secret and sets the `*_set` flag of each that had a value
// (a flag already set stays set: redacting twice changes nothing). What any
// read of a configuration returns.
void RedactIkeConfig(vpnfleet::ike::v1::IkeConfig* config);

// Zeroizes every secret and leaves the flags: for a copy about to go away.
void WipeIkeConfig(vpnfleet::ike::v1::IkeConfig* config);

// The same for the secrets an EditConfig request carries.
void WipeIkeEdits(google::protobuf::RepeatedPtrField<vpnfleet::ike::v1::ConfigEdit>* edits);

}  // namespace vpnfleet::secrets

#endif  // VPNFLEET_COMMON_SECRETS_IKE_CONFIG_SECRETS_H_
