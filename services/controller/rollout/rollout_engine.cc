#include "services/controller/rollout/rollout_engine.h"

#include "common/secrets/ike_config_secrets.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/zeroize.h"
#include "common/thread/parallel_for.h"
#include "services/controller/ios/ios_writer.h"
#include "services/controller/rollout/plan.h"
#include "services/controller/rollout/rollout_record.h"
#include "services/controller/rollout/rollout_run.h"

namespace vpnfleet::controller {
namespace {

namespace ike = vpnfleet::ike::v1;
using State = v1::DeviceRolloutState;

bool HasSecrets(const ike::IkeConfig& c) {
  for (const auto& k : c.pre_shared_keys()) {
    if (k.key_set() || !k.key().empty()) return true;
  }
  for (const auto& m : c.crypto_maps()) {
    for (const auto& e : m.entries()) {
      if (!e.session_keys().empty()) return true;
    }
  }
  return false;
}

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d), " ms"); }

// Marks the span in which edges change: a plan read across it is stale.
class EdgesChanging {
 public:
  explicit EdgesChanging(std::function<void()> bump) : bump_(std::move(bump)) { bump_(); }
  ~EdgesChanging() { bump_(); }
  EdgesChanging(const EdgesChanging&) = delete;
  EdgesChanging& operator=(const EdgesChanging&) = delete;

 private:
  std::function<void()> bump_;
};

}  // namespace


RolloutEngine::RolloutEngine(Inventory* inventory, PairKeys* keys, Store* store, const SecretBox* box,
                             EdgeClient* edges, const Clock* clock, RolloutOptions options)
    : inventory_(inventory), keys_(keys), store_(store), box_(box), edges_(edges), clock_(clock),
      options_(std::move(options)) {}

void RolloutEngine::Sleep(absl::Duration d) {
  if (options_.sleep) return options_.sleep(d);
  std::this_thread::sleep_for(absl::ToChronoMilliseconds(d));
}

void RolloutEngine::ParallelFor(size_t n, size_t parallelism, const std::function<void(size_t)>& fn) {
  vpnfleet::ParallelFor(n, std::min(parallelism, options_.max_parallel), fn);
}

void RolloutEngine::Report(Run& run, int index, const std::string& message, const ProgressFn& progress) {
  if (!progress) return;
  v1::RolloutProgress p;
  {
    std::lock_guard<std::mutex> lock(run.mu);
    // The rollout's header and the one device this is about: copying every
    // device's status into each of 20,000 updates would be quadratic.
    auto* r = p.mutable_rollout();
    *r = RolloutSummary(run.rollout);
    // The stored counts lag; the live ones are devices_done/devices_total below.
    r->clear_devices_total();
    r->clear_devices_done();
    r->clear_devices_failed();
    r->clear_devices_rolled_back();
    if (index >= 0) *r->add_devices() = run.rollout.devices(index);
    p.set_devices_done(run.done);
    p.set_devices_total(static_cast<uint32_t>(run.rollout.devices_size()));
  }
  p.set_message(message);
  progress(p);
}

