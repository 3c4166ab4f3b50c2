// vpnfleet.ike.v1.IkeService: configuration is served from the ConfigStore;
// negotiation state and control come from the SaManager (on its thread).
#ifndef VPNFLEET_SERVICES_IKE_SERVER_IKE_SERVICE_H_
#define VPNFLEET_SERVICES_IKE_SERVER_IKE_SERVICE_H_

#include "prometheus/counter.h"
#include "common/security/authorizer.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/ike/config/config_store.h"
#include "services/ike/daemon/sa_manager.h"
#include "vpnfleet/ike/v1/ike.grpc.pb.h"

namespace vpnfleet::ike {

class IkeServiceImpl final : public vpnfleet::ike::v1::IkeService::Service {
 public:
  IkeServiceImpl(ConfigStore* store, SaManager* manager, prometheus::Registry& registry,
                 const security::Authorizer* authz);

  grpc::Status GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                         v1::IkeConfig* response) override;
  grpc::Status EditConfig(grpc::ServerContext*, const v1::EditConfigRequest* request,
                          v1::EditConfigResponse* response) override;
  grpc::Status ReplaceConfig(grpc::ServerContext*, const v1::ReplaceConfigRequest* request,
                             v1::EditConfigResponse* response) override;
  grpc::Status ListIkeSas(grpc::ServerContext*, const v1::ListIkeSasRequest*,
                          v1::ListIkeSasResponse*) override;
  grpc::Status ListChildSas(grpc::ServerContext*, const v1::ListChildSasRequest*,
                            v1::ListChildSasResponse*) override;
  grpc::Status Initiate(grpc::ServerContext*, const v1::InitiateRequest*,
                        v1::InitiateResponse*) override;
  grpc::Status Terminate(grpc::ServerContext*, const v1::TerminateRequest*,
                         v1::TerminateResponse*) override;
  grpc::Status ListPublicKeys(grpc::ServerContext*, const v1::ListPublicKeysRequest*,
                              v1::ListPublicKeysResponse*) override;
  grpc::Status WatchEvents(grpc::ServerContext*, const v1::WatchEventsRequest*,
                           grpc::ServerWriter<v1::IkeEvent>*) override;

 private:
  grpc::Status Finish(const absl::StatusOr<EditResult>& result, bool validate_only,
                      v1::EditConfigResponse* response);

  const security::Authorizer* authz_;
  ConfigStore* store_;
  SaManager* manager_;
  prometheus::Family<prometheus::Counter>& config_changes_;
  prometheus::Gauge& config_revision_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SERVER_IKE_SERVICE_H_
