#include "common/server/service_host.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/metrics/process_collector.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "prometheus/gauge.h"

namespace vpnfleet::server {
namespace {

// Removes a leftover socket of an earlier run; refuses to touch anything that
// is not a socket.
absl::Status PrepareSocketPath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " exists and is not a socket"));
    }
    if (unlink(path.c_str()) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot remove stale socket ", path, ": ", strerror(errno)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

ServiceHost::ServiceHost(HostOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      grpc_metrics_(std::make_unique<metrics::GrpcServerMetrics>(*registry_)),
      process_collector_(std::make_shared<metrics::ProcessCollector>()) {
  prometheus::BuildGauge()
      .Name("vpnfleet_build_info")
      .Help("Always 1; labels name the service and its version.")
      .Register(*registry_)
      .Add({{"service", options_.name}, {"version", VPNFLEET_VERSION}})
      .Set(1);
}

ServiceHost::~ServiceHost() { Shutdown(); }

void ServiceHost::AddService(grpc::Service* service, std::string full_name) {
  services_.emplace_back(service, std::move(full_name));
}

absl::Status ServiceHost::Start() {
  if (options_.grpc_listen.empty() && options_.grpc_socket.empty()) {
    return absl::InvalidArgumentError("no gRPC listener configured");
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default, which would let a second daemon bind
  // the same port and silently take half the connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (!options_.grpc_listen.empty()) {
    builder.AddListeningPort(options_.grpc_listen,
                             grpc::InsecureServerCredentials(), &grpc_port_);
  }
  if (!options_.grpc_socket.empty()) {
    if (auto st = PrepareSocketPath(options_.grpc_socket); !st.ok()) return st;
    builder.AddListeningPort(absl::StrCat("unix:", options_.grpc_socket),
                             grpc::InsecureServerCredentials());
  }
  for (auto& [service, name] : services_) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(grpc_metrics_->MakeInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  server_ = builder.BuildAndStart();
  if (!server_ || (!options_.grpc_listen.empty() && grpc_port_ == 0)) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for gRPC on ",
        options_.grpc_listen.empty() ? options_.grpc_socket : options_.grpc_listen));
  }
  if (!options_.grpc_socket.empty()) {
    chmod(options_.grpc_socket.c_str(), 0660);
  }

  if (!options_.metrics_listen.empty()) {
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(options_.metrics_listen);
    } catch (const std::exception& e) {
      Shutdown();
      return absl::UnavailableError(absl::StrCat(
          "cannot listen for metrics on ", options_.metrics_listen, ": ", e.what()));
    }
    exposer_->RegisterCollectable(registry_);
    // The exposer keeps only weak references: the host owns the collectors.
    exposer_->RegisterCollectable(process_collector_);
    for (const auto& c : collectables_) exposer_->RegisterCollectable(c);
    auto ports = exposer_->GetListeningPorts();
    metrics_port_ = ports.empty() ? 0 : ports.front();
  }

  auto* health = server_->GetHealthCheckService();
  health->SetServingStatus("", true);
  for (auto& [service, name] : services_) health->SetServingStatus(name, true);
  log::Info("serving", {{"grpc_port", grpc_port_},
                        {"grpc_socket", options_.grpc_socket},
                        {"metrics_port", metrics_port_}});
  return absl::OkStatus();
}

void ServiceHost::Shutdown() {
  if (shut_down_ || !server_) return;
  shut_down_ = true;
  if (auto* health = server_->GetHealthCheckService()) {
    // Tell health watchers first, so load balancers stop sending new work.
    health->Shutdown();
  }
  server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
  server_->Wait();
  exposer_.reset();
  if (!options_.grpc_socket.empty()) unlink(options_.grpc_socket.c_str());
  log::Info("stopped");
}

}  // namespace vpnfleet::server
