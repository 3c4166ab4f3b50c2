// WatchFleet's events from the controller store: which store records are
// fleet objects (devices, templates, data sets, rollout summaries), each as
// the FleetEvent a client sees, and the objects as they are now, read
// straight from the store so that they line up with a watch opened first.
#ifndef VPNFLEET_SERVICES_CONTROLLER_SERVER_FLEET_EVENTS_H_
#define VPNFLEET_SERVICES_CONTROLLER_SERVER_FLEET_EVENTS_H_

#include <functional>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/controller/store/store.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {

// The kinds a request asks for (empty: all); INVALID_ARGUMENT for a kind
// that is unspecified or unknown.
absl::StatusOr<std::set<v1::FleetObjectKind>> WatchedKinds(const v1::WatchFleetRequest& request);

// The event for one store change, nullopt when the record is none of the
// kinds in `kinds`. DataLoss for a fleet record that does not parse.
absl::StatusOr<std::optional<v1::FleetEvent>> FleetEventOf(const StoreChange& change,
                                                           const std::set<v1::FleetObjectKind>& kinds);

// Calls `emit` with a PUT event (initial) for every stored object of
// `kinds`, kind by kind in name order; stops at the first false from emit.
absl::Status EmitInitialState(Store& store, const std::set<v1::FleetObjectKind>& kinds,
                              const std::function<bool(const v1::FleetEvent&)>& emit);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_SERVER_FLEET_EVENTS_H_
