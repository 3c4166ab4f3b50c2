// ControllerService.WatchFleet: a store watch per stream, the initial state
// read after it opened, then each committed change of the kinds asked for
// (fleet_events.h converts), on any replica; at most kMaxWatchers at once.
#include <string>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"
#include "services/controller/server/controller_service.h"
#include "services/controller/server/fleet_events.h"

namespace vpnfleet::controller {

grpc::Status ControllerServiceImpl::WatchFleet(grpc::ServerContext* context, const v1::WatchFleetRequest* req,
                                               grpc::ServerWriter<v1::FleetEvent>* writer) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/WatchFleet"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "WatchFleet"); !bad.ok()) return bad;
  auto kinds = WatchedKinds(*req);
  if (!kinds.ok()) return ToGrpcStatus(kinds.status());
  if (watchers_.fetch_add(1) >= kMaxWatchers) {
    watchers_.fetch_sub(1);
    return ToGrpcStatus(absl::ResourceExhaustedError(
        absl::StrCat("this controller replica already serves ", kMaxWatchers, " fleet watches; try another replica")));
  }
  watchers_gauge_.Increment();
  struct Release {
    ControllerServiceImpl* self;
    ~Release() {
      self->watchers_.fetch_sub(1);
      self->watchers_gauge_.Decrement();
    }
  } release{this};
  // The watch opens before the initial state is read: nothing committed in
  // between is missed (it may come twice).
  auto watch = store_->Watch();
  if (!watch.ok()) return ToGrpcStatus(absl::UnavailableError(absl::StrCat("cannot watch the store: ", watch.status().message())));
  bool open = true;
  if (req->send_initial()) {
    auto st = EmitInitialState(*store_, *kinds, [&](const v1::FleetEvent& e) { return open = writer->Write(e); });
    if (!st.ok()) return ToGrpcStatus(st);
    v1::FleetEvent synced;
    synced.set_type(v1::FleetEvent::TYPE_SYNCED);
    if (open) open = writer->Write(synced);
  }
  while (open && (context == nullptr || !context->IsCancelled())) {
    auto changes = (*watch)->Next(absl::Seconds(1));
    if (!changes.ok()) {
      log::Warn("fleet watch ended", {{"error", std::string(changes.status().message())}});
      return ToGrpcStatus(absl::UnavailableError(
          absl::StrCat("the controller's watch of its store ended (", changes.status().message(),
                       "); watch again with send_initial")));
    }
    for (const StoreChange& c : *changes) {
      auto e = FleetEventOf(c, *kinds);
      if (!e.ok()) {
        log::Error("fleet watch: a stored record does not parse", {{"error", std::string(e.status().message())}});
        continue;
      }
      if (*e && !(open = writer->Write(**e))) break;
    }
  }
  return grpc::Status::OK;
}

}  // namespace vpnfleet::controller
