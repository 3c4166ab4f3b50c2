#include "services/controller/server/fleet_events.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "services/controller/model/inventory.h"
#include "services/controller/rollout/rollout_engine.h"

namespace vpnfleet::controller {
namespace {

struct KindRecord {
  v1::FleetObjectKind kind;
  const char* store_kind;
};

constexpr KindRecord kKinds[] = {
    {v1::FLEET_OBJECT_KIND_DEVICE, Inventory::kDeviceKind},
    {v1::FLEET_OBJECT_KIND_TEMPLATE, Inventory::kTemplateKind},
    {v1::FLEET_OBJECT_KIND_DATA_SET, Inventory::kDataSetKind},
    // The summary: a rollout's full record carries every device's status.
    {v1::FLEET_OBJECT_KIND_ROLLOUT, RolloutEngine::kSummaryKind},
};

// Parses `value` into the event's object of `kind`.
bool SetObject(v1::FleetObjectKind kind, const std::string& value, v1::FleetEvent* e) {
  switch (kind) {
    case v1::FLEET_OBJECT_KIND_DEVICE: return e->mutable_device()->ParseFromString(value);
    case v1::FLEET_OBJECT_KIND_TEMPLATE: return e->mutable_template_()->ParseFromString(value);
    case v1::FLEET_OBJECT_KIND_DATA_SET: return e->mutable_data_set()->ParseFromString(value);
    case v1::FLEET_OBJECT_KIND_ROLLOUT: {
      v1::Rollout* r = e->mutable_rollout();
      if (!r->ParseFromString(value)) return false;
      r->clear_devices();
      return true;
    }
    default: return false;
  }
}

}  // namespace

absl::StatusOr<std::set<v1::FleetObjectKind>> WatchedKinds(const v1::WatchFleetRequest& request) {
  std::set<v1::FleetObjectKind> kinds;
  for (int k : request.kinds()) {
    if (k == v1::FLEET_OBJECT_KIND_UNSPECIFIED || !v1::FleetObjectKind_IsValid(k)) {
      return absl::InvalidArgumentError(absl::StrCat("kinds: ", k, " is not a fleet object kind"));
    }
    kinds.insert(static_cast<v1::FleetObjectKind>(k));
  }
  if (kinds.empty()) {
    for (const auto& k : kKinds) kinds.insert(k.kind);
  }
  return kinds;
}

absl::StatusOr<std::optional<v1::FleetEvent>> FleetEventOf(const StoreChange& change,
                                                           const std::set<v1::FleetObjectKind>& kinds) {
  for (const auto& k : kKinds) {
    if (change.kind != k.store_kind) continue;
    if (!kinds.count(k.kind)) return std::nullopt;
    v1::FleetEvent e;
    e.set_kind(k.kind);
    e.set_name(change.name);
    if (!change.value) {
      e.set_type(v1::FleetEvent::TYPE_DELETED);
      return e;
    }
    e.set_type(v1::FleetEvent::TYPE_PUT);
    if (!SetObject(k.kind, *change.value, &e)) {
      return absl::DataLossError(absl::StrCat("controller store: ", change.kind, " ", change.name, " does not parse"));
    }
    return e;
  }
  return std::nullopt;
}

absl::Status EmitInitialState(Store& store, const std::set<v1::FleetObjectKind>& kinds,
                              const std::function<bool(const v1::FleetEvent&)>& emit) {
  for (const auto& k : kKinds) {
    if (!kinds.count(k.kind)) continue;
    auto records = store.List(k.store_kind);
    if (!records.ok()) return records.status();
    for (const auto& r : *records) {
      auto e = FleetEventOf(StoreChange{r.kind, r.name, r.value}, kinds);
      if (!e.ok()) return e.status();
      (*e)->set_initial(true);
      if (!emit(**e)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace vpnfleet::controller
