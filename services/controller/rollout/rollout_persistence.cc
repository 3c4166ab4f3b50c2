// The rollout engine's records in the store: each rollout in full and as a
// summary, the policy each device was last given (sealed), each target's
// and previous policy (sealed), and reading them back to resume or roll
// back; a record that cannot be opened or parsed is DataLoss, never an
// empty policy.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/zeroize.h"
#include "services/controller/rollout/rollout_engine.h"
#include "services/controller/rollout/rollout_record.h"
#include "services/controller/rollout/rollout_run.h"

namespace vpnfleet::controller {

namespace ike = vpnfleet::ike::v1;

absl::StatusOr<std::optional<v1::AppliedPolicy>> RolloutEngine::Applied(const std::string& device) {
  auto rec = store_->Get(kAppliedKind, device);
  if (!rec.ok()) return rec.status();
  return OpenApplied(device, *rec);
}

absl::StatusOr<std::optional<v1::AppliedPolicy>> RolloutEngine::OpenApplied(const std::string& device,
                                                                             const std::optional<std::string>& sealed) {
  if (!sealed) return std::optional<v1::AppliedPolicy>();
  auto opened = box_->Open(*sealed, device);
  if (!opened.ok()) return opened.status();
  v1::AppliedPolicy a;
  bool parsed = a.ParseFromString(*opened);
  crypto::ZeroizeString(&*opened);
  if (!parsed) return absl::DataLossError(absl::StrCat("applied policy of ", device, " does not parse"));
  return std::optional<v1::AppliedPolicy>(std::move(a));
}

void RolloutEngine::RecordApplied(const v1::Rollout& r, const ike::IkeConfig& config, const std::string& device,
                                  uint64_t device_revision, std::mutex& mu, std::vector<StoreWrite>& writes) {
  v1::AppliedPolicy a;
  a.set_desired_revision(r.desired_revision());
  *a.mutable_config() = config;
  a.set_rollout_id(r.id());
  a.set_applied_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
  a.set_device_revision(device_revision);
  std::string plain = a.SerializeAsString();
  {
    std::lock_guard<std::mutex> lock(mu);
    writes.push_back({kAppliedKind, device, box_->Seal(plain, device)});
  }
  crypto::ZeroizeString(&plain);
  Wipe(a.mutable_config());
}

absl::Status RolloutEngine::Save(Run& run, std::vector<StoreWrite> extra) {
  std::string summary;
  std::vector<std::pair<size_t, uint64_t>> saving;  // part, version written
  {
    std::lock_guard<std::mutex> lock(run.mu);
    CountDevices(&run.rollout);
    const int n = run.rollout.devices_size();
    const size_t parts = PartCount(n);
    run.part_version.resize(parts, 1);
    run.part_saved.resize(parts, 0);
    for (size_t k = 0; k < parts; ++k) {
      if (run.part_version[k] == run.part_saved[k]) continue;
      v1::Rollout part;
      const int end = std::min<int>(n, static_cast<int>((k + 1) * kDevicesPerPart));
      for (int i = static_cast<int>(k * kDevicesPerPart); i < end; ++i) *part.add_devices() = run.rollout.devices(i);
      extra.push_back({kPartKind, PartName(run.rollout.id(), k), part.SerializeAsString()});
      saving.emplace_back(k, run.part_version[k]);
    }
    summary = RolloutSummary(run.rollout).SerializeAsString();
  }
  // The record without its devices (they are in the parts) and the summary
  // are the same bytes; both kinds are kept for what reads each.
  extra.push_back({kRolloutKind, run.rollout.id(), summary});
  extra.push_back({kSummaryKind, run.rollout.id(), std::move(summary)});
  auto committed = store_->Commit(extra, /*new_revision=*/false, absl::ToUnixSeconds(clock_->Now()));
  if (!committed.ok()) return committed.status();
  std::lock_guard<std::mutex> lock(run.mu);
  for (const auto& [k, version] : saving) run.part_saved[k] = std::max(run.part_saved[k], version);
  return absl::OkStatus();
}

std::string RolloutEngine::PartName(const std::string& id, size_t part) { return absl::StrCat(id, "/", part); }

size_t RolloutEngine::PartCount(size_t devices) { return (devices + kDevicesPerPart - 1) / kDevicesPerPart; }

absl::StatusOr<v1::Rollout> RolloutEngine::ReadRollout(const std::string& id) {
  auto rec = store_->Get(kRolloutKind, id);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return absl::NotFoundError(absl::StrCat("rollout ", id, " does not exist"));
  v1::Rollout r;
  if (!r.ParseFromString(**rec)) return absl::DataLossError(absl::StrCat("rollout ", id, " does not parse"));
  if (auto st = ReadParts(&r); !st.ok()) return st;
  return r;
}

absl::Status RolloutEngine::ReadParts(v1::Rollout* r) {
  if (r->devices_size() > 0 || r->devices_total() == 0) return absl::OkStatus();  // devices inline, or none
  const size_t parts = PartCount(r->devices_total());
  for (size_t k = 0; k < parts; ++k) {
    auto rec = store_->Get(kPartKind, PartName(r->id(), k));
    if (!rec.ok()) return rec.status();
    if (!rec->has_value()) {
      return absl::DataLossError(absl::StrCat("rollout ", r->id(), ": part ", k, " of its devices is missing"));
    }
    v1::Rollout part;
    if (!part.ParseFromString(**rec)) {
      return absl::DataLossError(absl::StrCat("rollout ", r->id(), ": part ", k, " of its devices does not parse"));
    }
    for (auto& d : *part.mutable_devices()) *r->add_devices() = std::move(d);
  }
  if (static_cast<uint32_t>(r->devices_size()) != r->devices_total()) {
    return absl::DataLossError(absl::StrCat("rollout ", r->id(), ": its parts hold ", r->devices_size(),
                                            " devices, not ", r->devices_total()));
  }
  return absl::OkStatus();
}

absl::Status RolloutEngine::WriteMissingSummaries() {
  // Once per store, not on every start: it reads every rollout in full.
  constexpr char kMarkerKind[] = "schema", kMarker[] = "rollout-summaries";
  auto done = store_->Get(kMarkerKind, kMarker);
  if (!done.ok()) return done.status();
  if (done->has_value()) return absl::OkStatus();
  auto summaries = store_->List(kSummaryKind);
  if (!summaries.ok()) return summaries.status();
  std::set<std::string> have;
  for (const auto& rec : *summaries) have.insert(rec.name);
  auto full = store_->List(kRolloutKind);
  if (!full.ok()) return full.status();
  std::vector<StoreWrite> writes;
  for (const auto& rec : *full) {
    if (have.count(rec.name)) continue;
    v1::Rollout r;
    if (!r.ParseFromString(rec.value)) continue;  // Get reports it when asked
    CountDevices(&r);
    writes.push_back({kSummaryKind, rec.name, RolloutSummary(r).SerializeAsString()});
  }
  writes.push_back({kMarkerKind, kMarker, "1"});
  return store_->Commit(writes, /*new_revision=*/false, absl::ToUnixSeconds(clock_->Now())).status();
}

absl::StatusOr<std::optional<std::optional<ike::IkeConfig>>> RolloutEngine::OpenSealedConfig(
    const char* kind, const std::string& name, const std::optional<std::string>& sealed) {
  using Result = std::optional<std::optional<ike::IkeConfig>>;
  if (!sealed) return Result();
  // An empty previous record: the device had no configuration before.
  if (sealed->empty()) return Result(std::optional<ike::IkeConfig>());
  auto opened = box_->Open(*sealed, name);
  if (!opened.ok()) {
    return absl::DataLossError(absl::StrCat(kind, " ", name, " does not open with this controller's secret key"));
  }
  ike::IkeConfig config;
  const bool parsed = config.ParseFromString(*opened);
  crypto::ZeroizeString(&*opened);
  if (!parsed) return absl::DataLossError(absl::StrCat(kind, " ", name, " does not parse"));
  return Result(std::optional<ike::IkeConfig>(std::move(config)));
}

absl::StatusOr<std::unique_ptr<RolloutEngine::Run>> RolloutEngine::LoadRun(const std::string& id) {
  auto rec = store_->Get(kRolloutKind, id);
  if (!rec.ok()) return rec.status();
  if (!rec->has_value()) return absl::NotFoundError(absl::StrCat("rollout ", id, " does not exist"));
  auto run = std::make_unique<Run>();
  if (!run->rollout.ParseFromString(**rec)) return absl::DataLossError(absl::StrCat("rollout ", id, " does not parse"));
  // A record from before parts holds its devices: its next save writes them as parts.
  const bool inline_devices = run->rollout.devices_size() > 0;
  if (auto st = ReadParts(&run->rollout); !st.ok()) return st;
  const size_t parts = PartCount(run->rollout.devices_size());
  run->part_version.assign(parts, inline_devices ? 1 : 0);
  run->part_saved.assign(parts, 0);
  Snapshot snap = inventory_->Take();
  // Each device's target and previous policy, read for all devices at once.
  std::vector<std::string> names;
  for (const auto& st : run->rollout.devices()) names.push_back(absl::StrCat(id, "/", st.device()));
  auto targets = store_->GetMany(kTargetKind, names);
  if (!targets.ok()) return targets.status();
  auto previous = store_->GetMany(kPreviousKind, names);
  if (!previous.ok()) return previous.status();
  for (int i = 0; i < run->rollout.devices_size(); ++i) {
    const auto& st = run->rollout.devices(i);
    auto it = snap.devices.find(st.device());
    v1::Device dev;
    if (it != snap.devices.end()) dev = it->second;
    dev.set_name(st.device());
    run->devices.push_back(dev);
    // A target or previous configuration that cannot be read is data lost:
    // the rollout stops here rather than push (or restore) an empty policy.
    const std::string& name = names[i];
    auto target = OpenSealedConfig(kTargetKind, name, (*targets)[i]);
    (*targets)[i].reset();
    if (!target.ok()) return target.status();
    if (!target->has_value() || !(*target)->has_value()) {
      return absl::DataLossError(absl::StrCat("rollout ", id, ": the target policy of ", st.device(), " is missing"));
    }
    run->targets.push_back(std::move(***target));
    auto prev_record = OpenSealedConfig(kPreviousKind, name, (*previous)[i]);
    (*previous)[i].reset();
    if (!prev_record.ok()) return prev_record.status();
    const bool saved = prev_record->has_value();
    std::optional<ike::IkeConfig> prev;
    if (saved) prev = std::move(**prev_record);
    run->previous.push_back(std::move(prev));
    run->previous_saved.push_back(saved);
    if (st.state() == v1::DEVICE_ROLLOUT_STATE_DONE) ++run->done;
  }
  return run;
}

absl::StatusOr<v1::Rollout> RolloutEngine::Get(const std::string& id) {
  auto r = ReadRollout(id);
  if (!r.ok()) return r.status();
  CountDevices(&*r);
  return r;
}

absl::StatusOr<std::vector<v1::Rollout>> RolloutEngine::List(bool with_devices) {
  auto recs = store_->List(with_devices ? kRolloutKind : kSummaryKind);
  if (!recs.ok()) return recs.status();
  std::vector<v1::Rollout> out;
  for (const auto& rec : *recs) {
    v1::Rollout r;
    if (!r.ParseFromString(rec.value)) {
      return absl::DataLossError(absl::StrCat("rollout record ", rec.name, " does not parse"));
    }
    if (with_devices) {
      if (auto st = ReadParts(&r); !st.ok()) return st;
    }
    out.push_back(std::move(r));
  }
  // rollout-2 before rollout-10.
  std::sort(out.begin(), out.end(), [](const v1::Rollout& a, const v1::Rollout& b) {
    return a.id().size() != b.id().size() ? a.id().size() < b.id().size() : a.id() < b.id();
  });
  return out;
}

}  // namespace vpnfleet::controller
