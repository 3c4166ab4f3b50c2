#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "common/secrets/ike_config_secrets.h"
#include "services/controller/rollout/edge_client.h"
#include "vpnfleet/ike/v1/ike.grpc.pb.h"

namespace vpnfleet::controller {
namespace {

namespace ike = vpnfleet::ike::v1;

class GrpcEdgeClient final : public EdgeClient {
 public:
  GrpcEdgeClient(int deadline_ms, security::ClientSecurity security, std::string identity)
      : deadline_ms_(deadline_ms), security_(std::move(security)), identity_(std::move(identity)) {}

  absl::StatusOr<ike::IkeConfig> GetConfig(const v1::Device& d) override {
    ike::IkeConfig out;
    auto st = Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.GetConfig(ctx, ike::GetConfigRequest(), &out);
    });
    if (!st.ok()) return st;
    return out;
  }

  absl::StatusOr<uint64_t> ReplaceConfig(const v1::Device& d, const ike::IkeConfig& config, bool validate_only,
                                         uint64_t expected_revision) override {
    ike::ReplaceConfigRequest req;
    *req.mutable_config() = config;
    req.set_validate_only(validate_only);
    req.set_expected_revision(expected_revision);
    ike::EditConfigResponse resp;
    auto st = Call(d, [&](ike::IkeService::Stub& s, grpc::ClientContext* ctx) {
      return s.ReplaceConfig(ctx, req, &resp);
    });
    // The request held keys (pre-shared and manual): not left in freed memory.
    secrets::WipeIkeConfig(req.mutable_config());
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
    auto stub_or = StubFor(d.management_endpoint(), d.name());
    if (!stub_or.ok()) {
      return absl::Status(stub_or.status().code(),
                          absl::StrCat("device ", d.name(), ": ", stub_or.status().message()));
    }
    ike::IkeService::Stub* stub = *stub_or;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms_));
    // A channel still backing off from an earlier failure (an edge that had
    // no certificate yet, a restart) is given until the deadline to connect.
    ctx.set_wait_for_ready(true);
    ctx.AddMetadata("vpnfleet-device", d.name());
    grpc::Status st = f(*stub, &ctx);
    if (st.ok()) return absl::OkStatus();
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        absl::StrCat("device ", d.name(), " at ", d.management_endpoint(), ": ",
                                     st.error_message()));
  }

  absl::StatusOr<ike::IkeService::Stub*> StubFor(const std::string& endpoint,
                                                 const std::string& device) {
    // Over TCP each device's certificate must name it, so the channel is the
    // device's; Unix-socket endpoints (several devices behind one local
    // daemon) share one channel and let it multiplex.
    const bool tcp = !absl::StartsWith(endpoint, "unix:") && !security_.insecure;
    const std::string key = tcp ? absl::StrCat(endpoint, "|", device) : endpoint;
    std::lock_guard<std::mutex> lock(mu_);
    auto& stub = stubs_[key];
    if (!stub) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
      security::ClientSecurity sec = security_;
      if (tcp) sec.tls.peer_identity = absl::StrReplaceAll(identity_, {{"{device}", device}});
      auto channel = security::Dial(endpoint, sec, args);
      if (!channel.ok()) {
        stubs_.erase(key);
        return channel.status();
      }
      stub = ike::IkeService::NewStub(*channel);
    }
    return stub.get();
  }

  const int deadline_ms_;
  const security::ClientSecurity security_;
  const std::string identity_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ike::IkeService::Stub>> stubs_;
};

}  // namespace

std::unique_ptr<EdgeClient> NewGrpcEdgeClient(int deadline_ms, security::ClientSecurity security,
                                              std::string identity) {
  return std::make_unique<GrpcEdgeClient>(deadline_ms, std::move(security), std::move(identity));
}

}  // namespace vpnfleet::controller