absl::StatusOr<v1::Rollout> RolloutEngine::Start(const v1::StartRolloutRequest& req, const ProgressFn& progress) {
  std::unique_lock<std::mutex> exclusive(run_mu_, std::try_to_lock);
  if (!exclusive.owns_lock()) {
    return absl::FailedPreconditionError("another rollout or rollback is running; wait for it (rollout status)");
  }
  auto existing = List();
  if (!existing.ok()) return existing.status();
  for (const auto& r : *existing) {
    if (r.state() == v1::ROLLOUT_STATE_RUNNING) {
      return absl::FailedPreconditionError(absl::StrCat("rollout ", r.id(), " is still running"));
    }
  }
  const auto& s = req.strategy();
  v1::RolloutStrategy strategy = s;
  if (strategy.canary_devices() == 0) strategy.set_canary_devices(1);
  if (strategy.batch_size() == 0) strategy.set_batch_size(10);
  if (strategy.max_unavailable() == 0) strategy.set_max_unavailable(strategy.batch_size());
  if (strategy.health_timeout_seconds() == 0) strategy.set_health_timeout_seconds(60);

  // Nothing is pushed unless the whole fleet renders and validates.
  const absl::Time t0 = clock_->Now();
  std::shared_ptr<const Desired> shared = ComputeDesired();
  const Desired& desired = *shared;
  const absl::Time t1 = clock_->Now();
  v1::RolloutPlan plan;
  {
    std::optional<PlanMemo> memo;
    {
      std::lock_guard<std::mutex> lock(memo_mu_);
      memo.swap(memo_);  // one Start uses it
    }
    const bool fresh = memo && memo->desired_revision == desired.snapshot.revision &&
                       memo->epoch == edge_epoch_.load() && clock_->Now() - memo->made < kPlanMemoLifetime;
    auto p = PlanFor(desired, {req.devices().begin(), req.devices().end()}, fresh ? &*memo : nullptr);
    if (!p.ok()) return p.status();
    plan = std::move(*p);
  }
  if (req.expected_desired_revision() != 0 && req.expected_desired_revision() != plan.desired_revision()) {
    return absl::AbortedError(absl::StrCat("the desired state is at revision ", plan.desired_revision(),
                                           ", not ", req.expected_desired_revision(), "; plan again"));
  }
  std::vector<v1::Diagnostic> diags(plan.diagnostics().begin(), plan.diagnostics().end());
  if (HasErrors(diags)) {
    return absl::FailedPreconditionError(absl::StrCat("nothing was pushed: ", DiagnosticSummary(diags)));
  }

  auto run = std::make_unique<Run>();
  auto& r = run->rollout;
  r.set_id(absl::StrCat("rollout-", existing->size() + 1));
  r.set_state(v1::ROLLOUT_STATE_RUNNING);
  *r.mutable_strategy() = strategy;
  r.set_desired_revision(plan.desired_revision());
  r.set_started_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
  for (const auto& dp : plan.devices()) {
    if (dp.change() == v1::DEVICE_CHANGE_NONE) continue;
    const v1::Device& dev = desired.snapshot.devices.at(dp.device());
    auto* st = r.add_devices();
    st->set_device(dp.device());
    st->set_state(v1::DEVICE_ROLLOUT_STATE_WAITING);
    st->set_running(v1::DEVICE_RUNNING_PREVIOUS);
    st->set_previous_revision(dp.current_revision());
    st->set_running_revision(dp.current_revision());
    run->devices.push_back(dev);
    run->targets.push_back(desired.policies.at(dp.device()).policy);
    run->expected.push_back(dp.edge_config_revision());
  }
  shared.reset();
  // Stages: the canary, then batches.
  uint32_t stage = 0, in_stage = 0;
  for (int i = 0; i < r.devices_size(); ++i) {
    const uint32_t limit = stage == 0 ? strategy.canary_devices() : strategy.batch_size();
    if (in_stage == limit) {
      ++stage;
      in_stage = 0;
    }
    run->Change(i)->set_stage(stage);
    ++in_stage;
  }
  if (r.devices_size() == 0) {
    r.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
    r.set_finished_unix_seconds(r.started_unix_seconds());
    if (auto st = Save(*run); !st.ok()) return st;
    Report(*run, -1, "every device already runs the desired policy", progress);
    return r;
  }

  // Each edge checks its policy first; one refusal stops everything.
  const absl::Time t2 = clock_->Now();
  std::vector<std::string> refused(run->devices.size());
  ParallelFor(run->devices.size(), strategy.max_unavailable(), [&](size_t i) {
    if (run->devices[i].kind() != v1::DEVICE_KIND_VPNFLEET) return;
    auto st = edges_->ReplaceConfig(run->devices[i], run->targets[i], /*validate_only=*/true, run->Expected(i));
    if (st.ok()) return;
    refused[i] = absl::StrCat(run->devices[i].name(), ": ", st.status().message());
    if (absl::IsFailedPrecondition(st.status()) && run->Expected(i) != 0) {
      absl::StrAppend(&refused[i], " (its configuration changed since the plan: plan again)");
    }
  });
  std::vector<std::string> refusals;
  for (const auto& m : refused) {
    if (!m.empty()) refusals.push_back(m);
  }
  if (!refusals.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("nothing was pushed: the edge refused its policy: ", absl::StrJoin(refusals, "; ")));
  }

  std::vector<StoreWrite> writes;
  for (size_t i = 0; i < run->devices.size(); ++i) {
    const std::string name = absl::StrCat(r.id(), "/", run->devices[i].name());
    writes.push_back({kTargetKind, name, box_->Seal(run->targets[i].SerializeAsString(), name)});
  }
  run->previous.resize(run->devices.size());
  run->previous_saved.assign(run->devices.size(), false);
  if (auto st = Save(*run, std::move(writes)); !st.ok()) return st;
  const absl::Time t3 = clock_->Now();
  Report(*run, -1, absl::StrCat(r.id(), " started: ", r.devices_size(), " device(s) to change, revision ",
                                r.desired_revision(), " (fleet rendered and validated in ", Ms(t1 - t0),
                                ", planned in ", Ms(t2 - t1), ", checked by the edges in ", Ms(t3 - t2), ")"),
         progress);
  return Execute(*run, progress);
}

