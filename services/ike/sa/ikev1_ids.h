// IKEv1 identification payloads (RFC 2407 §4.6.2): phase-1 identities
// (the same ID types as IKEv2's IDi/IDr) and Quick Mode's proxy
// identities (IDci/IDcr: an address, subnet or range with a protocol and
// port) to and from the traffic selectors the rest of the daemon uses.
#ifndef VPNFLEET_SERVICES_IKE_SA_IKEV1_IDS_H_
#define VPNFLEET_SERVICES_IKE_SA_IKEV1_IDS_H_

#include "absl/status/statusor.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/codec/isakmp_message.h"

namespace vpnfleet::ike::ikev1 {

// Phase 1: our identity as sent (protocol and port zero, as strongSwan and
// IOS send), and the peer's as the daemon keeps it.
isakmp::IdPayload Phase1Id(const v2::IdPayload& id);
v2::IdPayload Phase1IdOf(const isakmp::IdPayload& id);

// A selector as a proxy identity: one address, else a subnet when the
// range is a prefix, else a range; a port only when the selector names
// one port.
isakmp::IdPayload ProxyIdOf(const v2::TrafficSelector& ts);
// A proxy identity as a selector; errors for ID types that are no
// addresses and for masks that are not contiguous.
absl::StatusOr<v2::TrafficSelector> SelectorOfProxyId(const isakmp::IdPayload& id);

}  // namespace vpnfleet::ike::ikev1

#endif  // VPNFLEET_SERVICES_IKE_SA_IKEV1_IDS_H_
