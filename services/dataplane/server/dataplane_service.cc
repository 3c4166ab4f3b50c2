#include "services/dataplane/server/dataplane_service.h"

#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::dataplane {

DataplaneServiceImpl::DataplaneServiceImpl(SaTable* sad, PolicyTable* spd,
                                           prometheus::Registry& registry)
    : sad_(sad),
      spd_(spd),
      sa_count_(prometheus::BuildGauge()
                    .Name("vpnfleet_dataplane_sas")
                    .Help("Security associations in the SAD.")
                    .Register(registry)
                    .Add({})),
      policy_count_(prometheus::BuildGauge()
                        .Name("vpnfleet_dataplane_spd_policies")
                        .Help("Policies in the SPD.")
                        .Register(registry)
                        .Add({})) {}

void DataplaneServiceImpl::UpdateGauges() {
  sa_count_.Set(static_cast<double>(sad_->size()));
  policy_count_.Set(static_cast<double>(spd_->size()));
}

grpc::Status DataplaneServiceImpl::AddSa(grpc::ServerContext*, const v1::AddSaRequest* req,
                                         v1::AddSaResponse*) {
  absl::Status st = sad_->Add(req->sa());
  if (st.ok()) {
    log::Info("SA added", {{"sa", SaKeyString(req->sa().key())}});
  } else {
    log::Warn("SA rejected", {{"sa", SaKeyString(req->sa().key())},
                              {"error", std::string(st.message())}});
  }
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::UpdateSa(grpc::ServerContext*, const v1::UpdateSaRequest* req,
                                            v1::UpdateSaResponse*) {
  return ToGrpcStatus(sad_->Update(req->sa()));
}

grpc::Status DataplaneServiceImpl::DeleteSa(grpc::ServerContext*, const v1::DeleteSaRequest* req,
                                            v1::DeleteSaResponse*) {
  absl::Status st = sad_->Delete(req->key());
  if (st.ok()) log::Info("SA deleted", {{"sa", SaKeyString(req->key())}});
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::GetSa(grpc::ServerContext*, const v1::GetSaRequest* req,
                                         v1::SaStatus* resp) {
  auto sa = sad_->Get(req->key());
  if (!sa.ok()) return ToGrpcStatus(sa.status());
  *resp = *std::move(sa);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::ListSas(grpc::ServerContext*, const v1::ListSasRequest* req,
                                           v1::ListSasResponse* resp) {
  for (auto& sa : sad_->List(*req)) *resp->add_sas() = std::move(sa);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::AddPolicy(grpc::ServerContext*, const v1::AddPolicyRequest* req,
                                             v1::AddPolicyResponse* resp) {
  auto id = spd_->Add(req->policy());
  UpdateGauges();
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_id(*id);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::DeletePolicy(grpc::ServerContext*,
                                                const v1::DeletePolicyRequest* req,
                                                v1::DeletePolicyResponse*) {
  absl::Status st = spd_->Delete(req->id());
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::ListPolicies(grpc::ServerContext*,
                                                const v1::ListPoliciesRequest* req,
                                                v1::ListPoliciesResponse* resp) {
  for (auto& p : spd_->List(req->direction())) *resp->add_policies() = std::move(p);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::ListInterfaces(grpc::ServerContext*,
                                                  const v1::ListInterfacesRequest*,
                                                  v1::ListInterfacesResponse*) {
  return NotYetImplemented("packet I/O interfaces (ListInterfaces)");
}

grpc::Status DataplaneServiceImpl::GetSaCounters(grpc::ServerContext*,
                                                 const v1::GetSaCountersRequest*,
                                                 v1::GetSaCountersResponse*) {
  return NotYetImplemented("per-SA packet counters (GetSaCounters)");
}

grpc::Status DataplaneServiceImpl::WatchEvents(grpc::ServerContext*, const v1::WatchEventsRequest*,
                                               grpc::ServerWriter<v1::DataplaneEvent>*) {
  return NotYetImplemented("the dataplane event feed");
}

}  // namespace vpnfleet::dataplane
