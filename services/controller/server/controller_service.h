// vpnfleet.controller.v1.ControllerService: the inventory (devices, templates,
// data sets), rendering, IOS import, fleet validation, staged rollouts,
// device state and SCEP enrollment tickets, over the model, the renderer and
// the rollout engine.
#ifndef VPNFLEET_SERVICES_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_
#define VPNFLEET_SERVICES_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_

#include <atomic>
#include <functional>

#include "prometheus/counter.h"
#include "common/api/field_limits.h"
#include "common/security/authorizer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/controller/model/inventory.h"
#include "services/controller/model/pair_keys.h"
#include "services/controller/rollout/edge_client.h"
#include "services/controller/rollout/rollout_engine.h"
#include "vpnfleet/pki/v1/pki.grpc.pb.h"
#include "vpnfleet/controller/v1/controller.grpc.pb.h"

namespace vpnfleet::controller {

class ControllerServiceImpl final : public v1::ControllerService::Service {
 public:
  // `pki` may be null (EnrollDevice then says so).
  ControllerServiceImpl(Inventory* inventory, Store* store, PairKeys* keys, RolloutEngine* rollouts,
                        EdgeClient* edges, vpnfleet::pki::v1::PkiService::StubInterface* pki,
                        prometheus::Registry& registry, const security::Authorizer* authz);

  // For a replica of a set (etcd store): whether this replica may answer a
  // call, given whether the call only reads (followers answer reads from
  // their copy, and refuse the rest with UNAVAILABLE naming the leader).
  // Unset: the only replica, always leading. Before the service is added
  // to a host.
  void SetLeaderGate(std::function<absl::Status(bool read_only)> gate) { leader_gate_ = std::move(gate); }

  // Sets the object and revision gauges from the inventory (after each
  // change here, and on a follower after the store's changes are applied).
  void UpdateGauges();

  // Concurrent WatchFleet streams at most (each holds a server thread).
  static constexpr int kMaxWatchers = 64;

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
  grpc::Status EnrollDevice(grpc::ServerContext*, const v1::EnrollDeviceRequest*,
                            v1::EnrollmentTicket*) override;
  grpc::Status GetDeviceState(grpc::ServerContext*, const v1::GetDeviceStateRequest*,
                              v1::DeviceState*) override;
  grpc::Status WatchFleet(grpc::ServerContext*, const v1::WatchFleetRequest*,
                          grpc::ServerWriter<v1::FleetEvent>*) override;

 private:
  void CountRollout(const v1::Rollout& r);
  // INVALID_ARGUMENT for a request over the API's field limits (counted).
  grpc::Status Admit(const google::protobuf::Message& request, const char* rpc);

  // The caller's authorization, then whether this replica may answer.
  grpc::Status Gate(const grpc::ServerContext* context, absl::string_view method) const;

  const security::Authorizer* authz_;
  std::function<absl::Status(bool read_only)> leader_gate_;
  api::FieldLimits limits_;
  Inventory* inventory_;
  Store* store_;
  PairKeys* keys_;
  RolloutEngine* rollouts_;
  EdgeClient* edges_;
  vpnfleet::pki::v1::PkiService::StubInterface* pki_;
  prometheus::Family<prometheus::Counter>& rollouts_total_;
  prometheus::Family<prometheus::Counter>& device_applies_;
  prometheus::Counter& enrollments_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Counter& import_lines_;
  prometheus::Family<prometheus::Gauge>& objects_;
  prometheus::Gauge& revision_;
  prometheus::Gauge& watchers_gauge_;
  std::atomic<int> watchers_{0};
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_SERVER_CONTROLLER_SERVICE_H_
