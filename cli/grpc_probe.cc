#include "cli/grpc_probe.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "absl/time/clock.h"

#include "common/status/grpc_status.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace vpnfleet::cli {

std::string Json(const google::protobuf::Message& m) {
  std::string s;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &s, o);
  return s;
}


namespace {
security::ClientSecurity& Security() {
  static security::ClientSecurity s;
  return s;
}
}  // namespace

void SetClientSecurity(const security::ClientSecurity& s) {
  Security() = s;
  if (s.tls.files.configured()) {
    if (auto st = security::CheckTlsFiles(s.tls.files, absl::Now()); !st.ok()) {
      std::cerr << "vpnfleet: warning: " << st.message() << "\n";
    }
  }
}

void ExplainFailure(const grpc::Status& status, const std::string& target, std::ostream& err) {
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return;
  if (auto why = security::DiagnoseTlsPeer(target, Security()); !why.ok()) {
    err << "  (" << why.message() << ")\n";
  }
}

std::shared_ptr<grpc::Channel> Dial(const std::string& target) {
  // A rollout of 100,000 devices is ~6 MB: more than gRPC's 4 MB default.
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = security::Dial(target, Security(), args);
  if (!channel.ok()) {
    std::cerr << "vpnfleet: " << channel.status().message() << "\n";
    std::exit(2);
  }
  return *channel;
}

absl::StatusOr<std::string> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& service,
                                        std::chrono::milliseconds timeout) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status st = stub->Check(&ctx, req, &resp);
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return std::string("SERVICE_UNKNOWN");
  if (!st.ok()) return FromGrpcStatus(st);
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
}

namespace {

// One list_services question over a reflection stream of either version
// (v1 and v1alpha have the same messages under two packages).
template <typename Refl>
absl::StatusOr<std::vector<std::string>> ListWith(const std::shared_ptr<grpc::Channel>& channel,
                                                  std::chrono::milliseconds timeout, grpc::Status* rpc) {
  auto stub = Refl::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  auto stream = stub->ServerReflectionInfo(&ctx);
  typename Refl::ServerReflectionRequest req;
  req.set_list_services("*");
  if (!stream->Write(req)) {
    *rpc = stream->Finish();
    return FromGrpcStatus(*rpc);
  }
  stream->WritesDone();
  typename Refl::ServerReflectionResponse resp;
  std::vector<std::string> names;
  bool got = false;
  while (stream->Read(&resp)) {
    if (resp.has_error_response()) {
      stream->Finish();
      return absl::UnknownError(resp.error_response().error_message());
    }
    for (const auto& s : resp.list_services_response().service()) names.push_back(s.name());
    got = true;
  }
  *rpc = stream->Finish();
  if (!rpc->ok()) return FromGrpcStatus(*rpc);
  if (!got) return absl::UnavailableError("reflection returned no answer");
  std::sort(names.begin(), names.end());
  return names;
}

struct ReflectionV1 {
  using ServerReflection = grpc::reflection::v1::ServerReflection;
  using ServerReflectionRequest = grpc::reflection::v1::ServerReflectionRequest;
  using ServerReflectionResponse = grpc::reflection::v1::ServerReflectionResponse;
};
struct ReflectionV1Alpha {
  using ServerReflection = grpc::reflection::v1alpha::ServerReflection;
  using ServerReflectionRequest = grpc::reflection::v1alpha::ServerReflectionRequest;
  using ServerReflectionResponse = grpc::reflection::v1alpha::ServerReflectionResponse;
};

}  // namespace

absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout) {
  // v1 first, as current clients do; servers with only v1alpha (older gRPC)
  // answer UNIMPLEMENTED and are asked again.
  grpc::Status rpc;
  auto v1 = ListWith<ReflectionV1>(channel, timeout, &rpc);
  if (v1.ok() || rpc.error_code() != grpc::StatusCode::UNIMPLEMENTED) return v1;
  return ListWith<ReflectionV1Alpha>(channel, timeout, &rpc);
}

}  // namespace vpnfleet::cli
