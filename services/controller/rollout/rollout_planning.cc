// Planning: the fleet rendered and validated once per desired-state
// revision, each target compared with what its edge runs (or, for a router,
// with what we last gave it), and the last plan kept for the Start that
// follows it (RolloutEngine::PlanMemo).
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/controller/rollout/plan.h"
#include "services/controller/rollout/rollout_engine.h"
#include "services/controller/rollout/rollout_record.h"
#include "services/controller/rollout/rollout_run.h"
#include "services/controller/validate/fleet_validator.h"

namespace vpnfleet::controller {

namespace ike = vpnfleet::ike::v1;

bool RolloutEngine::Desired::ok() const { return !HasErrors(diagnostics); }

RolloutEngine::Desired::~Desired() {
  for (auto& [name, p] : policies) Wipe(&p.policy);
}

std::shared_ptr<const RolloutEngine::Desired> RolloutEngine::ComputeDesired() {
  // One render at a time: a second caller waits and shares the result.
  std::lock_guard<std::mutex> lock(desired_mu_);
  if (desired_ && desired_->snapshot.revision == inventory_->revision()) return desired_;
  desired_.reset();
  std::shared_ptr<const Desired> fresh = Render();
  if (fresh->keys_stored) desired_ = fresh;  // else the next render makes other keys
  return fresh;
}

std::shared_ptr<const RolloutEngine::Desired> RolloutEngine::Render() {
  auto out = std::make_shared<Desired>();
  Desired& d = *out;
  d.snapshot = inventory_->Take();
  d.policies = RenderFleet(d.snapshot, {}, [this](const std::string& a, const std::string& b) {
    return keys_->Get(a, b);
  });
  if (auto st = keys_->Flush(); !st.ok()) {
    d.keys_stored = false;
    v1::Diagnostic diag;
    diag.set_severity(v1::Diagnostic::SEVERITY_ERROR);
    diag.set_entry("crypto isakmp key");
    diag.set_message(absl::StrCat("new pre-shared keys could not be stored: ", st.message()));
    d.diagnostics.push_back(std::move(diag));
  }
  std::map<std::string, const ike::IkeConfig*> policies;
  for (auto& [name, p] : d.policies) {
    d.diagnostics.insert(d.diagnostics.end(), p.diagnostics.begin(), p.diagnostics.end());
    if (p.ok()) policies[name] = &p.policy;
  }
  auto fleet = ValidateFleet(d.snapshot, policies);
  d.diagnostics.insert(d.diagnostics.end(), fleet.begin(), fleet.end());
  return out;
}

absl::StatusOr<v1::RolloutPlan> RolloutEngine::Plan(const std::vector<std::string>& devices) {
  const uint64_t epoch = edge_epoch_.load();
  std::shared_ptr<const Desired> desired = ComputeDesired();
  auto plan = PlanFor(*desired, devices);
  if (!plan.ok()) return plan;
  PlanMemo memo;
  memo.desired_revision = plan->desired_revision();
  memo.epoch = epoch;
  memo.made = clock_->Now();
  for (const auto& dp : plan->devices()) {
    v1::DevicePlan kept = dp;
    kept.clear_changes();
    memo.devices[dp.device()] = std::move(kept);
  }
  std::lock_guard<std::mutex> lock(memo_mu_);
  memo_ = std::move(memo);
  return plan;
}

absl::StatusOr<v1::RolloutPlan> RolloutEngine::PlanFor(const Desired& d, const std::vector<std::string>& devices,
                                                       const PlanMemo* reuse) {
  v1::RolloutPlan plan;
  plan.set_desired_revision(d.snapshot.revision);
  for (auto& diag : d.diagnostics) *plan.add_diagnostics() = diag;
  const std::set<std::string> wanted(devices.begin(), devices.end());
  for (const auto& name : devices) {
    if (!d.snapshot.devices.count(name)) return absl::NotFoundError(absl::StrCat("device ", name, " does not exist"));
  }
  std::vector<v1::DevicePlan> plans;
  std::vector<std::string> targets;  // to read and compare now
  for (const auto& [name, p] : d.policies) {
    if (!wanted.empty() && !wanted.count(name)) continue;
    if (reuse != nullptr && d.snapshot.devices.at(name).kind() == v1::DEVICE_KIND_VPNFLEET) {
      auto seen = reuse->devices.find(name);
      if (seen != reuse->devices.end() && seen->second.edge_config_revision() != 0 &&
          seen->second.change() != v1::DEVICE_CHANGE_NONE && seen->second.change() != v1::DEVICE_CHANGE_UNSPECIFIED) {
        plans.push_back(seen->second);
        continue;
      }
    }
    targets.push_back(name);
  }
  const size_t reused = plans.size();
  plans.resize(reused + targets.size());
  std::vector<std::optional<v1::Diagnostic>> problems(targets.size());
  // What each was last given, read in one go: a store round trip per
  // device is what made planning 100,000 edges on etcd take minutes.
  auto sealed = store_->GetMany(kAppliedKind, targets);
  if (!sealed.ok()) return sealed.status();
  ParallelFor(targets.size(), options_.max_parallel, [&](size_t i) {
    const std::string& name = targets[i];
    const v1::Device& dev = d.snapshot.devices.at(name);
    const DesiredPolicy& want = d.policies.at(name);
    v1::DevicePlan& out = plans[reused + i];
    auto applied = OpenApplied(name, (*sealed)[i]);
    (*sealed)[i].reset();
    std::optional<v1::AppliedPolicy> last = applied.ok() ? *applied : std::nullopt;
    ike::IkeConfig current;
    if (dev.kind() == v1::DEVICE_KIND_IOS) {
      // A router reports nothing to us: compare with what we last rendered for it.
      if (last) current = last->config();
    } else {
      auto got = edges_->GetConfig(dev);
      if (!got.ok()) {
        v1::Diagnostic diag;
        diag.set_severity(v1::Diagnostic::SEVERITY_ERROR);
        diag.set_device(name);
        diag.set_entry("device");
        diag.set_field("management_endpoint");
        diag.set_message(absl::StrCat("unreachable: ", got.status().message()));
        problems[i] = std::move(diag);
        out.set_device(name);
        out.set_change(v1::DEVICE_CHANGE_UNSPECIFIED);
        return;
      }
      current = std::move(*got);
    }
    out = PlanDevice(name, d.snapshot.revision, want.policy, current, last);
    out.set_edge_config_revision(current.revision().number());
    if (last) Wipe(last->mutable_config());
  });
  // By name, as the desired policies are.
  std::sort(plans.begin(), plans.end(),
            [](const v1::DevicePlan& a, const v1::DevicePlan& b) { return a.device() < b.device(); });
  for (auto& dp : plans) *plan.add_devices() = std::move(dp);
  for (auto& problem : problems) {
    if (problem) *plan.add_diagnostics() = std::move(*problem);
  }
  return plan;
}
}  // namespace vpnfleet::controller
