#include "services/controller/server/controller_service.h"

#include "common/secrets/ike_config_secrets.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/crypto/zeroize.h"
#include "common/log/log.h"
#include "grpcpp/client_context.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/ios/ios_writer.h"
#include "services/controller/server/progress_stream.h"
#include "services/controller/templates/renderer.h"
#include "services/controller/templates/template_outline.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::controller {
namespace {

// List RPCs answer in pages, so that no answer outgrows gRPC's 4 MB however
// large the inventory: at most page_size items (0: 1,000; at most 10,000)
// and 3 MB of them, starting after `token` (the key of the last item of the
// page before, in the list's order `less`). `next` is set when more follow.
constexpr uint32_t kDefaultPageSize = 1000;
constexpr uint32_t kMaxPageSize = 10000;
constexpr size_t kMaxPageBytes = 3 << 20;

template <typename T, typename KeyOf, typename Less, typename Field>
void Page(std::vector<T>& items, uint32_t page_size, const std::string& token, KeyOf key_of, Less less,
          Field* out, std::string* next) {
  const uint32_t size = page_size == 0 ? kDefaultPageSize : std::min(page_size, kMaxPageSize);
  auto it = items.begin();
  if (!token.empty()) {
    it = std::upper_bound(items.begin(), items.end(), token,
                          [&](const std::string& k, const T& x) { return less(k, key_of(x)); });
  }
  size_t bytes = 0;
  std::string last;
  for (; it != items.end(); ++it) {
    const size_t item_bytes = it->ByteSizeLong();
    if (static_cast<uint32_t>(out->size()) == size || (out->size() > 0 && bytes + item_bytes > kMaxPageBytes)) {
      *next = std::move(last);
      return;
    }
    bytes += item_bytes;
    last = key_of(*it);
    *out->Add() = std::move(*it);
  }
}

bool NameLess(const std::string& a, const std::string& b) { return a < b; }

}  // namespace

ControllerServiceImpl::ControllerServiceImpl(Inventory* inventory, Store* store, PairKeys* keys,
                                             RolloutEngine* rollouts, EdgeClient* edges,
                                             vpnfleet::pki::v1::PkiService::StubInterface* pki,
                                             prometheus::Registry& registry, const security::Authorizer* authz)
    : authz_(authz),
      inventory_(inventory),
      store_(store),
      keys_(keys),
      rollouts_(rollouts),
      edges_(edges),
      pki_(pki),
      rollouts_total_(prometheus::BuildCounter()
                          .Name("vpnfleet_controller_rollouts_total")
                          .Help("Rollouts by result (succeeded, failed, rolled_back, rollback_failed, refused).")
                          .Register(registry)),
      device_applies_(prometheus::BuildCounter()
                          .Name("vpnfleet_controller_device_rollouts_total")
                          .Help("Devices a rollout ended for, by result.")
                          .Register(registry)),
      enrollments_(prometheus::BuildCounter()
                       .Name("vpnfleet_controller_enrollment_tickets_total")
                       .Help("SCEP challenges fetched from the PKI service for devices.")
                       .Register(registry)
                       .Add({})),
      refused_(prometheus::BuildCounter()
                   .Name("vpnfleet_controller_requests_refused_total")
                   .Help("Requests refused before use for a field over the API's limits, by RPC.")
                   .Register(registry)),
      import_lines_(prometheus::BuildCounter()
                        .Name("vpnfleet_controller_ios_import_lines_total")
                        .Help("Lines of IOS configuration read by ImportIosConfig.")
                        .Register(registry)
                        .Add({})),
      objects_(prometheus::BuildGauge()
                   .Name("vpnfleet_controller_objects")
                   .Help("Objects in the desired state, by kind.")
                   .Register(registry)),
      revision_(prometheus::BuildGauge()
                    .Name("vpnfleet_controller_revision")
                    .Help("Revision of the desired state.")
                    .Register(registry)
                    .Add({})),
      watchers_gauge_(prometheus::BuildGauge()
                          .Name("vpnfleet_controller_fleet_watchers")
                          .Help("WatchFleet streams open on this replica.")
                          .Register(registry)
                          .Add({})) {
  // Names, addresses and variable values fit in 1 KB; a template body or an
  // IOS configuration is larger, within what their readers accept.
  limits_.string_bytes["vpnfleet.controller.v1.Template.body"] = kMaxTemplateBytes;
  limits_.string_bytes["vpnfleet.controller.v1.RenderTemplateRequest.base_config"] = ios::kMaxConfigBytes;
  limits_.string_bytes["vpnfleet.controller.v1.ImportIosConfigRequest.config_text"] = ios::kMaxConfigBytes;
  limits_.repeated["vpnfleet.controller.v1.Device.labels"] = 64;
  limits_.repeated["vpnfleet.controller.v1.Device.inner_prefixes"] = 1024;
  limits_.repeated["vpnfleet.controller.v1.Template.variables"] = 1000;
  limits_.repeated["vpnfleet.controller.v1.DataSet.values"] = 1000;
  // Every series an alert rule reads exists from the start, at zero.
  for (const char* result : {"succeeded", "failed", "rolled_back", "rollback_failed", "refused"}) {
    rollouts_total_.Add({{"result", result}});
  }
  for (const char* result : {"done", "failed", "rolled_back", "rollback_failed"}) {
    device_applies_.Add({{"result", result}});
  }
  UpdateGauges();
}

