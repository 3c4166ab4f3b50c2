#include "services/ike/server/ike_service.h"

#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/cleanup/cleanup.h"
#include "common/log/log.h"
#include "common/secrets/ike_config_secrets.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::ike {

IkeServiceImpl::IkeServiceImpl(ConfigStore* store, SaManager* manager,
                               prometheus::Registry& registry,
                               const security::Authorizer* authz)
    : authz_(authz),
      store_(store),
      manager_(manager),
      config_changes_(prometheus::BuildCounter()
                          .Name("vpnfleet_ike_config_changes_total")
                          .Help("Configuration changes by result (applied, rejected, validated).")
                          .Register(registry)),
      config_revision_(prometheus::BuildGauge()
                           .Name("vpnfleet_ike_config_revision")
                           .Help("Revision of the running IKE configuration.")
                           .Register(registry)
                           .Add({})) {
  // At zero from the start: the rejected-change alert sees the first one.
  for (const char* result : {"applied", "rejected", "validated"}) config_changes_.Add({{"result", result}});
}

grpc::Status IkeServiceImpl::GetConfig(grpc::ServerContext* context, const v1::GetConfigRequest*,
                                       v1::IkeConfig* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/GetConfig"); !denied.ok()) return denied;
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

grpc::Status IkeServiceImpl::EditConfig(grpc::ServerContext* context, const v1::EditConfigRequest* request,
                                        v1::EditConfigResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/EditConfig"); !denied.ok()) return denied;
  // The request's keys are copied into the store; gRPC frees the request
  // after we return, so its keys are wiped first (it is ours to change).
  auto* edits = const_cast<v1::EditConfigRequest*>(request)->mutable_edits();
  auto wipe = absl::MakeCleanup([edits] { secrets::WipeIkeEdits(edits); });
  return Finish(store_->Edit(request->edits(), request->expected_revision(),
                             request->validate_only()),
                request->validate_only(), response);
}

grpc::Status IkeServiceImpl::ReplaceConfig(grpc::ServerContext* context,
                                           const v1::ReplaceConfigRequest* request,
                                           v1::EditConfigResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/ReplaceConfig"); !denied.ok()) return denied;
  auto* config = const_cast<v1::ReplaceConfigRequest*>(request)->mutable_config();
  auto wipe = absl::MakeCleanup([config] { secrets::WipeIkeConfig(config); });
  return Finish(store_->Replace(request->config(), request->expected_revision(),
                                request->validate_only()),
                request->validate_only(), response);
}

grpc::Status IkeServiceImpl::ListIkeSas(grpc::ServerContext* context, const v1::ListIkeSasRequest* request,
                                        v1::ListIkeSasResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/ListIkeSas"); !denied.ok()) return denied;
  manager_->Call([&] { manager_->ListIkeSas(*request, response); });
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::ListPublicKeys(grpc::ServerContext* context,
                                            const v1::ListPublicKeysRequest*,
                                            v1::ListPublicKeysResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/ListPublicKeys"); !denied.ok()) return denied;
  manager_->Call([&] { manager_->ListPublicKeys(response); });
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::ListChildSas(grpc::ServerContext* context,
                                          const v1::ListChildSasRequest* request,
                                          v1::ListChildSasResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/ListChildSas"); !denied.ok()) return denied;
  manager_->Call([&] { manager_->ListChildSas(*request, response); });
  manager_->AddChildCounters(response);  // off the engine thread
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::Initiate(grpc::ServerContext* context, const v1::InitiateRequest* request,
                                      v1::InitiateResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/Initiate"); !denied.ok()) return denied;
  absl::StatusOr<uint64_t> id = absl::InternalError("not run");
  manager_->Call([&] { id = manager_->Initiate(*request); });
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_ike_conn_id(*id);
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::Terminate(grpc::ServerContext* context, const v1::TerminateRequest* request,
                                       v1::TerminateResponse* response) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/Terminate"); !denied.ok()) return denied;
  if (request->target_case() == v1::TerminateRequest::TARGET_NOT_SET) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "name an IKE connection id, a peer, or all");
  }
  uint32_t n = 0;
  manager_->Call([&] { n = manager_->Terminate(*request); });
  response->set_terminated(n);
  return grpc::Status::OK;
}

grpc::Status IkeServiceImpl::WatchEvents(grpc::ServerContext* context,
                                         const v1::WatchEventsRequest*,
                                         grpc::ServerWriter<v1::IkeEvent>* writer) {
  if (auto denied = authz_->Check(context, "vpnfleet.ike.v1.IkeService/WatchEvents"); !denied.ok()) return denied;
  // A bounded queue per watcher: a slow reader loses events (counted in
  // the log), never slows the engine.
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<v1::IkeEvent> events;
    uint64_t lost = 0;
  };
  auto q = std::make_shared<Queue>();
  const uint64_t id = manager_->Subscribe([q](const v1::IkeEvent& e) {
    std::lock_guard<std::mutex> lock(q->mu);
    if (q->events.size() >= 10000) {
      ++q->lost;
      return;
    }
    q->events.push_back(e);
    q->cv.notify_one();
  });
  while (!context->IsCancelled()) {
    std::deque<v1::IkeEvent> batch;
    {
      std::unique_lock<std::mutex> lock(q->mu);
      q->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return !q->events.empty(); });
      batch.swap(q->events);
    }
    bool ok = true;
    for (const v1::IkeEvent& e : batch) ok = ok && writer->Write(e);
    if (!ok) break;
  }
  manager_->Unsubscribe(id);
  if (q->lost > 0) log::Warn("IKE event watcher was too slow", {{"lost", q->lost}});
  return grpc::Status::OK;
}

}  // namespace vpnfleet::ike
