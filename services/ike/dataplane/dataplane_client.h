// The IKE daemon's one door to the dataplane, as strongSwan's kernel_ipsec_t
// (add_sa, del_sa, add_policy, query_sa) is charon's: SaManager never holds a
// gRPC stub. Two implementations: GrpcDataplaneClient for the real
// vpnfleet-dataplane, FakeDataplaneClient (tables in memory, failures on
// request) for tests. Calls block; DataplaneSync makes them on its own
// thread, never on the engine thread. Every implementation is thread-safe.
#ifndef VPNFLEET_SERVICES_IKE_DATAPLANE_DATAPLANE_CLIENT_H_
#define VPNFLEET_SERVICES_IKE_DATAPLANE_DATAPLANE_CLIENT_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::ike {

using SaCounterEntry = vpnfleet::dataplane::v1::GetSaCountersResponse::Entry;

class DataplaneClient {
 public:
  virtual ~DataplaneClient() = default;

  // UNAVAILABLE or DEADLINE_EXCEEDED: the dataplane is not there now (what
  // was asked is put in when it returns). Any other error: it refused.
  virtual absl::Status AddSa(const vpnfleet::dataplane::v1::SecurityAssociation& sa) = 0;
  virtual absl::Status DeleteSa(const vpnfleet::dataplane::v1::SaKey& key) = 0;
  // The policy's id in the dataplane's SPD.
  virtual absl::StatusOr<uint64_t> AddPolicy(const vpnfleet::dataplane::v1::SpdPolicy& policy) = 0;
  virtual absl::Status DeletePolicy(uint64_t id) = 0;
  // Counters of one SA, or (null) of every SA in one call.
  virtual absl::StatusOr<std::vector<SaCounterEntry>> Counters(
      const vpnfleet::dataplane::v1::SaKey* only) = 0;
  // The SPD as it is now (reconcile compares it with what we put in).
  virtual absl::StatusOr<std::vector<vpnfleet::dataplane::v1::SpdPolicy>> ListPolicies() = 0;

  // A cheap call that succeeds when the dataplane answers.
  virtual absl::Status Ping() = 0;

  // Delivers dataplane events to `sink` until the stream ends (returns its
  // status) or CancelWatch() is called from another thread.
  virtual absl::Status Watch(
      const std::function<void(const vpnfleet::dataplane::v1::DataplaneEvent&)>& sink) = 0;
  virtual void CancelWatch() = 0;
};

// True for errors that mean "not there now" rather than "refused".
inline bool Unreachable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) || absl::IsCancelled(s);
}

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DATAPLANE_DATAPLANE_CLIENT_H_