grpc::Status ControllerServiceImpl::Admit(const google::protobuf::Message& request, const char* rpc) {
  absl::Status st = api::CheckFieldLimits(request, limits_);
  if (st.ok()) return grpc::Status::OK;
  refused_.Add({{"rpc", rpc}}).Increment();
  return ToGrpcStatus(st);
}

namespace {

// What a follower answers from its copy of the fleet: reads that need no
// leader. RenderTemplate, Validate and PlanRollout read too, but may create
// and store pair keys: only the leader may.
bool ServedByFollowers(absl::string_view method) {
  static const std::set<absl::string_view> kReads = {
      "GetDevice", "ListDevices", "GetTemplate", "ListTemplates", "GetDataSet", "ListDataSets",
      "ImportIosConfig", "GetRollout", "ListRollouts", "GetDeviceState", "WatchFleet"};
  const size_t slash = method.rfind('/');
  return slash != absl::string_view::npos && kReads.count(method.substr(slash + 1)) > 0;
}

}  // namespace

grpc::Status ControllerServiceImpl::Gate(const grpc::ServerContext* context, absl::string_view method) const {
  if (auto denied = authz_->Check(context, method); !denied.ok()) return denied;
  if (leader_gate_) {
    if (absl::Status leading = leader_gate_(ServedByFollowers(method)); !leading.ok()) return ToGrpcStatus(leading);
  }
  return grpc::Status::OK;
}

void ControllerServiceImpl::UpdateGauges() {
  // Counts, not copies: this runs after every change of a 10,000-device fleet.
  const Inventory::Counts n = inventory_->Count();
  objects_.Add({{"kind", "device"}}).Set(static_cast<double>(n.devices));
  objects_.Add({{"kind", "template"}}).Set(static_cast<double>(n.templates));
  objects_.Add({{"kind", "data_set"}}).Set(static_cast<double>(n.data_sets));
  revision_.Set(static_cast<double>(n.revision));
}

