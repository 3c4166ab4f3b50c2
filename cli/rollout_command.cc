// `vpnfleet rollout plan|apply|status|rollback`: what the controller would
// change, the staged apply with its progress, and, after a rollout, which
// revision every device runs and what an operator must do about it.
#include "cli/controller_client.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cli/controller_command.h"

namespace vpnfleet::cli {
namespace controller_cli {
namespace {

std::string RolloutStateName(v1::RolloutState s) {
  switch (s) {
    case v1::ROLLOUT_STATE_PENDING: return "pending";
    case v1::ROLLOUT_STATE_RUNNING: return "running";
    case v1::ROLLOUT_STATE_SUCCEEDED: return "succeeded";
    case v1::ROLLOUT_STATE_FAILED: return "failed";
    case v1::ROLLOUT_STATE_ROLLED_BACK: return "rolled back";
    case v1::ROLLOUT_STATE_ROLLBACK_FAILED: return "ROLLBACK FAILED";
    default: return "?";
  }
}

std::string DeviceStateName(v1::DeviceRolloutState s) {
  switch (s) {
    case v1::DEVICE_ROLLOUT_STATE_WAITING: return "waiting";
    case v1::DEVICE_ROLLOUT_STATE_APPLYING: return "applying";
    case v1::DEVICE_ROLLOUT_STATE_HEALTH_CHECK: return "health-check";
    case v1::DEVICE_ROLLOUT_STATE_DONE: return "done";
    case v1::DEVICE_ROLLOUT_STATE_FAILED: return "FAILED";
    case v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK: return "rolled-back";
    case v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED: return "ROLLBACK-FAILED";
    default: return "?";
  }
}

// The revision a device runs: "rev 7", "unknown" when the edge did not
// answer, "-" for a policy the controller never applied.
std::string Runs(const v1::DeviceRolloutStatus& d) {
  if (d.running() == v1::DEVICE_RUNNING_UNKNOWN || d.running() == v1::DEVICE_RUNNING_UNSPECIFIED) return "unknown";
  if (d.running_revision() == 0) return "-";
  return absl::StrCat("rev ", d.running_revision());
}

void PrintRollout(const v1::Rollout& r, std::ostream& out) {
  out << "Rollout " << r.id() << ": " << RolloutStateName(r.state()) << ", desired revision "
      << r.desired_revision() << ", canary " << r.strategy().canary_devices() << ", batches of "
      << r.strategy().batch_size() << ", max unavailable " << r.strategy().max_unavailable() << "\n";
  out << "  " << std::left << std::setw(16) << "Device" << std::setw(7) << "Stage" << std::setw(17) << "State"
      << std::setw(10) << "Runs" << "Message\n";
  for (const auto& d : r.devices()) {
    out << "  " << std::left << std::setw(16) << d.device() << std::setw(7) << d.stage() << std::setw(17)
        << DeviceStateName(d.state()) << std::setw(10) << Runs(d) << d.message() << "\n";
  }
  if (!r.operator_action().empty()) out << "% Action: " << r.operator_action() << "\n";
}

}  // namespace

int RunRollout(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
               std::ostream& err) {
  const std::string sub = a.size() > 1 ? a[1] : "";
  const std::vector<std::string> devices(a.begin() + std::min<size_t>(2, a.size()), a.end());
  if (sub == "plan") {
    v1::PlanRolloutRequest req;
    for (const auto& d : devices) req.add_devices(d);
    v1::RolloutPlan plan;
    auto st = c.stub().PlanRollout(c.Context(std::chrono::seconds(120)).get(), req, &plan);
    if (!st.ok()) return c.Fail("rollout plan", st);
    if (o.json) {
      out << Json(plan);
      return HasErrors(plan.diagnostics()) ? 1 : 0;
    }
    out << "Plan for desired revision " << plan.desired_revision() << ":\n";
    int changing = 0;
    for (const auto& d : plan.devices()) {
      const char* what = d.change() == v1::DEVICE_CHANGE_NONE     ? "no change"
                         : d.change() == v1::DEVICE_CHANGE_CREATE ? "create"
                         : d.change() == v1::DEVICE_CHANGE_UPDATE ? "update"
                                                                  : "unknown (unreachable)";
      out << "  " << d.device() << ": " << what;
      if (d.change() == v1::DEVICE_CHANGE_UPDATE || d.change() == v1::DEVICE_CHANGE_CREATE) {
        ++changing;
        out << " (" << d.changes_size() << " line(s))";
      }
      out << "\n";
      for (const auto& l : d.changes()) out << "      " << l << "\n";
    }
    PrintDiagnostics(plan.diagnostics(), out);
    out << changing << " of " << plan.devices_size() << " device(s) would change\n";
    return HasErrors(plan.diagnostics()) ? 1 : 0;
  }
  if (sub == "apply" || (sub == "rollback" && a.size() == 3)) {
    std::unique_ptr<grpc::ClientReader<v1::RolloutProgress>> reader;
    auto ctx = c.Context(std::chrono::hours(24));
    if (sub == "apply") {
      v1::StartRolloutRequest req;
      for (const auto& d : devices) req.add_devices(d);
      auto* s = req.mutable_strategy();
      s->set_canary_devices(static_cast<uint32_t>(o.canary));
      s->set_batch_size(static_cast<uint32_t>(o.batch));
      s->set_max_unavailable(static_cast<uint32_t>(o.max_unavailable));
      s->set_health_timeout_seconds(static_cast<uint32_t>(o.health_timeout));
      s->set_auto_rollback(o.auto_rollback);
      req.set_expected_desired_revision(o.expected_revision);
      reader = c.stub().StartRollout(ctx.get(), req);
    } else {
      v1::RollbackRolloutRequest req;
      req.set_id(a[2]);
      reader = c.stub().RollbackRollout(ctx.get(), req);
    }
    v1::RolloutProgress p, last;
    std::string id;
    while (reader->Read(&p)) {
      if (o.json) {
        if (o.watch) {
          std::string line = Json(p);
          line.erase(std::remove(line.begin(), line.end(), '\n'), line.end());
          out << line << "\n" << std::flush;
        }
      } else if (o.watch) {
        out << ProgressBar(p.devices_done(), p.devices_total(), p.message()) << "\n" << std::flush;
      }
      id = p.rollout().id();
      last = p;
    }
    grpc::Status st = reader->Finish();
    if (!st.ok()) return c.Fail(absl::StrCat("rollout ", sub), st);
    v1::GetRolloutRequest get;
    get.set_id(id);
    v1::Rollout r;
    st = c.stub().GetRollout(c.Context().get(), get, &r);
    if (!st.ok()) return c.Fail("rollout status", st);
    if (o.json && !o.watch) out << Json(r);
    if (!o.json) {
      if (!o.watch) out << last.message() << "\n";
      PrintRollout(r, out);
    }
    // 3: devices were left on the new policy (or unknown) by a failed
    // rollback, which scripts must tell apart from a clean stop.
    if (r.state() == v1::ROLLOUT_STATE_ROLLBACK_FAILED) return 3;
    return r.state() == v1::ROLLOUT_STATE_SUCCEEDED || (sub == "rollback" && r.state() == v1::ROLLOUT_STATE_ROLLED_BACK)
               ? 0
               : 1;
  }
  if (sub == "status") {
    if (a.size() == 3) {
      v1::GetRolloutRequest req;
      req.set_id(a[2]);
      v1::Rollout r;
      auto st = c.stub().GetRollout(c.Context().get(), req, &r);
      if (!st.ok()) return c.Fail("rollout status", st);
      if (o.json) out << Json(r);
      else PrintRollout(r, out);
      // The same 3 as apply and rollback, for scripts that poll.
      return r.state() == v1::ROLLOUT_STATE_ROLLBACK_FAILED ? 3 : 0;
    }
    v1::ListRolloutsResponse resp;
    auto st = AllPages(v1::ListRolloutsRequest(), &resp, [&](const auto& r, auto* page) {
      return c.stub().ListRollouts(c.Context().get(), r, page);
    });
    if (!st.ok()) return c.Fail("rollout status", st);
    if (o.json) {
      out << Json(resp);
      return 0;
    }
    out << std::left << std::setw(14) << "Rollout" << std::setw(13) << "State" << std::setw(10) << "Revision"
        << "Devices\n";
    for (const auto& r : resp.rollouts()) {
      out << std::left << std::setw(14) << r.id() << std::setw(13) << RolloutStateName(r.state()) << std::setw(10)
          << r.desired_revision() << r.devices_done() << "/" << r.devices_total() << " done";
      if (r.devices_failed() > 0) out << ", " << r.devices_failed() << " failed";
      if (r.devices_rolled_back() > 0) out << ", " << r.devices_rolled_back() << " rolled back";
      if (r.devices_rollback_failed() > 0) out << ", " << r.devices_rollback_failed() << " ROLLBACK FAILED";
      out << "\n";
    }
    return 0;
  }
  err << kControllerUsage << "\n";
  return 2;
}

}  // namespace controller_cli

std::string ProgressBar(uint32_t done, uint32_t total, const std::string& message) {
  constexpr int kWidth = 20;
  const int filled = total == 0 ? kWidth : static_cast<int>(static_cast<uint64_t>(done) * kWidth / total);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '-');
  std::ostringstream s;
  s << "[" << bar << "] " << std::right << std::setw(5) << done << "/" << std::left << std::setw(5) << total << " "
    << message;
  return s.str();
}

}  // namespace vpnfleet::cli
