// `show crypto ikev2 sa` and `show crypto ipsec sa` as API records: IKE and
// CHILD SAs described from the engine's state, and the dataplane's counters
// added to the CHILD SAs afterwards (off the engine thread).
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_SA_STATUS_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_SA_STATUS_H_

#include <vector>

#include "absl/time/time.h"
#include "services/ike/dataplane/dataplane_client.h"
#include "services/ike/sa/ike_sa.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

vpnfleet::ike::v1::IkeSaState ApiState(IkeState s);
// An IKEv1 SA's IOS state (MM_NO_STATE ... QM_IDLE, Ikev1Sa::StateName).
vpnfleet::ike::v1::IkeSaState Ikev1ApiState(absl::string_view name, IkeState general);
void DescribeIkeSa(uint64_t conn_id, const IkeSession& sa, absl::Time now,
                   vpnfleet::ike::v1::IkeSa* out);
// Without counters; remaining_kilobytes is the whole volume lifetime until
// AddCounters subtracts what was used.
void DescribeChildSa(uint64_t conn_id, const ChildSa& c, absl::Time now,
                     vpnfleet::ike::v1::ChildSa* out);
// Encaps from each outbound SA, decaps from each inbound one.
void AddCounters(const std::vector<SaCounterEntry>& counters,
                 vpnfleet::ike::v1::ListChildSasResponse* out);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_SA_STATUS_H_
