#include "services/ike/dataplane/grpc_dataplane_client.h"

#include <chrono>

#include "common/crypto/zeroize.h"
#include "common/status/grpc_status.h"

namespace vpnfleet::ike {

namespace dv1 = vpnfleet::dataplane::v1;

GrpcDataplaneClient::GrpcDataplaneClient(std::shared_ptr<grpc::ChannelInterface> channel,
                                         absl::Duration timeout)
    : channel_(std::move(channel)),
      stub_(dv1::DataplaneService::NewStub(channel_)),
      timeout_(timeout) {}

void GrpcDataplaneClient::Bound(grpc::ClientContext* ctx) const {
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout_)));
}

absl::Status GrpcDataplaneClient::AddSa(const dv1::SecurityAssociation& sa) {
  dv1::AddSaRequest req;
  *req.mutable_sa() = sa;
  dv1::AddSaResponse resp;
  grpc::ClientContext ctx;
  Bound(&ctx);
  grpc::Status st = stub_->AddSa(&ctx, req, &resp);
  // The request's copy of the keys is ours to wipe.
  vpnfleet::crypto::ZeroizeString(req.mutable_sa()->mutable_encryption_key());
  vpnfleet::crypto::ZeroizeString(req.mutable_sa()->mutable_integrity_key());
  return FromGrpcStatus(st);
}

absl::Status GrpcDataplaneClient::DeleteSa(const dv1::SaKey& key) {
  dv1::DeleteSaRequest req;
  *req.mutable_key() = key;
  dv1::DeleteSaResponse resp;
  grpc::ClientContext ctx;
  Bound(&ctx);
  return FromGrpcStatus(stub_->DeleteSa(&ctx, req, &resp));
}

absl::StatusOr<uint64_t> GrpcDataplaneClient::AddPolicy(const dv1::SpdPolicy& policy) {
  dv1::AddPolicyRequest req;
  *req.mutable_policy() = policy;
  dv1::AddPolicyResponse resp;
  grpc::ClientContext ctx;
  Bound(&ctx);
  grpc::Status st = stub_->AddPolicy(&ctx, req, &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return resp.id();
}

absl::Status GrpcDataplaneClient::DeletePolicy(uint64_t id) {
  dv1::DeletePolicyRequest req;
  req.set_id(id);
  dv1::DeletePolicyResponse resp;
  grpc::ClientContext ctx;
  Bound(&ctx);
  return FromGrpcStatus(stub_->DeletePolicy(&ctx, req, &resp));
}

absl::StatusOr<std::vector<SaCounterEntry>> GrpcDataplaneClient::Counters(const dv1::SaKey* only) {
  dv1::GetSaCountersRequest req;
  if (only != nullptr) *req.mutable_key() = *only;
  dv1::GetSaCountersResponse resp;
  grpc::ClientContext ctx;
  Bound(&ctx);
  grpc::Status st = stub_->GetSaCounters(&ctx, req, &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return std::vector<SaCounterEntry>(std::make_move_iterator(resp.mutable_entries()->begin()),
                                     std::make_move_iterator(resp.mutable_entries()->end()));
}

absl::StatusOr<std::vector<dv1::SpdPolicy>> GrpcDataplaneClient::ListPolicies() {
  dv1::ListPoliciesResponse resp;
  grpc::ClientContext ctx;
  Bound(&ctx);
  grpc::Status st = stub_->ListPolicies(&ctx, dv1::ListPoliciesRequest(), &resp);
  if (!st.ok()) return FromGrpcStatus(st);
  return std::vector<dv1::SpdPolicy>(std::make_move_iterator(resp.mutable_policies()->begin()),
                                     std::make_move_iterator(resp.mutable_policies()->end()));
}

absl::Status GrpcDataplaneClient::Ping() {
  dv1::ListInterfacesResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return FromGrpcStatus(stub_->ListInterfaces(&ctx, dv1::ListInterfacesRequest(), &resp));
}

absl::Status GrpcDataplaneClient::Watch(const std::function<void(const dv1::DataplaneEvent&)>& sink) {
  grpc::ClientContext ctx;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    if (cancelled_) return absl::CancelledError("watch cancelled");
    watch_ = &ctx;
  }
  auto reader = stub_->WatchEvents(&ctx, dv1::WatchEventsRequest());
  dv1::DataplaneEvent ev;
  while (reader->Read(&ev)) sink(ev);
  grpc::Status st = reader->Finish();
  std::lock_guard<std::mutex> lock(watch_mu_);
  watch_ = nullptr;
  if (st.ok()) return absl::UnavailableError("the dataplane ended the event stream");
  return FromGrpcStatus(st);
}

void GrpcDataplaneClient::CancelWatch() {
  std::lock_guard<std::mutex> lock(watch_mu_);
  cancelled_ = true;
  if (watch_ != nullptr) watch_->TryCancel();
}

}  // namespace vpnfleet::ike
