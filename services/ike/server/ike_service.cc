#include "services/ike/server/ike_service.h"

#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::ike {

IkeServiceImpl::IkeServiceImpl(ConfigStore* store, prometheus::Registry& registry)
    : store_(store),
      config_changes_(prometheus::BuildCounter()
                          .Name("vpnfleet_ike_config_changes_total")
                          .Help("Configuration changes by result (applied, rejected, validated).")
                          .Register(registry)),
      config_revision_(prometheus::BuildGauge()
                           .Name("vpnfleet_ike_config_revision")
                           .Help("Revision of the running IKE configuration.")
                           .Register(registry)
                           .Add({})) {}

grpc::Status IkeServiceImpl::GetConfig(grpc::ServerContext*, const v1::GetConfigRequest*,
                                       v1::IkeConfig* response) {
  *response = store_->Get();
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::Finish(const absl::StatusOr<EditResult>& result,
                                    bool validate_only, v1::EditConfigResponse* response) {
  if (!result.ok()) {
    config_changes_.Add({{"result", "rejected"}}).Increment();
    log::Warn("configuration change rejected", {{"error", std::string(result.status().message())}});
    return ToGrpcStatus(result.status());
  }
  config_changes_.Add({{"result", validate_only ? "validated" : "applied"}}).Increment();
  response->mutable_revision()->set_number(result->revision);
  response->mutable_revision()->set_changed_unix_seconds(result->changed_unix_seconds);
  for (const auto& w : result->warnings) response->add_warnings(w);
  if (!validate_only) {
    config_revision_.Set(static_cast<double>(result->revision));
    log::Info("configuration applied", {{"revision", result->revision},
                                        {"warnings", static_cast<uint64_t>(result->warnings.size())}});
  }
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::EditConfig(grpc::ServerContext*, const v1::EditConfigRequest* request,
                                        v1::EditConfigResponse* response) {
  return Finish(store_->Edit(request->edits(), request->expected_revision(),
                             request->validate_only()),
                request->validate_only(), response);
}

grpc::Status IkeServiceImpl::ReplaceConfig(grpc::ServerContext*,
                                           const v1::ReplaceConfigRequest* request,
                                           v1::EditConfigResponse* response) {
  return Finish(store_->Replace(request->config(), request->expected_revision(),
                                request->validate_only()),
                request->validate_only(), response);
}

grpc::Status IkeServiceImpl::ListIkeSas(grpc::ServerContext*, const v1::ListIkeSasRequest*,
                                        v1::ListIkeSasResponse*) {
  return NotYetImplemented("IKE SA negotiation (ListIkeSas)");
}

grpc::Status IkeServiceImpl::ListChildSas(grpc::ServerContext*, const v1::ListChildSasRequest*,
                                          v1::ListChildSasResponse*) {
  return NotYetImplemented("CHILD SA negotiation (ListChildSas)");
}

grpc::Status IkeServiceImpl::Initiate(grpc::ServerContext*, const v1::InitiateRequest*,
                                      v1::InitiateResponse*) {
  return NotYetImplemented("IKE negotiation (Initiate)");
}

grpc::Status IkeServiceImpl::Terminate(grpc::ServerContext*, const v1::TerminateRequest*,
                                       v1::TerminateResponse*) {
  return NotYetImplemented("IKE negotiation (Terminate)");
}

grpc::Status IkeServiceImpl::WatchEvents(grpc::ServerContext*, const v1::WatchEventsRequest*,
                                         grpc::ServerWriter<v1::IkeEvent>*) {
  return NotYetImplemented("the IKE event stream");
}

}  // namespace vpnfleet::ike
