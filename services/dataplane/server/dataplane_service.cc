#include "services/dataplane/server/dataplane_service.h"

#include "common/crypto/zeroize.h"
#include "common/log/log.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::dataplane {

DataplaneServiceImpl::DataplaneServiceImpl(
    Engine* engine, std::function<std::vector<v1::Interface>()> interfaces,
    prometheus::Registry& registry, const security::Authorizer* authz)
    : authz_(authz),
      engine_(engine),
      interfaces_(std::move(interfaces)),
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
  sa_count_.Set(static_cast<double>(engine_->sa_count()));
  policy_count_.Set(static_cast<double>(engine_->policy_count()));
}

namespace {
// Keys a request carried, once the SAD has taken its copy.
void WipeKeys(v1::SecurityAssociation* sa) {
  vpnfleet::crypto::ZeroizeString(sa->mutable_encryption_key());
  vpnfleet::crypto::ZeroizeString(sa->mutable_integrity_key());
}
}  // namespace

grpc::Status DataplaneServiceImpl::AddSa(grpc::ServerContext* context, const v1::AddSaRequest* req,
                                         v1::AddSaResponse*) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/AddSa"); !denied.ok()) return denied;
  absl::Status st = engine_->AddSa(req->sa());
  WipeKeys(const_cast<v1::AddSaRequest*>(req)->mutable_sa());  // the SAD holds its own copy
  if (st.ok()) {
    log::Info("SA added", {{"sa", SaKeyString(req->sa().key())}});
  } else {
    log::Warn("SA rejected", {{"sa", SaKeyString(req->sa().key())},
                              {"error", std::string(st.message())}});
  }
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::UpdateSa(grpc::ServerContext* context, const v1::UpdateSaRequest* req,
                                            v1::UpdateSaResponse*) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/UpdateSa"); !denied.ok()) return denied;
  absl::Status st = engine_->UpdateSa(req->sa());
  WipeKeys(const_cast<v1::UpdateSaRequest*>(req)->mutable_sa());
  if (st.ok()) log::Info("SA updated", {{"sa", SaKeyString(req->sa().key())}});
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::DeleteSa(grpc::ServerContext* context, const v1::DeleteSaRequest* req,
                                            v1::DeleteSaResponse*) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/DeleteSa"); !denied.ok()) return denied;
  absl::Status st = engine_->DeleteSa(req->key());
  if (st.ok()) log::Info("SA deleted", {{"sa", SaKeyString(req->key())}});
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::GetSa(grpc::ServerContext* context, const v1::GetSaRequest* req,
                                         v1::SaStatus* resp) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/GetSa"); !denied.ok()) return denied;
  auto sa = engine_->GetSa(req->key());
  if (!sa.ok()) return ToGrpcStatus(sa.status());
  *resp = *std::move(sa);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::ListSas(grpc::ServerContext* context, const v1::ListSasRequest* req,
                                           v1::ListSasResponse* resp) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/ListSas"); !denied.ok()) return denied;
  for (auto& sa : engine_->ListSas(*req)) *resp->add_sas() = std::move(sa);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::AddPolicy(grpc::ServerContext* context, const v1::AddPolicyRequest* req,
                                             v1::AddPolicyResponse* resp) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/AddPolicy"); !denied.ok()) return denied;
  auto id = engine_->AddPolicy(req->policy());
  UpdateGauges();
  if (!id.ok()) return ToGrpcStatus(id.status());
  resp->set_id(*id);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::DeletePolicy(grpc::ServerContext* context,
                                                const v1::DeletePolicyRequest* req,
                                                v1::DeletePolicyResponse*) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/DeletePolicy"); !denied.ok()) return denied;
  absl::Status st = engine_->DeletePolicy(req->id());
  UpdateGauges();
  return ToGrpcStatus(st);
}

grpc::Status DataplaneServiceImpl::ListPolicies(grpc::ServerContext* context,
                                                const v1::ListPoliciesRequest* req,
                                                v1::ListPoliciesResponse* resp) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/ListPolicies"); !denied.ok()) return denied;
  for (auto& p : engine_->ListPolicies(req->direction())) *resp->add_policies() = std::move(p);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::ListInterfaces(grpc::ServerContext* context,
                                                  const v1::ListInterfacesRequest*,
                                                  v1::ListInterfacesResponse* resp) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/ListInterfaces"); !denied.ok()) return denied;
  if (interfaces_) {
    for (auto& i : interfaces_()) *resp->add_interfaces() = std::move(i);
  }
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::GetSaCounters(grpc::ServerContext* context,
                                                 const v1::GetSaCountersRequest* req,
                                                 v1::GetSaCountersResponse* resp) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/GetSaCounters"); !denied.ok()) return denied;
  const bool one = req->has_key();
  auto entries = engine_->Counters(one ? &req->key() : nullptr);
  if (one && entries.empty()) {
    return ToGrpcStatus(engine_->GetSa(req->key()).status());  // NOT_FOUND, or no runtime (AH)
  }
  for (auto& e : entries) *resp->add_entries() = std::move(e);
  return grpc::Status::OK;
}

grpc::Status DataplaneServiceImpl::WatchEvents(grpc::ServerContext* context,
                                               const v1::WatchEventsRequest*,
                                               grpc::ServerWriter<v1::DataplaneEvent>* writer) {
  if (auto denied = authz_->Check(context, "vpnfleet.dataplane.v1.DataplaneService/WatchEvents"); !denied.ok()) return denied;
  auto sub = engine_->Subscribe();
  log::Info("event watcher attached", {{"peer", context->peer()}});
  v1::DataplaneEvent event;
  while (!context->IsCancelled() && !sub->closed()) {
    if (!sub->Next(&event, absl::Milliseconds(200))) continue;
    if (!writer->Write(event)) break;
  }
  log::Info("event watcher gone", {{"peer", context->peer()},
                                   {"lost_events", std::to_string(sub->lost())}});
  return grpc::Status::OK;
}

}  // namespace vpnfleet::dataplane
