#include "services/controller/rollout/rollout_record.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace vpnfleet::controller {
namespace {

std::string DiagnosticText(const v1::Diagnostic& d) {
  std::string where = d.device();
  if (!d.entry().empty()) absl::StrAppend(&where, ": ", d.entry());
  if (!d.field().empty()) absl::StrAppend(&where, ": ", d.field());
  return absl::StrCat(where, ": ", d.message());
}

std::string Names(const std::vector<std::string>& names) {
  constexpr size_t kShown = 10;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kShown));
  std::string out = absl::StrJoin(shown, ", ");
  if (names.size() > kShown) absl::StrAppend(&out, " and ", names.size() - kShown, " more");
  return out;
}

// What an operator must do after a rollout that did not end cleanly, from
// what each device runs.
std::string OperatorAction(const v1::Rollout& r) {
  std::vector<std::string> on_new, unknown, failed_previous;
  for (const auto& d : r.devices()) {
    const bool stuck = d.state() == v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED ||
                       d.state() == v1::DEVICE_ROLLOUT_STATE_FAILED || d.state() == v1::DEVICE_ROLLOUT_STATE_DONE;
    if (!stuck) continue;
    if (d.running() == v1::DEVICE_RUNNING_DESIRED) on_new.push_back(d.device());
    else if (d.running() == v1::DEVICE_RUNNING_UNKNOWN || d.running() == v1::DEVICE_RUNNING_UNSPECIFIED)
      unknown.push_back(d.device());
    else if (d.state() == v1::DEVICE_ROLLOUT_STATE_FAILED) failed_previous.push_back(d.device());
  }
  std::vector<std::string> parts;
  switch (r.state()) {
    case v1::ROLLOUT_STATE_ROLLBACK_FAILED:
      if (!on_new.empty()) {
        parts.push_back(absl::StrCat(Names(on_new), " still run", on_new.size() == 1 ? "s" : "", " revision ",
                                     r.desired_revision()));
      }
      if (!unknown.empty()) {
        parts.push_back(absl::StrCat(Names(unknown), " did not answer: either policy may be in place"));
      }
      parts.push_back(absl::StrCat("make them reachable, then run `vpnfleet rollout rollback ", r.id(),
                                   "` again (it retries only those devices), or `vpnfleet rollout apply` to move "
                                   "the fleet forward"));
      return absl::StrJoin(parts, "; ");
    case v1::ROLLOUT_STATE_FAILED:
      if (!on_new.empty()) parts.push_back(absl::StrCat(Names(on_new), " run revision ", r.desired_revision()));
      if (!unknown.empty()) parts.push_back(absl::StrCat(Names(unknown), " in an unknown state"));
      if (!failed_previous.empty()) parts.push_back(absl::StrCat(Names(failed_previous), " refused it"));
      parts.push_back(absl::StrCat("fix the cause and run `vpnfleet rollout apply` again, or `vpnfleet rollout "
                                   "rollback ", r.id(), "` to put the devices back"));
      return absl::StrJoin(parts, "; ");
    default:
      return "";  // succeeded, rolled back cleanly, or still going
  }
}

}  // namespace

bool HasErrors(const std::vector<v1::Diagnostic>& ds) {
  return std::any_of(ds.begin(), ds.end(),
                     [](const v1::Diagnostic& d) { return d.severity() == v1::Diagnostic::SEVERITY_ERROR; });
}

// Device counts by state, from the devices, and what an operator must do.
void CountDevices(v1::Rollout* r) {
  uint32_t done = 0, failed = 0, rolled_back = 0, rollback_failed = 0;
  for (const auto& d : r->devices()) {
    done += d.state() == v1::DEVICE_ROLLOUT_STATE_DONE;
    failed += d.state() == v1::DEVICE_ROLLOUT_STATE_FAILED;
    rolled_back += d.state() == v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK;
    rollback_failed += d.state() == v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED;
  }
  r->set_devices_total(static_cast<uint32_t>(r->devices_size()));
  r->set_devices_done(done);
  r->set_devices_failed(failed);
  r->set_devices_rolled_back(rolled_back);
  r->set_devices_rollback_failed(rollback_failed);
  if (r->devices_size() > 0) r->set_operator_action(OperatorAction(*r));
}

// Devices a rollout may have changed: applied (or tried to, without an
// answer) and not rolled back since.
std::vector<int> TouchedDevices(const v1::Rollout& r) {
  std::vector<int> out;
  for (int i = 0; i < r.devices_size(); ++i) {
    const auto& d = r.devices(i);
    if (d.state() == v1::DEVICE_ROLLOUT_STATE_WAITING || d.state() == v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK) continue;
    if (d.running() == v1::DEVICE_RUNNING_PREVIOUS) continue;  // refused the apply: nothing to undo
    out.push_back(i);
  }
  return out;
}

// An edge that did not answer may have applied the change or not; one that
// answered with an error did not.
bool OutcomeUnknown(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

// Everything but the devices.
v1::Rollout RolloutSummary(const v1::Rollout& r) {
  v1::Rollout s;
  s.set_id(r.id());
  s.set_state(r.state());
  *s.mutable_strategy() = r.strategy();
  s.set_desired_revision(r.desired_revision());
  s.set_previous_revision(r.previous_revision());
  s.set_started_unix_seconds(r.started_unix_seconds());
  s.set_finished_unix_seconds(r.finished_unix_seconds());
  s.set_devices_total(r.devices_total());
  s.set_devices_done(r.devices_done());
  s.set_devices_failed(r.devices_failed());
  s.set_devices_rolled_back(r.devices_rolled_back());
  s.set_devices_rollback_failed(r.devices_rollback_failed());
  s.set_operator_action(r.operator_action());
  return s;
}

// Errors first, at most a few, for a status message.
std::string DiagnosticSummary(const std::vector<v1::Diagnostic>& ds) {
  std::vector<std::string> lines;
  for (const auto& d : ds) {
    if (d.severity() == v1::Diagnostic::SEVERITY_ERROR && lines.size() < 5) lines.push_back(DiagnosticText(d));
  }
  size_t errors = std::count_if(ds.begin(), ds.end(), [](const v1::Diagnostic& d) {
    return d.severity() == v1::Diagnostic::SEVERITY_ERROR;
  });
  std::string out = absl::StrJoin(lines, "; ");
  if (errors > lines.size()) absl::StrAppend(&out, "; and ", errors - lines.size(), " more");
  return out;
}

}  // namespace vpnfleet::controller