grpc::Status ControllerServiceImpl::PutDevice(grpc::ServerContext* context, const v1::PutDeviceRequest* req,
                                              v1::Device* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/PutDevice"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "PutDevice"); !bad.ok()) return bad;
  // A device that moves keeps its certificates' names in step: the PKI is
  // told first, so that its next renewal carries the new address (and
  // nothing is stored here if the PKI cannot be told).
  if (auto before = inventory_->GetDevice(req->device().name());
      pki_ != nullptr && before.ok() && !req->device().wan_address().empty() &&
      before->wan_address() != req->device().wan_address()) {
    vpnfleet::pki::v1::RegisterDeviceRequest rreq;
    rreq.set_device(req->device().name());
    rreq.set_subject_cn(req->device().name());
    rreq.add_subject_alt_names(absl::StrCat("IP:", req->device().wan_address()));
    vpnfleet::pki::v1::DeviceRegistration reg;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status st = pki_->RegisterDevice(&ctx, rreq, &reg);
    if (!st.ok()) {
      return grpc::Status(st.error_code(),
                          absl::StrCat("PKI service (registering the device's new address): ",
                                       st.error_message()));
    }
    log::Info("device re-registered with the PKI",
              {{"device", req->device().name()}, {"wan_address", req->device().wan_address()}});
  }
  auto d = inventory_->PutDevice(req->device(), req->create_only());
  if (!d.ok()) return ToGrpcStatus(d.status());
  log::Info("device stored", {{"device", d->name()}, {"revision", d->revision().number()}});
  *resp = *std::move(d);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetDevice(grpc::ServerContext* context, const v1::GetDeviceRequest* req,
                                              v1::Device* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/GetDevice"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "GetDevice"); !bad.ok()) return bad;
  auto d = inventory_->GetDevice(req->name());
  if (!d.ok()) return ToGrpcStatus(d.status());
  *resp = *std::move(d);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListDevices(grpc::ServerContext* context,
                                                const v1::ListDevicesRequest* req,
                                                v1::ListDevicesResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/ListDevices"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "ListDevices"); !bad.ok()) return bad;
  // Only the page (and one more, to know whether another follows) is copied.
  const uint32_t size = req->page_size() == 0 ? kDefaultPageSize : std::min(req->page_size(), kMaxPageSize);
  auto all = inventory_->ListDevices(*req, size_t{size} + 1);
  Page(all, req->page_size(), req->page_token(), [](const v1::Device& d) { return d.name(); }, NameLess,
       resp->mutable_devices(), resp->mutable_next_page_token());
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteDevice(grpc::ServerContext* context,
                                                 const v1::DeleteDeviceRequest* req,
                                                 v1::DeleteDeviceResponse*) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/DeleteDevice"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "DeleteDevice"); !bad.ok()) return bad;
  absl::Status st = inventory_->DeleteDevice(req->name());
  if (st.ok()) {
    log::Info("device deleted", {{"device", req->name()}});
    // Its pair keys go too: a new device given the same name must not
    // inherit keys the old one (perhaps decommissioned, perhaps stolen) knew.
    if (absl::Status keys = keys_->ForgetDevice(req->name()); !keys.ok()) {
      log::Warn("pair keys of a deleted device not removed", {{"device", req->name()},
                                                               {"error", std::string(keys.message())}});
      st = absl::InternalError(absl::StrCat("device ", req->name(), " is deleted, but its pair keys could not be "
                                            "removed from the store: ", keys.message()));
    }
  }
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status ControllerServiceImpl::PutTemplate(grpc::ServerContext* context,
                                                const v1::PutTemplateRequest* req,
                                                v1::Template* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/PutTemplate"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "PutTemplate"); !bad.ok()) return bad;
  if (auto st = CheckTemplateSyntax(req->template_()); !st.ok()) return ToGrpcStatus(st);
  auto t = inventory_->PutTemplate(req->template_());
  if (!t.ok()) return ToGrpcStatus(t.status());
  *resp = *std::move(t);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetTemplate(grpc::ServerContext* context,
                                                const v1::GetTemplateRequest* req,
                                                v1::Template* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/GetTemplate"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "GetTemplate"); !bad.ok()) return bad;
  auto t = inventory_->GetTemplate(req->name());
  if (!t.ok()) return ToGrpcStatus(t.status());
  *resp = *std::move(t);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListTemplates(grpc::ServerContext* context,
                                                  const v1::ListTemplatesRequest* req,
                                                  v1::ListTemplatesResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/ListTemplates"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "ListTemplates"); !bad.ok()) return bad;
  auto all = inventory_->ListTemplates();
  Page(all, req->page_size(), req->page_token(), [](const v1::Template& t) { return t.name(); }, NameLess,
       resp->mutable_templates(), resp->mutable_next_page_token());
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteTemplate(grpc::ServerContext* context,
                                                   const v1::DeleteTemplateRequest* req,
                                                   v1::DeleteTemplateResponse*) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/DeleteTemplate"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "DeleteTemplate"); !bad.ok()) return bad;
  absl::Status st = inventory_->DeleteTemplate(req->name());
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status ControllerServiceImpl::PutDataSet(grpc::ServerContext* context,
                                               const v1::PutDataSetRequest* req,
                                               v1::DataSet* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/PutDataSet"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "PutDataSet"); !bad.ok()) return bad;
  auto ds = inventory_->PutDataSet(req->data_set());
  if (!ds.ok()) return ToGrpcStatus(ds.status());
  *resp = *std::move(ds);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetDataSet(grpc::ServerContext* context,
                                               const v1::GetDataSetRequest* req,
                                               v1::DataSet* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/GetDataSet"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "GetDataSet"); !bad.ok()) return bad;
  auto ds = inventory_->GetDataSet(req->name());
  if (!ds.ok()) return ToGrpcStatus(ds.status());
  *resp = *std::move(ds);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListDataSets(grpc::ServerContext* context,
                                                 const v1::ListDataSetsRequest* req,
                                                 v1::ListDataSetsResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/ListDataSets"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "ListDataSets"); !bad.ok()) return bad;
  auto all = inventory_->ListDataSets(*req);
  Page(all, req->page_size(), req->page_token(), [](const v1::DataSet& d) { return d.name(); }, NameLess,
       resp->mutable_data_sets(), resp->mutable_next_page_token());
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteDataSet(grpc::ServerContext* context,
                                                  const v1::DeleteDataSetRequest* req,
                                                  v1::DeleteDataSetResponse*) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/DeleteDataSet"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "DeleteDataSet"); !bad.ok()) return bad;
  absl::Status st = inventory_->DeleteDataSet(req->name());
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status ControllerServiceImpl::RenderTemplate(grpc::ServerContext* context,
                                                   const v1::RenderTemplateRequest* req,
                                                   v1::RenderTemplateResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/RenderTemplate"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "RenderTemplate"); !bad.ok()) return bad;
  Snapshot snap = inventory_->Take();
  auto ds = snap.data_sets.find(req->data_set());
  if (ds == snap.data_sets.end()) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat("data set ", req->data_set(), " does not exist")));
  }
  const v1::Template& tmpl = snap.templates.at(ds->second.template_());
  auto device = snap.devices.find(ds->second.device());
  if (device == snap.devices.end()) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("data set ", req->data_set(), ": device: not set; a data set renders for one device")));
  }
  std::map<std::string, const v1::Device*> members;
  for (const auto& [name, other] : snap.data_sets) {
    auto d = snap.devices.find(other.device());
    if (other.template_() == tmpl.name() && d != snap.devices.end()) members[d->first] = &d->second;
  }
  RenderInput in{&tmpl, &ds->second, &members, [this](const std::string& a, const std::string& b) {
                   return keys_->Get(a, b);
                 }};
  Rendered r = Render(in);
  if (auto st = keys_->Flush(); !st.ok()) return ToGrpcStatus(st);
  for (auto& d : r.diagnostics) *resp->add_diagnostics() = std::move(d);
  resp->set_revision(snap.revision);
  if (device->second.kind() == v1::DEVICE_KIND_IOS || tmpl.output() == v1::TEMPLATE_OUTPUT_IOS_CONFIGLET) {
    // A router needs its keys in its configlet.
    resp->set_ios_configlet(PlaceConfiglet(r.text, req->base_config(), req->placement()));
  } else {
    resp->set_ios_configlet(ios::WriteIosConfig(r.policy));
  }
  crypto::ZeroizeString(&r.text);
  secrets::RedactIkeConfig(&r.policy);
  *resp->mutable_policy() = std::move(r.policy);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ImportIosConfig(grpc::ServerContext* context,
                                                    const v1::ImportIosConfigRequest* req,
                                                    v1::ImportIosConfigResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/ImportIosConfig"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "ImportIosConfig"); !bad.ok()) return bad;
  ios::ParseResult r = ios::ParseIosConfig(req->config_text(), req->device());
  secrets::RedactIkeConfig(&r.config);
  *resp->mutable_policy() = std::move(r.config);
  for (auto& d : r.diagnostics) *resp->add_diagnostics() = std::move(d);
  for (auto& s : r.skipped) {
    auto* out = resp->add_skipped();
    out->set_first_line(s.first_line);
    out->set_last_line(s.last_line);
    out->set_reason(std::move(s.reason));
  }
  import_lines_.Increment(static_cast<double>(std::count(req->config_text().begin(), req->config_text().end(), '\n')));
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::Validate(grpc::ServerContext* context, const v1::ValidateRequest* req,
                                             v1::ValidateResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/Validate"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "Validate"); !bad.ok()) return bad;
  auto desired = rollouts_->ComputeDesired();
  const std::set<std::string> only(req->devices().begin(), req->devices().end());
  for (const auto& name : only) {  // as PlanRollout and StartRollout answer
    if (!desired->snapshot.devices.count(name)) {
      return ToGrpcStatus(absl::NotFoundError(absl::StrCat("device ", name, " does not exist")));
    }
  }
  for (const auto& d : desired->diagnostics) {
    if (only.empty() || only.count(d.device())) *resp->add_diagnostics() = d;
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::PlanRollout(grpc::ServerContext* context, const v1::PlanRolloutRequest* req,
                                                v1::RolloutPlan* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/PlanRollout"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "PlanRollout"); !bad.ok()) return bad;
  auto plan = rollouts_->Plan({req->devices().begin(), req->devices().end()});
  if (!plan.ok()) return ToGrpcStatus(plan.status());
  *resp = std::move(*plan);
  return grpc::Status::OK;
}

void ControllerServiceImpl::CountRollout(const v1::Rollout& r) {
  const char* state = r.state() == v1::ROLLOUT_STATE_SUCCEEDED         ? "succeeded"
                      : r.state() == v1::ROLLOUT_STATE_ROLLED_BACK       ? "rolled_back"
                      : r.state() == v1::ROLLOUT_STATE_ROLLBACK_FAILED   ? "rollback_failed"
                                                                         : "failed";
  rollouts_total_.Add({{"result", state}}).Increment();
  for (const auto& d : r.devices()) {
    const char* result = d.state() == v1::DEVICE_ROLLOUT_STATE_DONE              ? "done"
                         : d.state() == v1::DEVICE_ROLLOUT_STATE_FAILED          ? "failed"
                         : d.state() == v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK     ? "rolled_back"
                         : d.state() == v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED ? "rollback_failed"
                                                                                 : nullptr;
    if (result) device_applies_.Add({{"result", result}}).Increment();
  }
}

grpc::Status ControllerServiceImpl::StartRollout(grpc::ServerContext* context, const v1::StartRolloutRequest* req,
                                                 grpc::ServerWriter<v1::RolloutProgress>* writer) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/StartRollout"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "StartRollout"); !bad.ok()) return bad;
  StreamedProgress progress(writer);
  log::Info("rollout requested", {{"devices", req->devices_size()},
                                  {"canary", req->strategy().canary_devices()},
                                  {"batch_size", req->strategy().batch_size()}});
  auto r = rollouts_->Start(*req, progress.fn());
  if (!r.ok()) {
    log::Warn("rollout refused", {{"error", std::string(r.status().message())}});
    rollouts_total_.Add({{"result", "refused"}}).Increment();
    return ToGrpcStatus(r.status());
  }
  CountRollout(*r);
  log::Info("rollout finished", {{"rollout", r->id()}, {"state", v1::RolloutState_Name(r->state())}});
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetRollout(grpc::ServerContext* context, const v1::GetRolloutRequest* req,
                                               v1::Rollout* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/GetRollout"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "GetRollout"); !bad.ok()) return bad;
  auto r = rollouts_->Get(req->id());
  if (!r.ok()) return ToGrpcStatus(r.status());
  *resp = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListRollouts(grpc::ServerContext* context, const v1::ListRolloutsRequest* req,
                                                 v1::ListRolloutsResponse* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/ListRollouts"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "ListRollouts"); !bad.ok()) return bad;
  auto all = rollouts_->List(req->include_devices());
  if (!all.ok()) return ToGrpcStatus(all.status());
  // The engine's order: rollout-2 before rollout-10.
  auto id_less = [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  };
  Page(*all, req->page_size(), req->page_token(), [](const v1::Rollout& r) { return r.id(); }, id_less,
       resp->mutable_rollouts(), resp->mutable_next_page_token());
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::RollbackRollout(grpc::ServerContext* context, const v1::RollbackRolloutRequest* req,
                                                    grpc::ServerWriter<v1::RolloutProgress>* writer) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/RollbackRollout"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "RollbackRollout"); !bad.ok()) return bad;
  StreamedProgress progress(writer);
  auto r = rollouts_->Rollback(req->id(), progress.fn());
  if (!r.ok()) return ToGrpcStatus(r.status());
  if (r->state() == v1::ROLLOUT_STATE_ROLLBACK_FAILED) {
    rollouts_total_.Add({{"result", "rollback_failed"}}).Increment();
    log::Warn("rollback failed", {{"rollout", r->id()}, {"devices", r->devices_rollback_failed()}});
  } else {
    log::Info("rollout rolled back", {{"rollout", r->id()}});
  }
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::EnrollDevice(grpc::ServerContext* context, const v1::EnrollDeviceRequest* req,
                                                 v1::EnrollmentTicket* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/EnrollDevice"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "EnrollDevice"); !bad.ok()) return bad;
  if (pki_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        "the controller was started without --pki; it cannot ask the PKI service for challenges"));
  }
  auto device = inventory_->GetDevice(req->device());
  if (!device.ok()) return ToGrpcStatus(device.status());
  // The trustpoint the device's policy names, and the CA's SCEP URL.
  auto desired = RenderFleet(inventory_->Take(), {req->device()}, [this](const std::string& a, const std::string& b) {
    return keys_->Get(a, b);
  });
  std::string trustpoint, url;
  if (auto it = desired.find(req->device()); it != desired.end()) {
    if (it->second.policy.trustpoints_size() > 0) {
      trustpoint = it->second.policy.trustpoints(0).name();
      url = it->second.policy.trustpoints(0).enrollment_url();
    }
    secrets::RedactIkeConfig(&it->second.policy);
  }
  if (auto st = keys_->Flush(); !st.ok()) return ToGrpcStatus(st);
  if (trustpoint.empty()) {
    return ToGrpcStatus(absl::FailedPreconditionError(absl::StrCat(
        "device ", req->device(), ": its policy has no trustpoint (`crypto pki trustpoint`); nothing to enroll for")));
  }
  vpnfleet::pki::v1::CaInfo ca;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status st = pki_->GetCaInfo(&ctx, vpnfleet::pki::v1::GetCaInfoRequest(), &ca);
    if (!st.ok()) return grpc::Status(st.error_code(), absl::StrCat("PKI service: ", st.error_message()));
  }
  vpnfleet::pki::v1::IssueChallengeRequest creq;
  creq.set_device(req->device());
  creq.set_subject_cn(req->device());
  // The names the ticket tells the device to ask for, and no others.
  if (!device->wan_address().empty()) {
    creq.add_subject_alt_names(absl::StrCat("IP:", device->wan_address()));
  }
  creq.set_valid_seconds(req->valid_seconds());
  vpnfleet::pki::v1::Challenge challenge;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status st = pki_->IssueChallenge(&ctx, creq, &challenge);
    if (!st.ok()) return grpc::Status(st.error_code(), absl::StrCat("PKI service: ", st.error_message()));
  }
  resp->set_device(req->device());
  resp->set_scep_url(url.empty() ? ca.scep_url() : url);
  resp->set_challenge(challenge.password());
  // The issuing CA, the certificate `pki authenticate` pins.
  if (ca.chain_size() > 0) resp->set_ca_fingerprint_sha256(ca.chain(0).fingerprint_sha256());
  resp->set_subject(absl::StrCat("CN=", req->device()));
  if (!device->wan_address().empty()) {
    resp->add_subject_alt_names(absl::StrCat("IP:", device->wan_address()));
  }
  resp->set_trustpoint(trustpoint);
  resp->set_expires_unix_seconds(challenge.expires_unix_seconds());
  enrollments_.Increment();
  log::Info("enrollment ticket issued", {{"device", req->device()}, {"trustpoint", trustpoint}});
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetDeviceState(grpc::ServerContext* context, const v1::GetDeviceStateRequest* req,
                                                   v1::DeviceState* resp) {
  if (auto denied = Gate(context, "vpnfleet.controller.v1.ControllerService/GetDeviceState"); !denied.ok()) return denied;
  if (auto bad = Admit(*req, "GetDeviceState"); !bad.ok()) return bad;
  auto device = inventory_->GetDevice(req->device());
  if (!device.ok()) return ToGrpcStatus(device.status());
  if (device->kind() != v1::DEVICE_KIND_VPNFLEET) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        absl::StrCat("device ", req->device(), " is an ios device; it reports nothing to the controller")));
  }
  resp->set_device(req->device());
  auto config = edges_->GetConfig(*device);
  if (!config.ok()) return ToGrpcStatus(config.status());
  *resp->mutable_config() = std::move(*config);
  auto ike_sas = edges_->ListIkeSas(*device);
  if (!ike_sas.ok()) return ToGrpcStatus(ike_sas.status());
  for (auto& sa : *ike_sas->mutable_ike_sas()) *resp->add_ike_sas() = std::move(sa);
  auto child_sas = edges_->ListChildSas(*device);
  if (!child_sas.ok()) return ToGrpcStatus(child_sas.status());
  for (auto& sa : *child_sas->mutable_child_sas()) *resp->add_child_sas() = std::move(sa);
  auto applied = rollouts_->Applied(req->device());
  if (applied.ok() && *applied) resp->set_applied_revision((*applied)->desired_revision());
  return grpc::Status::OK;
}

}  // namespace vpnfleet::controller
