#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/controller/rollout/edge_client.h"
#include "vpnfleet/ike/v1/ike.grpc.pb.h"

namespace vpnfleet::controller {
namespace {

namespace ike = vpnfleet::ike::v1;

class GrpcEdgeClient final : public EdgeClient {
 public:
  explicit GrpcEdgeClient(int deadline_ms) : deadline_ms_(deadline_ms) {}

  absl::StatusOr<ike::IkeConfig> GetConfig(const v1::Device& d) override {
    ike::IkeConfig out;
    auto st = Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.GetConfig(ctx, ike::GetConfigRequest(), &out);
    });
    if (!st.ok()) return st;
    return out;
  }

  absl::StatusOr<uint64_t> ReplaceConfig(const v1::Device& d, const ike::IkeConfig& config,
                                         bool validate_only) override {
    ike::ReplaceConfigRequest req;
    *req.mutable_config() = config;
    req.set_validate_only(validate_only);
    ike::EditConfigResponse resp;
    auto st = Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.ReplaceConfig(ctx, req, &resp);
    });
    // The request held keys; do not leave them in freed memory.
    for (auto& k : *req.mutable_config()->mutable_pre_shared_keys()) {
      if (!k.key().empty()) std::fill(k.mutable_key()->begin(), k.mutable_key()->end(), '\0');
    }
    if (!st.ok()) return st;
    return resp.revision().number();
  }

  absl::Status Initiate(const v1::Device& d, const std::string& map, uint32_t seq,
                        const std::string& peer) override {
    ike::InitiateRequest req;
    req.set_crypto_map(map);
    req.set_sequence(seq);
    req.set_peer(peer);
    ike::InitiateResponse resp;
    return Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.Initiate(ctx, req, &resp);
    });
  }

  absl::StatusOr<ike::ListChildSasResponse> ListChildSas(const v1::Device& d) override {
    ike::ListChildSasResponse out;
    auto st = Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.ListChildSas(ctx, ike::ListChildSasRequest(), &out);
    });
    if (!st.ok()) return st;
    return out;
  }

  absl::StatusOr<ike::ListIkeSasResponse> ListIkeSas(const v1::Device& d) override {
    ike::ListIkeSasResponse out;
    auto st = Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.ListIkeSas(ctx, ike::ListIkeSasRequest(), &out);
    });
    if (!st.ok()) return st;
    return out;
  }

 private:
  template <typename F>
  absl::Status Call(const v1::Device& d, F&& f) {
    if (d.management_endpoint().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("device ", d.name(), ": management_endpoint: not set; the controller cannot reach it"));
    }
    ike::IkeService::Stub* stub = StubFor(d.management_endpoint());
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms_));
    ctx.AddMetadata("vpnfleet-device", d.name());
    grpc::Status st = f(*stub, &ctx);
    if (st.ok()) return absl::OkStatus();
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        absl::StrCat("device ", d.name(), " at ", d.management_endpoint(), ": ",
                                     st.error_message()));
  }

  ike::IkeService::Stub* StubFor(const std::string& endpoint) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& stub = stubs_[endpoint];
    if (!stub) {
      grpc::ChannelArguments args;
      // Many devices behind one endpoint share a channel; keep it to one
      // connection and let it multiplex.
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
      stub = ike::IkeService::NewStub(
          grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args));
    }
    return stub.get();
  }

  const int deadline_ms_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ike::IkeService::Stub>> stubs_;
};

}  // namespace

std::unique_ptr<EdgeClient> NewGrpcEdgeClient(int deadline_ms) {
  return std::make_unique<GrpcEdgeClient>(deadline_ms);
}

}  // namespace vpnfleet::controller