absl::Status RolloutEngine::RollbackDevices(Run& run, const std::vector<int>& indices, const ProgressFn& progress) {
  EdgesChanging changing([this] { BumpEpoch(); });
  std::vector<StoreWrite> writes;
  std::mutex writes_mu;
  // Whether a device's applied record is this rollout's: read for all at
  // once (if that read fails, each device's again on its own).
  std::vector<std::string> names;
  for (int i : indices) names.push_back(run.devices[i].name());
  auto applied = store_->GetMany(kAppliedKind, names);
  auto applied_by_this = [&](size_t k) {
    auto a = applied.ok() ? OpenApplied(names[k], (*applied)[k]) : Applied(names[k]);
    if (!a.ok() || !*a) return false;
    Wipe((*a)->mutable_config());
    return (*a)->rollout_id() == run.rollout.id();
  };
  ParallelFor(indices.size(), run.rollout.strategy().max_unavailable(), [&](size_t k) {
    const int i = indices[k];
    const v1::Device& dev = run.devices[i];
    std::string message;
    bool ok = false, unknown = false;
    if (dev.kind() == v1::DEVICE_KIND_IOS) {
      // The router's whole configuration as it was before this rollout.
      const std::string checkpoint = IosCheckpointName(run.rollout.id());
      absl::Status st = options_.ios != nullptr ? options_.ios->Restore(dev, checkpoint)
                                                : absl::FailedPreconditionError("no SSH push configured");
      ok = st.ok();
      unknown = !ok && absl::IsAborted(st);
      message = ok ? absl::StrCat("rolled back: configure replace flash:", checkpoint, " done and saved")
                   : absl::StrCat("rollback failed: ", st.message());
      if (ok && applied_by_this(k)) {
        std::lock_guard<std::mutex> lock(writes_mu);
        writes.push_back({kAppliedKind, dev.name(), std::nullopt});
      }
    } else if (!run.previous[i]) {
      message = "rollback failed: no previous policy known for this device (the controller never applied one "
                "and the device's keys are write-only); it still runs this rollout's policy";
    } else {
      auto st = edges_->ReplaceConfig(dev, *run.previous[i], false, /*expected_revision=*/0);
      ok = st.ok();
      unknown = !ok && OutcomeUnknown(st.status());
      message = ok ? absl::StrCat("rolled back to its previous policy (device revision ", *st, ")")
                   : absl::StrCat("rollback failed: ", st.status().message());
      if (ok && applied_by_this(k)) {
        // It runs what it ran before: this rollout's applied record goes.
        std::lock_guard<std::mutex> lock(writes_mu);
        writes.push_back({kAppliedKind, dev.name(), std::nullopt});
      }
    }
    {
      std::lock_guard<std::mutex> lock(run.mu);
      auto* st = run.Change(i);
      if (ok) {
        st->set_state(v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);
        st->set_running(v1::DEVICE_RUNNING_PREVIOUS);
        st->set_running_revision(st->previous_revision());
      } else {
        st->set_state(v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED);
        if (unknown) {
          st->set_running(v1::DEVICE_RUNNING_UNKNOWN);
          st->set_running_revision(0);
        }
      }
      st->set_message(st->message().empty() ? message : absl::StrCat(st->message(), "; ", message));
    }
    Report(run, i, absl::StrCat(dev.name(), ": ", message), progress);
  });
  // A device we rolled back runs what it ran before this rollout; if that
  // was our own earlier apply, its record is still right; if we had none,
  // there is none now either (handled above).
  return Save(run, std::move(writes));
}

