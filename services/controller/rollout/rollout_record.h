// What a rollout record says, read and summarised apart from running one:
// device counts by state, what an operator must do next, which devices a
// rollout may have changed, the summary stored beside the full record, and
// diagnostics boiled down to a status message.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_RECORD_H_
#define VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_RECORD_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {

bool HasErrors(const std::vector<v1::Diagnostic>& ds);

// Errors first, at most five, then how many more.
std::string DiagnosticSummary(const std::vector<v1::Diagnostic>& ds);

// Sets the device counts from the devices' states, and `operator_action`
// (empty for a rollout that succeeded, rolled back cleanly or still runs).
void CountDevices(v1::Rollout* r);

// Indices of the devices a rollout may have changed: applied, or tried to
// without an answer, and not rolled back since.
std::vector<int> TouchedDevices(const v1::Rollout& r);

// Whether an edge's error leaves open that it applied the change (no answer)
// rather than refused it.
bool OutcomeUnknown(const absl::Status& st);

// The record without its devices, as List returns it.
v1::Rollout RolloutSummary(const v1::Rollout& r);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_RECORD_H_
