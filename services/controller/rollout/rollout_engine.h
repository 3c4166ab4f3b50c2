// Staged rollouts of desired policy to the edges.
//
// Start renders and validates the fleet (nothing is pushed if anything is
// wrong, and each edge checks its new policy with validate_only first),
// plans each target against what it reports, then applies in stages: a
// canary stage, then batches, at most max_unavailable devices changing at a
// time. Each edge takes its policy atomically (IkeService.ReplaceConfig).
// After each stage a health gate brings up the tunnels of the changed
// entries whose both ends now run the desired policy (Initiate, then the
// CHILD SA must appear) within health_timeout_seconds. A failed stage is
// rolled back to what its devices ran before (auto_rollback) and the
// rollout stops.
//
// Everything needed to continue is in the store before it is acted on: the
// rollout, each target's policy and what it ran before (both sealed, they
// hold keys), and the state of each device at stage boundaries. A controller
// killed mid-rollout continues it on restart (ResumeAll); re-applying a
// policy an edge already runs is harmless.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_ENGINE_H_
#define VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_ENGINE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "services/controller/model/inventory.h"
#include "services/controller/model/pair_keys.h"
#include "services/controller/rollout/edge_client.h"
#include "services/controller/rollout/ios_pusher.h"
#include "services/controller/store/secret_box.h"
#include "services/controller/store/store.h"
#include "services/controller/templates/desired.h"

namespace vpnfleet::controller {

struct RolloutOptions {
  absl::Duration health_poll = absl::Milliseconds(500);
  // Real sleep unless a test replaces it.
  std::function<void(absl::Duration)> sleep;
  size_t max_parallel = 64;  // threads talking to edges at once
  // Pushes to `ios` devices (over SSH); without one their configlets are
  // only rendered, for the operator's own tooling.
  IosPusher* ios = nullptr;
};

using ProgressFn = std::function<void(const v1::RolloutProgress&)>;

class RolloutEngine {
 public:
  static constexpr char kRolloutKind[] = "rollout";
  // The same rollout without its devices, written in the same commit: what
  // listing and Start read, so their cost does not grow with fleet size
  // times rollouts on record.
  static constexpr char kSummaryKind[] = "rollout-summary";
  // The devices' statuses, kDevicesPerPart to a record named ID/K: a save
  // writes the parts whose devices changed, so a stage of a rollout of
  // 100,000 devices writes kilobytes, not the whole record (megabytes). The
  // kRolloutKind record then holds the rest, with devices_total; records
  // written before parts existed hold their devices themselves.
  static constexpr char kPartKind[] = "rollout-part";
  static constexpr int kDevicesPerPart = 1000;
  static std::string PartName(const std::string& id, size_t part);  // ID/K
  static size_t PartCount(size_t devices);
  static constexpr char kTargetKind[] = "rollout-target";
  static constexpr char kPreviousKind[] = "rollout-previous";
  static constexpr char kAppliedKind[] = "applied";

  RolloutEngine(Inventory* inventory, PairKeys* keys, Store* store, const SecretBox* box, EdgeClient* edges,
                const Clock* clock, RolloutOptions options = {});

  struct Desired {
    Snapshot snapshot;
    std::map<std::string, DesiredPolicy> policies;  // keys in clear, wiped on destruction
    std::vector<v1::Diagnostic> diagnostics;        // rendering and fleet validation
    bool keys_stored = true;                        // new pair keys reached the store
    bool ok() const;
    Desired() = default;
    Desired(const Desired&) = delete;
    Desired& operator=(const Desired&) = delete;
    ~Desired();
  };
  // The whole fleet rendered and validated (targets are checked against
  // their peers, so everything is rendered). It is a function of the
  // desired-state revision (pair keys, once made, do not change), so the
  // last result is kept and shared while the revision stands: `rollout
  // plan` then `rollout apply` render 10,000 devices once.
  std::shared_ptr<const Desired> ComputeDesired();