absl::StatusOr<v1::Rollout> RolloutEngine::Execute(Run& run, const ProgressFn& progress) {
  EdgesChanging changing([this] { BumpEpoch(); });
  auto& r = run.rollout;
  Snapshot snap = inventory_->Take();
  for (const auto& [name, d] : snap.devices) {
    run.device_by_wan[d.wan_address()] = name;
    run.kind_of[name] = d.kind();
  }
  for (int i = 0; i < r.devices_size(); ++i) run.index_of[r.devices(i).device()] = i;
  uint32_t stages = 0;
  for (const auto& d : r.devices()) stages = std::max(stages, d.stage() + 1);
  const auto& strategy = r.strategy();

  for (uint32_t stage = 0; stage < stages; ++stage) {
    std::vector<int> todo;
    for (int i = 0; i < r.devices_size(); ++i) {
      if (r.devices(i).stage() == stage && r.devices(i).state() != v1::DEVICE_ROLLOUT_STATE_DONE) todo.push_back(i);
    }
    if (todo.empty()) continue;
    const std::string stage_name = stage == 0 ? "canary" : absl::StrCat("batch ", stage);
    // What each ran before, kept before anything changes: our applied
    // record (read for the whole stage at once), else what the edge
    // reports if it holds no keys.
    std::vector<int> unsaved;
    std::vector<std::string> names;
    for (int i : todo) {
      if (run.previous_saved[i]) continue;
      unsaved.push_back(i);
      names.push_back(run.devices[i].name());
    }
    auto sealed = store_->GetMany(kAppliedKind, names);
    if (!sealed.ok()) return sealed.status();
    std::vector<StoreWrite> writes(unsaved.size());
    ParallelFor(unsaved.size(), strategy.max_unavailable(), [&](size_t k) {
      const int i = unsaved[k];
      const v1::Device& dev = run.devices[i];
      std::optional<ike::IkeConfig> prev;
      auto applied = OpenApplied(dev.name(), (*sealed)[k]);
      (*sealed)[k].reset();
      if (applied.ok() && *applied) {
        prev = std::move(*(*applied)->mutable_config());
      } else if (dev.kind() == v1::DEVICE_KIND_VPNFLEET) {
        auto current = edges_->GetConfig(dev);
        if (current.ok() && !HasSecrets(*current)) prev = std::move(*current);
      }
      const std::string name = absl::StrCat(r.id(), "/", dev.name());
      writes[k] = {kPreviousKind, name, prev ? box_->Seal(prev->SerializeAsString(), name) : std::string()};
      run.previous[i] = std::move(prev);
    });
    for (int i : unsaved) run.previous_saved[i] = true;  // a vector<bool>: not from the workers
    for (int i : todo) run.Change(i)->set_state(v1::DEVICE_ROLLOUT_STATE_APPLYING);
    if (auto st = Save(run, std::move(writes)); !st.ok()) return st;
    Report(run, -1, absl::StrCat(stage_name, ": applying to ", todo.size(), " device(s)"), progress);

    // Apply, at most max_unavailable at a time.
    std::vector<StoreWrite> applied_writes;
    std::mutex applied_mu;
    ParallelFor(todo.size(), strategy.max_unavailable(), [&](size_t k) {
      const int i = todo[k];
      const v1::Device& dev = run.devices[i];
      std::string message;
      State state;
      v1::DeviceRunning running = v1::DEVICE_RUNNING_PREVIOUS;
      if (dev.kind() == v1::DEVICE_KIND_IOS && options_.ios == nullptr) {
        state = v1::DEVICE_ROLLOUT_STATE_DONE;
        running = v1::DEVICE_RUNNING_UNKNOWN;
        message = "ios device: its configlet is rendered (`vpnfleet template render`); apply it with your router "
                  "tooling (or give the controller --ios_ssh_key to push it)";
      } else if (dev.kind() == v1::DEVICE_KIND_IOS) {
        // What it runs is what it accepted and saved; the health gate asks
        // its vpnfleet peers whether their tunnels to it come up.
        ios::WriteOptions with_keys;
        with_keys.reveal_keys = true;
        std::string configlet = ios::WriteIosConfig(run.targets[i], with_keys);
        auto pushed = options_.ios->Apply(dev, configlet, IosCheckpointName(r.id()));
        crypto::ZeroizeString(&configlet);
        if (pushed.ok()) {
          state = v1::DEVICE_ROLLOUT_STATE_HEALTH_CHECK;
          running = v1::DEVICE_RUNNING_DESIRED;
          message = *pushed;
          RecordApplied(r, run.targets[i], dev.name(), 0, applied_mu, applied_writes);
        } else {
          state = v1::DEVICE_ROLLOUT_STATE_FAILED;
          message = absl::StrCat("push failed: ", pushed.status().message());
          if (absl::IsAborted(pushed.status())) running = v1::DEVICE_RUNNING_UNKNOWN;  // half-changed
        }
      } else if (dev.wan_address().empty()) {
        state = v1::DEVICE_ROLLOUT_STATE_FAILED;
        message = "the device no longer exists";
      } else {
        auto st = edges_->ReplaceConfig(dev, run.targets[i], false, run.Expected(i));
        if (st.ok()) {
          state = v1::DEVICE_ROLLOUT_STATE_HEALTH_CHECK;
          running = v1::DEVICE_RUNNING_DESIRED;
          message = absl::StrCat("applied (device revision ", *st, ")");
          RecordApplied(r, run.targets[i], dev.name(), *st, applied_mu, applied_writes);
        } else {
          state = v1::DEVICE_ROLLOUT_STATE_FAILED;
          message = absl::StrCat("apply failed: ", st.status().message());
          if (OutcomeUnknown(st.status())) running = v1::DEVICE_RUNNING_UNKNOWN;
        }
      }
      {
        std::lock_guard<std::mutex> lock(run.mu);
        auto* ds = run.Change(i);
        ds->set_running(running);
        ds->set_running_revision(running == v1::DEVICE_RUNNING_DESIRED    ? r.desired_revision()
                                 : running == v1::DEVICE_RUNNING_PREVIOUS ? ds->previous_revision()
                                                                          : 0);
        ds->set_state(state);
        ds->set_message(message);
        if (state == v1::DEVICE_ROLLOUT_STATE_DONE) ++run.done;
      }
      Report(run, i, absl::StrCat(dev.name(), ": ", message), progress);
    });
    if (auto st = Save(run, std::move(applied_writes)); !st.ok()) return st;

    // Health gate.
    const absl::Time deadline = clock_->Now() + absl::Seconds(strategy.health_timeout_seconds());
    std::vector<int> checking;
    for (int i : todo) {
      if (r.devices(i).state() == v1::DEVICE_ROLLOUT_STATE_HEALTH_CHECK) checking.push_back(i);
    }
    if (!checking.empty()) {
      Report(run, -1, absl::StrCat(stage_name, ": health check of ", checking.size(), " device(s)"), progress);
    }
    ParallelFor(checking.size(), strategy.max_unavailable(), [&](size_t k) {
      const int i = checking[k];
      std::vector<std::string> down = HealthCheck(run, i, deadline);
      std::string message;
      {
        std::lock_guard<std::mutex> lock(run.mu);
        auto* st = run.Change(i);
        if (down.empty()) {
          st->set_state(v1::DEVICE_ROLLOUT_STATE_DONE);
          ++run.done;
          message = absl::StrCat(st->message(), "; healthy");
        } else {
          st->set_state(v1::DEVICE_ROLLOUT_STATE_FAILED);
          message = absl::StrCat(st->message(), "; health check failed after ",
                                 strategy.health_timeout_seconds(), " s: ", absl::StrJoin(down, "; "));
        }
        st->set_message(message);
      }
      Report(run, i, absl::StrCat(run.devices[i].name(), ": ", message), progress);
    });

    std::vector<int> failed;
    for (int i : todo) {
      if (r.devices(i).state() == v1::DEVICE_ROLLOUT_STATE_FAILED) failed.push_back(i);
    }
    if (!failed.empty()) {
      Report(run, -1, absl::StrCat(stage_name, ": ", failed.size(), " device(s) failed"), progress);
      if (strategy.auto_rollback()) {
        // Every device this rollout changed goes back, the healthy ones and
        // earlier stages too: a rollout is one change. The latest first.
        std::vector<int> back;
        for (int i : TouchedDevices(r)) {
          if (Pushable(run.devices[i])) back.push_back(i);
        }
        std::stable_sort(back.begin(), back.end(),
                         [&](int a, int b) { return r.devices(a).stage() > r.devices(b).stage(); });
        if (auto st = RollbackDevices(run, back, progress); !st.ok()) return st;
        r.set_state(r.devices_rollback_failed() > 0 ? v1::ROLLOUT_STATE_ROLLBACK_FAILED
                                                    : v1::ROLLOUT_STATE_ROLLED_BACK);
      } else {
        r.set_state(v1::ROLLOUT_STATE_FAILED);
      }
      r.set_finished_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
      if (auto st = Save(run); !st.ok()) return st;
      std::string outcome;
      if (r.state() == v1::ROLLOUT_STATE_ROLLED_BACK) {
        outcome = "; every device it changed was rolled back";
      } else if (r.state() == v1::ROLLOUT_STATE_ROLLBACK_FAILED) {
        outcome = absl::StrCat("; ROLLBACK FAILED on ", r.devices_rollback_failed(), " device(s): ",
                               r.operator_action());
      } else {
        outcome = absl::StrCat("; ", r.operator_action());
      }
      Report(run, -1, absl::StrCat(r.id(), " stopped at the ", stage_name, outcome), progress);
      return r;
    }
    if (auto st = Save(run); !st.ok()) return st;
  }
  r.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  r.set_finished_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
  if (auto st = Save(run); !st.ok()) return st;
  Report(run, -1, absl::StrCat(r.id(), " succeeded: ", r.devices_size(), " device(s) run revision ",
                               r.desired_revision()),
         progress);
  return r;
}

