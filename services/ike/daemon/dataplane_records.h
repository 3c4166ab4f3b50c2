// CHILD SAs and crypto map lines as the dataplane's records: the one place
// that builds an SecurityAssociation, an SaKey or an SPD policy from IKE
// state (the engine, the sync and the status code all use it).
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_DATAPLANE_RECORDS_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_DATAPLANE_RECORDS_H_

#include <string>
#include <vector>

#include "services/ike/sa/ike_sa.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::ike {

// One half of a pair: the inbound SA is addressed to us, the outbound one
// to the peer (RFC 4301 §4.1: SPI + destination + protocol).
vpnfleet::dataplane::v1::SaKey SaKeyOf(const ChildSa& c, bool inbound);
std::string SaKeyText(const vpnfleet::dataplane::v1::SaKey& key);
// The SA with its keys (the caller wipes them once sent).
vpnfleet::dataplane::v1::SecurityAssociation SaRecordOf(const ChildSa& c, bool inbound,
                                                        uint32_t reqid);

// A PROTECT policy of a crypto map line (a ChildPolicy, or the ChildSa of
// a dynamic map), without direction and selector.
template <typename Line>
vpnfleet::dataplane::v1::SpdPolicy ProtectPolicy(const Line& line, uint32_t reqid, bool per_host) {
  vpnfleet::dataplane::v1::SpdPolicy p;
  p.set_priority(line.spd_priority);
  p.set_action(vpnfleet::dataplane::v1::POLICY_ACTION_PROTECT);
  p.set_reqid(reqid);
  p.set_per_host(per_host);
  p.set_mode(line.transport ? vpnfleet::common::v1::IPSEC_MODE_TRANSPORT
                            : vpnfleet::common::v1::IPSEC_MODE_TUNNEL);
  p.set_crypto_map(line.crypto_map);
  p.set_crypto_map_sequence(line.sequence);
  return p;
}

// `base` for every selector of the pair, outbound and inbound, with the
// tunnel ends from `local` and `peer` (none when `peer` is empty: a skip
// rule of a deny line).
std::vector<vpnfleet::dataplane::v1::SpdPolicy> SpdPoliciesOf(
    const vpnfleet::dataplane::v1::SpdPolicy& base, const TsList& local_ts, const TsList& remote_ts,
    const std::string& local, const std::string& peer);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_DATAPLANE_RECORDS_H_
