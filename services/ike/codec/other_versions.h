// Answers to ISAKMP messages that are not IKEv2 (RFC 7296 §2.5): the peer
// learns at once that we will not talk that version, instead of
// retransmitting into silence. No state, no crypto: built from the
// request's header alone.
#ifndef VPNFLEET_SERVICES_IKE_CODEC_OTHER_VERSIONS_H_
#define VPNFLEET_SERVICES_IKE_CODEC_OTHER_VERSIONS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace vpnfleet::ike::v2 {

// The major version of an ISAKMP header (octet 17, high nibble); nullopt
// when the datagram is shorter than a header.
std::optional<uint8_t> MajorVersion(absl::string_view datagram);

// An IKEv1 (RFC 2408/2409) first message of Main or Aggressive Mode (its
// responder cookie zero): an unprotected ISAKMP Informational exchange
// with a NO-PROPOSAL-CHOSEN notification (RFC 2408 §3.14, type 14) for
// the initiator's cookie pair, as IKEv1 responders refuse a proposal.
// nullopt for anything else (we never answer a later IKEv1 message).
//
//   Notification payload (RFC 2408 §3.14):
//   | next payload | reserved | payload length |
//   | domain of interpretation (1: IPsec)       |
//   | protocol (1: ISAKMP) | SPI size (0) | notify message type |
std::optional<std::string> Ikev1Refusal(absl::string_view request, uint32_t message_id);

// §2.5: a request of a higher major version than 2 gets an unauthenticated
// INVALID_MAJOR_VERSION notify in an IKEv2 header (our highest version).
// nullopt for responses and for versions below 2.
std::optional<std::string> InvalidMajorVersion(absl::string_view request);

}  // namespace vpnfleet::ike::v2

#endif  // VPNFLEET_SERVICES_IKE_CODEC_OTHER_VERSIONS_H_