absl::StatusOr<v1::Rollout> RolloutEngine::Rollback(const std::string& id, const ProgressFn& progress) {
  std::unique_lock<std::mutex> exclusive(run_mu_, std::try_to_lock);
  if (!exclusive.owns_lock()) return absl::FailedPreconditionError("another rollout or rollback is running");
  auto run = LoadRun(id);
  if (!run.ok()) return run.status();
  auto& r = (*run)->rollout;
  if (r.state() == v1::ROLLOUT_STATE_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("rollout ", id, " is running; it cannot be rolled back yet"));
  }
  std::vector<int> touched;
  for (int i : TouchedDevices(r)) {
    if (Pushable((*run)->devices[i])) touched.push_back(i);
  }
  Report(**run, -1, absl::StrCat("rolling back ", touched.size(), " device(s) of ", id), progress);
  if (auto st = RollbackDevices(**run, touched, progress); !st.ok()) return st;
  r.set_state(r.devices_rollback_failed() > 0 ? v1::ROLLOUT_STATE_ROLLBACK_FAILED : v1::ROLLOUT_STATE_ROLLED_BACK);
  r.set_finished_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
  if (auto st = Save(**run); !st.ok()) return st;
  Report(**run, -1,
         r.state() == v1::ROLLOUT_STATE_ROLLED_BACK
             ? absl::StrCat(id, " rolled back: every device it changed runs its previous policy")
             : absl::StrCat(id, ": ROLLBACK FAILED on ", r.devices_rollback_failed(), " device(s): ",
                            r.operator_action()),
         progress);
  return r;
}

absl::Status RolloutEngine::ResumeAll(const ProgressFn& progress) {
  if (auto st = WriteMissingSummaries(); !st.ok()) return st;
  auto all = List();
  if (!all.ok()) return all.status();
  for (const auto& r : *all) {
    if (r.state() != v1::ROLLOUT_STATE_RUNNING) continue;
    std::lock_guard<std::mutex> exclusive(run_mu_);
    auto run = LoadRun(r.id());
    if (!run.ok()) return run.status();
    Report(**run, -1, absl::StrCat("resuming ", r.id(), " after a restart"), progress);
    auto done = Execute(**run, progress);
    if (!done.ok()) return done.status();
  }
  return absl::OkStatus();
}

}  // namespace vpnfleet::controller
