// vpnfleet.controller.v1.ControllerService: the inventory (devices, templates,
// data sets) is real; rendering, import, validation and rollouts answer
// UNIMPLEMENTED until they are built.
#ifndef VPNFLEET_SERVICES_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_
#define VPNFLEET_SERVICES_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_

#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/controller/model/inventory.h"
#include "vpnfleet/controller/v1/controller.grpc.pb.h"

namespace vpnfleet::controller {

class ControllerServiceImpl final : public v1::ControllerService::Service {
 public:
  ControllerServiceImpl(Inventory* inventory, prometheus::Registry& registry);

  grpc::Status PutDevice(grpc::ServerContext*, const v1::PutDeviceRequest*, v1::Device*) override;
  grpc::Status GetDevice(grpc::ServerContext*, const v1::GetDeviceRequest*, v1::Device*) override;
  grpc::Status ListDevices(grpc::ServerContext*, const v1::ListDevicesRequest*,
                           v1::ListDevicesResponse*) override;
  grpc::Status DeleteDevice(grpc::ServerContext*, const v1::DeleteDeviceRequest*,
                            v1::DeleteDeviceResponse*) override;
  grpc::Status PutTemplate(grpc::ServerContext*, const v1::PutTemplateRequest*,
                           v1::Template*) override;
  grpc::Status GetTemplate(grpc::ServerContext*, const v1::GetTemplateRequest*,
                           v1::Template*) override;
  grpc::Status ListTemplates(grpc::ServerContext*, const v1::ListTemplatesRequest*,
                             v1::ListTemplatesResponse*) override;
  grpc::Status DeleteTemplate(grpc::ServerContext*, const v1::DeleteTemplateRequest*,
                              v1::DeleteTemplateResponse*) override;
  grpc::Status PutDataSet(grpc::ServerContext*, const v1::PutDataSetRequest*,
                          v1::DataSet*) override;
  grpc::Status GetDataSet(grpc::ServerContext*, const v1::GetDataSetRequest*,
                          v1::DataSet*) override;
  grpc::Status ListDataSets(grpc::ServerContext*, const v1::ListDataSetsRequest*,
                            v1::ListDataSetsResponse*) override;
  grpc::Status DeleteDataSet(grpc::ServerContext*, const v1::DeleteDataSetRequest*,
                             v1::DeleteDataSetResponse*) override;
  grpc::Status RenderTemplate(grpc::ServerContext*, const v1::RenderTemplateRequest*,
                              v1::RenderTemplateResponse*) override;
  grpc::Status ImportIosConfig(grpc::ServerContext*, const v1::ImportIosConfigRequest*,
                               v1::ImportIosConfigResponse*) override;
  grpc::Status Validate(grpc::ServerContext*, const v1::ValidateRequest*,
                        v1::ValidateResponse*) override;
  grpc::Status PlanRollout(grpc::ServerContext*, const v1::PlanRolloutRequest*,
                           v1::RolloutPlan*) override;
  grpc::Status StartRollout(grpc::ServerContext*, const v1::StartRolloutRequest*,
                            grpc::ServerWriter<v1::RolloutProgress>*) override;
  grpc::Status GetRollout(grpc::ServerContext*, const v1::GetRolloutRequest*,
                          v1::Rollout*) override;
  grpc::Status ListRollouts(grpc::ServerContext*, const v1::ListRolloutsRequest*,
                            v1::ListRolloutsResponse*) override;
  grpc::Status RollbackRollout(grpc::ServerContext*, const v1::RollbackRolloutRequest*,
                               grpc::ServerWriter<v1::RolloutProgress>*) override;

 private:
  void UpdateGauges();

  Inventory* inventory_;
  prometheus::Family<prometheus::Gauge>& objects_;
  prometheus::Gauge& revision_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_