  absl::StatusOr<v1::RolloutPlan> Plan(const std::vector<std::string>& devices);
  // Runs the rollout to its end in the calling thread, reporting progress.
  absl::StatusOr<v1::Rollout> Start(const v1::StartRolloutRequest& request, const ProgressFn& progress);
  absl::StatusOr<v1::Rollout> Rollback(const std::string& id, const ProgressFn& progress);
  absl::StatusOr<v1::Rollout> Get(const std::string& id);
  // Oldest first; with_devices false: summaries (counts, no devices).
  absl::StatusOr<std::vector<v1::Rollout>> List(bool with_devices = false);
  // Continues every rollout the store says is running. Blocking.
  absl::Status ResumeAll(const ProgressFn& progress);

  absl::StatusOr<std::optional<v1::AppliedPolicy>> Applied(const std::string& device);
  // The applied record as the store returned it (GetMany), opened.
  absl::StatusOr<std::optional<v1::AppliedPolicy>> OpenApplied(const std::string& device,
                                                               const std::optional<std::string>& sealed);

 private:
  struct Run;
  // The last Plan's findings, for Start at the same desired revision while
  // no rollout or rollback has changed an edge since (`epoch`): a device the
  // plan saw changing, at a known configuration revision, is not read again;
  // its pushes carry that revision, so the edge refuses them if it changed
  // since. Devices the plan saw unchanged, or could not read, are read anew.
  struct PlanMemo {
    uint64_t desired_revision = 0;
    uint64_t epoch = 0;
    absl::Time made;
    std::map<std::string, v1::DevicePlan> devices;  // without the diff lines
  };
  static constexpr absl::Duration kPlanMemoLifetime = absl::Minutes(15);
  absl::StatusOr<v1::RolloutPlan> PlanFor(const Desired& desired, const std::vector<std::string>& devices,
                                          const PlanMemo* reuse = nullptr);
  // Before and after anything that changes edges: plans made across it are stale.
  void BumpEpoch() { edge_epoch_.fetch_add(1); }
  std::shared_ptr<const Desired> Render();
  absl::StatusOr<v1::Rollout> Execute(Run& run, const ProgressFn& progress);
  // Devices the engine changes itself: vpnfleet edges, and ios routers
  // when it can push to them.
  bool Pushable(const v1::Device& d) const {
    return d.kind() == v1::DEVICE_KIND_VPNFLEET || (d.kind() == v1::DEVICE_KIND_IOS && options_.ios != nullptr);
  }
  // The policy a device now runs, sealed, added to `writes` (under `mu`).
  void RecordApplied(const v1::Rollout& r, const vpnfleet::ike::v1::IkeConfig& config, const std::string& device,
                     uint64_t device_revision, std::mutex& mu, std::vector<StoreWrite>& writes);
  absl::Status Save(Run& run, std::vector<StoreWrite> extra = {});
  // The stored rollout with its devices, from its parts if it has them.
  absl::StatusOr<v1::Rollout> ReadRollout(const std::string& id);
  absl::Status ReadParts(v1::Rollout* r);
  // Summaries for rollouts stored before summaries existed.
  absl::Status WriteMissingSummaries();
  absl::StatusOr<std::unique_ptr<Run>> LoadRun(const std::string& id);
  // A sealed configuration record as the store returned it: nullopt when
  // absent; an empty inner optional for an empty record (no configuration);
  // DataLoss when it does not open or parse.
  absl::StatusOr<std::optional<std::optional<ike::v1::IkeConfig>>> OpenSealedConfig(
      const char* kind, const std::string& name, const std::optional<std::string>& sealed);
  absl::Status RollbackDevices(Run& run, const std::vector<int>& indices, const ProgressFn& progress);
  void Report(Run& run, int index, const std::string& message, const ProgressFn& progress);
  std::vector<std::string> HealthCheck(Run& run, int index, absl::Time deadline);
  void Sleep(absl::Duration d);
  void ParallelFor(size_t n, size_t parallelism, const std::function<void(size_t)>& fn);

  Inventory* inventory_;
  PairKeys* keys_;
  Store* store_;
  const SecretBox* box_;
  EdgeClient* edges_;
  const Clock* clock_;
  RolloutOptions options_;
  std::mutex run_mu_;  // one rollout (or rollback) at a time
  std::mutex desired_mu_;
  std::shared_ptr<const Desired> desired_;  // the last render, at desired_->snapshot.revision
  std::atomic<uint64_t> edge_epoch_{0};
  std::mutex memo_mu_;
  std::optional<PlanMemo> memo_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_ENGINE_H_
