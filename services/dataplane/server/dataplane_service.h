// vpnfleet.dataplane.v1.DataplaneService: the SAD and SPD (through the
// forwarder's Engine, so every change reaches the packet path), interfaces,
// per-SA counters and the event feed.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SERVER_DATAPLANE_SERVICE_H_
#define VPNFLEET_SERVICES_DATAPLANE_SERVER_DATAPLANE_SERVICE_H_

#include <functional>
#include <vector>

#include "prometheus/gauge.h"
#include "common/security/authorizer.h"
#include "prometheus/registry.h"
#include "services/dataplane/forwarder/engine.h"
#include "vpnfleet/dataplane/v1/dataplane.grpc.pb.h"

namespace vpnfleet::dataplane {

class DataplaneServiceImpl final : public v1::DataplaneService::Service {
 public:
  // `interfaces` reports the I/O side (empty when the daemon runs without a
  // TUN device: tables only).
  DataplaneServiceImpl(Engine* engine, std::function<std::vector<v1::Interface>()> interfaces,
                       prometheus::Registry& registry, const security::Authorizer* authz);

  grpc::Status AddSa(grpc::ServerContext*, const v1::AddSaRequest*, v1::AddSaResponse*) override;
  grpc::Status UpdateSa(grpc::ServerContext*, const v1::UpdateSaRequest*,
                        v1::UpdateSaResponse*) override;
  grpc::Status DeleteSa(grpc::ServerContext*, const v1::DeleteSaRequest*,
                        v1::DeleteSaResponse*) override;
  grpc::Status GetSa(grpc::ServerContext*, const v1::GetSaRequest*, v1::SaStatus*) override;
  grpc::Status ListSas(grpc::ServerContext*, const v1::ListSasRequest*,
                       v1::ListSasResponse*) override;
  grpc::Status AddPolicy(grpc::ServerContext*, const v1::AddPolicyRequest*,
                         v1::AddPolicyResponse*) override;
  grpc::Status DeletePolicy(grpc::ServerContext*, const v1::DeletePolicyRequest*,
                            v1::DeletePolicyResponse*) override;
  grpc::Status ListPolicies(grpc::ServerContext*, const v1::ListPoliciesRequest*,
                            v1::ListPoliciesResponse*) override;
  grpc::Status ListInterfaces(grpc::ServerContext*, const v1::ListInterfacesRequest*,
                              v1::ListInterfacesResponse*) override;
  grpc::Status GetSaCounters(grpc::ServerContext*, const v1::GetSaCountersRequest*,
                             v1::GetSaCountersResponse*) override;
  grpc::Status WatchEvents(grpc::ServerContext*, const v1::WatchEventsRequest*,
                           grpc::ServerWriter<v1::DataplaneEvent>*) override;

 private:
  void UpdateGauges();

  const security::Authorizer* authz_;
  Engine* engine_;
  std::function<std::vector<v1::Interface>()> interfaces_;
  prometheus::Gauge& sa_count_;
  prometheus::Gauge& policy_count_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SERVER_DATAPLANE_SERVICE_H_
