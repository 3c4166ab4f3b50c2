#include "cli/call_command.h"

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/grpc_probe.h"
#include "common/log/log.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "grpcpp/impl/codegen/rpc_method.h"
#include "grpcpp/impl/codegen/sync_stream.h"
#include "grpcpp/support/byte_buffer.h"
// The generated APIs, linked so that their descriptors are in the pool.
#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"
#include "vpnfleet/pki/v1/pki.pb.h"

namespace vpnfleet::cli {
namespace {

namespace pb = google::protobuf;

// Touches one message of each API so that the linker keeps its generated
// file (whose descriptors register themselves at load) in the binary.
void LinkApis() {
  (void)vpnfleet::controller::v1::Device::descriptor();
  (void)vpnfleet::dataplane::v1::AddSaRequest::descriptor();
  (void)vpnfleet::ike::v1::IkeConfig::descriptor();
  (void)vpnfleet::pki::v1::Certificate::descriptor();
}

std::string Bytes(const grpc::ByteBuffer& b) {
  std::vector<grpc::Slice> slices;
  (void)b.Dump(&slices);
  std::string s;
  for (const auto& slice : slices) s.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return s;
}

void PrintResponse(const grpc::ByteBuffer& b, const pb::Descriptor* type, pb::DynamicMessageFactory* f,
                   std::ostream& out) {
  std::unique_ptr<pb::Message> m(f->GetPrototype(type)->New());
  if (!m->ParseFromString(Bytes(b))) {
    out << "{\"error\": \"the response does not parse as " << type->full_name() << "\"}\n";
    return;
  }
  out << Json(*m);
}

std::string StatusCodeName(grpc::StatusCode c) {
  static constexpr const char* kNames[] = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  const int i = static_cast<int>(c);
  return i >= 0 && i < 17 ? kNames[i] : std::to_string(i);
}

int Failed(const grpc::Status& st, const CallOptions& o, std::ostream& out, std::ostream& err) {
  const std::string code = StatusCodeName(st.error_code());
  if (o.json) {
    out << "{\"code\": \"" << code << "\", \"message\": \"" << log::JsonEscape(st.error_message())
        << "\"}\n";
  } else {
    err << "vpnfleet call " << o.method << ": " << code << ": " << st.error_message() << "\n";
  }
  return 1;
}

}  // namespace

int RunCall(const CallOptions& o, std::ostream& out, std::ostream& err) {
  LinkApis();
  absl::string_view name = o.method;
  absl::ConsumePrefix(&name, "/");
  std::vector<std::string> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2) {
    err << "vpnfleet call: METHOD is package.Service/Method, e.g. vpnfleet.ike.v1.IkeService/GetConfig\n";
    return 2;
  }
  const pb::MethodDescriptor* m =
      pb::DescriptorPool::generated_pool()->FindMethodByName(parts[0] + "." + parts[1]);
  if (m == nullptr || !absl::StartsWith(parts[0], "vpnfleet.")) {
    err << "vpnfleet call: no method " << name << " in vpnfleet's APIs\n";
    return 2;
  }
  if (m->client_streaming()) {
    err << "vpnfleet call: " << name << " streams requests; not supported here\n";
    return 2;
  }
  // vpnfleet.ike.v1.IkeService -> the --ike target.
  std::vector<std::string> pkg = absl::StrSplit(parts[0], '.');
  auto target = o.targets.find(pkg.size() > 1 ? pkg[1] : "");
  if (target == o.targets.end()) {
    err << "vpnfleet call: no target for package " << parts[0] << "\n";
    return 2;
  }
  pb::DynamicMessageFactory factory;
  std::unique_ptr<pb::Message> request(factory.GetPrototype(m->input_type())->New());
  if (!o.request_json.empty()) {
    auto st = pb::util::JsonStringToMessage(o.request_json, request.get());
    if (!st.ok()) {
      err << "vpnfleet call: the request is not " << m->input_type()->full_name()
          << " in JSON: " << st.message() << "\n";
      return 2;
    }
  }
  const std::string wire = request->SerializeAsString();
  grpc::Slice slice(wire);
  grpc::ByteBuffer req(&slice, 1);
  auto channel = Dial(target->second);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + o.timeout);
  const std::string path = "/" + std::string(name);
  if (!m->server_streaming()) {
    grpc::ByteBuffer resp;
    grpc::internal::RpcMethod method(path.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::Status st = grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
        channel.get(), method, &ctx, req, &resp);
    if (!st.ok()) {
      const int rc = Failed(st, o, out, err);
      ExplainFailure(st, target->second, err);
      return rc;
    }
    PrintResponse(resp, m->output_type(), &factory, out);
    return 0;
  }
  grpc::internal::RpcMethod method(path.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING);
  std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
      grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel.get(), method, &ctx, req));
  grpc::ByteBuffer resp;
  while (reader->Read(&resp)) PrintResponse(resp, m->output_type(), &factory, out);
  grpc::Status st = reader->Finish();
  if (!st.ok()) {
    const int rc = Failed(st, o, out, err);
    ExplainFailure(st, target->second, err);
    return rc;
  }
  return 0;
}

}  // namespace vpnfleet::cli
