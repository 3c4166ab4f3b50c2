// RFC 7296 §2.4 INITIAL_CONTACT: "this is the only IKE SA currently active
// between the authenticated identities". Which of our IKE SAs with the same
// peer and identity that makes stale: those up before the new SA's setup
// began, with a grace of a round trip or so. A peer that starts many IKE
// SAs at once (strongSwan with several connections started together) sends
// INITIAL_CONTACT in each whose IKE_AUTH left before any other was up, and
// keeps them all; so do IOS and strongSwan as responders, and so do we.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_INITIAL_CONTACT_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_INITIAL_CONTACT_H_

#include "absl/time/time.h"

namespace vpnfleet::ike {

// A sibling that finished just before the new SA's IKE_SA_INIT arrived was
// still unknown to the peer when it sent that request.
inline constexpr absl::Duration kConcurrentSetupGrace = absl::Seconds(2);

// Whether an SA established at `other_established` is stale once an SA
// whose setup started at `new_started` arrives with INITIAL_CONTACT.
inline bool StaleAfterInitialContact(absl::Time other_established, absl::Time new_started) {
  return other_established < new_started - kConcurrentSetupGrace;
}

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_INITIAL_CONTACT_H_
