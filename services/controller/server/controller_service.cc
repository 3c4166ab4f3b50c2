#include "services/controller/server/controller_service.h"

#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::controller {

ControllerServiceImpl::ControllerServiceImpl(Inventory* inventory, prometheus::Registry& registry)
    : inventory_(inventory),
      objects_(prometheus::BuildGauge()
                   .Name("vpnfleet_controller_objects")
                   .Help("Objects in the desired state, by kind.")
                   .Register(registry)),
      revision_(prometheus::BuildGauge()
                    .Name("vpnfleet_controller_revision")
                    .Help("Revision of the desired state.")
                    .Register(registry)
                    .Add({})) {
  UpdateGauges();
}

void ControllerServiceImpl::UpdateGauges() {
  objects_.Add({{"kind", "device"}}).Set(
      static_cast<double>(inventory_->ListDevices({}).size()));
  objects_.Add({{"kind", "template"}}).Set(static_cast<double>(inventory_->ListTemplates().size()));
  objects_.Add({{"kind", "data_set"}}).Set(
      static_cast<double>(inventory_->ListDataSets({}).size()));
  revision_.Set(static_cast<double>(inventory_->revision()));
}

grpc::Status ControllerServiceImpl::PutDevice(grpc::ServerContext*, const v1::PutDeviceRequest* req,
                                              v1::Device* resp) {
  auto d = inventory_->PutDevice(req->device(), req->create_only());
  if (!d.ok()) return ToGrpcStatus(d.status());
  log::Info("device stored", {{"device", d->name()}, {"revision", d->revision().number()}});
  *resp = *std::move(d);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetDevice(grpc::ServerContext*, const v1::GetDeviceRequest* req,
                                              v1::Device* resp) {
  auto d = inventory_->GetDevice(req->name());
  if (!d.ok()) return ToGrpcStatus(d.status());
  *resp = *std::move(d);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListDevices(grpc::ServerContext*,
                                                const v1::ListDevicesRequest* req,
                                                v1::ListDevicesResponse* resp) {
  for (auto& d : inventory_->ListDevices(*req)) *resp->add_devices() = std::move(d);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteDevice(grpc::ServerContext*,
                                                 const v1::DeleteDeviceRequest* req,
                                                 v1::DeleteDeviceResponse*) {
  absl::Status st = inventory_->DeleteDevice(req->name());
  if (st.ok()) log::Info("device deleted", {{"device", req->name()}});
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status ControllerServiceImpl::PutTemplate(grpc::ServerContext*,
                                                const v1::PutTemplateRequest* req,
                                                v1::Template* resp) {
  auto t = inventory_->PutTemplate(req->template_());
  if (!t.ok()) return ToGrpcStatus(t.status());
  *resp = *std::move(t);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetTemplate(grpc::ServerContext*,
                                                const v1::GetTemplateRequest* req,
                                                v1::Template* resp) {
  auto t = inventory_->GetTemplate(req->name());
  if (!t.ok()) return ToGrpcStatus(t.status());
  *resp = *std::move(t);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListTemplates(grpc::ServerContext*,
                                                  const v1::ListTemplatesRequest*,
                                                  v1::ListTemplatesResponse* resp) {
  for (auto& t : inventory_->ListTemplates()) *resp->add_templates() = std::move(t);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteTemplate(grpc::ServerContext*,
                                                   const v1::DeleteTemplateRequest* req,
                                                   v1::DeleteTemplateResponse*) {
  absl::Status st = inventory_->DeleteTemplate(req->name());
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status ControllerServiceImpl::PutDataSet(grpc::ServerContext*,
                                               const v1::PutDataSetRequest* req,
                                               v1::DataSet* resp) {
  auto ds = inventory_->PutDataSet(req->data_set());
  if (!ds.ok()) return ToGrpcStatus(ds.status());
  *resp = *std::move(ds);
  UpdateGauges();
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::GetDataSet(grpc::ServerContext*,
                                               const v1::GetDataSetRequest* req,
                                               v1::DataSet* resp) {
  auto ds = inventory_->GetDataSet(req->name());
  if (!ds.ok()) return ToGrpcStatus(ds.status());
  *resp = *std::move(ds);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::ListDataSets(grpc::ServerContext*,
                                                 const v1::ListDataSetsRequest* req,
                                                 v1::ListDataSetsResponse* resp) {
  for (auto& ds : inventory_->ListDataSets(*req)) *resp->add_data_sets() = std::move(ds);
  return grpc::Status::OK;
}

grpc::Status ControllerServiceImpl::DeleteDataSet(grpc::ServerContext*,
                                                  const v1::DeleteDataSetRequest* req,
                                                  v1::DeleteDataSetResponse*) {
  absl::Status st = inventory_->DeleteDataSet(req->name());
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status ControllerServiceImpl::RenderTemplate(grpc::ServerContext*,
                                                   const v1::RenderTemplateRequest*,
                                                   v1::RenderTemplateResponse*) {
  return NotYetImplemented("template rendering (RenderTemplate)");
}

grpc::Status ControllerServiceImpl::ImportIosConfig(grpc::ServerContext*,
                                                    const v1::ImportIosConfigRequest*,
                                                    v1::ImportIosConfigResponse*) {
  return NotYetImplemented("IOS configuration import (ImportIosConfig)");
}

grpc::Status ControllerServiceImpl::Validate(grpc::ServerContext*, const v1::ValidateRequest*,
                                             v1::ValidateResponse*) {
  return NotYetImplemented("fleet validation (Validate)");
}

grpc::Status ControllerServiceImpl::PlanRollout(grpc::ServerContext*,
                                                const v1::PlanRolloutRequest*,
                                                v1::RolloutPlan*) {
  return NotYetImplemented("rollout planning (PlanRollout)");
}

grpc::Status ControllerServiceImpl::StartRollout(grpc::ServerContext*,
                                                 const v1::StartRolloutRequest*,
                                                 grpc::ServerWriter<v1::RolloutProgress>*) {
  return NotYetImplemented("rollouts (StartRollout)");
}

grpc::Status ControllerServiceImpl::GetRollout(grpc::ServerContext*, const v1::GetRolloutRequest*,
                                               v1::Rollout*) {
  return NotYetImplemented("rollouts (GetRollout)");
}

grpc::Status ControllerServiceImpl::ListRollouts(grpc::ServerContext*,
                                                 const v1::ListRolloutsRequest*,
                                                 v1::ListRolloutsResponse*) {
  return NotYetImplemented("rollouts (ListRollouts)");
}

grpc::Status ControllerServiceImpl::RollbackRollout(grpc::ServerContext*,
                                                    const v1::RollbackRolloutRequest*,
                                                    grpc::ServerWriter<v1::RolloutProgress>*) {
  return NotYetImplemented("rollouts (RollbackRollout)");
}

}  // namespace vpnfleet::controller
