#include "common/server/service_host.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/metrics/process_collector.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "prometheus/gauge.h"

namespace vpnfleet::server {

ServiceHost::ServiceHost(HostOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      grpc_metrics_(std::make_unique<metrics::GrpcServerMetrics>(*registry_)),
      undecodable_(std::make_unique<UndecodableRequests>(*registry_)),
      process_collector_(std::make_shared<metrics::ProcessCollector>()),
      unix_peers_(std::make_shared<security::UnixPeers>()) {
  security::AuthorizerOptions ao;
  ao.service = options_.name;
  ao.policy = options_.policy;
  ao.audit_path = options_.audit_log;
  authorizer_ = std::make_unique<security::Authorizer>(std::move(ao), *registry_, unix_peers_);
  refused_ = &prometheus::BuildCounter()
                  .Name("vpnfleet_grpc_connections_refused_total")
                  .Help("Connections refused before any RPC: TLS peers our verifier refused "
                        "(revoked, wrong identity) and Unix-socket peers outside --socket_allow.")
                  .Register(*registry_);
  for (const char* r : {"revoked", "wrong-identity", "no-certificate", "unix-peer"}) {
    refused_->Add({{"reason", r}});
  }
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
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (options_.insecure) {
      log::Warn("gRPC on TCP is PLAINTEXT and every caller is admin (--insecure): "
                "use it only in a lab", {{"listen", options_.grpc_listen}});
      creds = grpc::InsecureServerCredentials();
    } else {
      if (auto st = security::CheckTlsFiles(options_.tls.files, absl::Now()); !st.ok()) {
        // Files may be on their way (an edge that enrolls after start): serve
        // anyway, handshakes fail until they are right, and say why.
        log::Warn("TLS files not usable yet; TCP handshakes fail until they are",
                  {{"error", std::string(st.message())}});
      }
      auto tls = security::MakeServerCredentials(
          options_.tls, [this](const std::string& reason) { refused_->Add({{"reason", reason}}).Increment(); });
      if (!tls.ok()) return tls.status();
      creds = *tls;
    }
    builder.AddListeningPort(options_.grpc_listen, creds, &grpc_port_);
  }
  if (!options_.grpc_socket.empty()) {
    auto allow = security::ParseSocketAllow(options_.socket_allow);
    if (!allow.ok()) return allow.status();
    auto listener = security::PeerCredListener::Listen(
        options_.grpc_socket, *std::move(allow), unix_peers_,
        [this] { refused_->Add({{"reason", "unix-peer"}}).Increment(); });
    if (!listener.ok()) return listener.status();
    unix_listener_ = *std::move(listener);
  }
  for (auto& [service, name] : services_) builder.RegisterService(service);
  // Reflection v1 beside the library's v1alpha: what clients ask first now.
  std::vector<std::string> names = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                                    "grpc.reflection.v1.ServerReflection"};
  for (const auto& [service, name] : services_) names.push_back(name);
  reflection_v1_ = std::make_unique<ReflectionV1Service>(std::move(names));
  builder.RegisterService(reflection_v1_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // First: metrics and the audit log see the status the caller gets.
  interceptors.push_back(undecodable_->MakeInterceptorFactory());
  interceptors.push_back(grpc_metrics_->MakeInterceptorFactory());
  interceptors.push_back(authorizer_->MakeAuditInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  server_ = builder.BuildAndStart();
  if (!server_ || (!options_.grpc_listen.empty() && grpc_port_ == 0)) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for gRPC on ",
        options_.grpc_listen.empty() ? options_.grpc_socket : options_.grpc_listen));
  }
  if (unix_listener_) unix_listener_->Serve(server_.get());

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
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    for (auto& [service, name] : services_) {
      if (!health_.count(name)) health->SetServingStatus(name, true);
    }
    for (const auto& [name, serving] : health_) health->SetServingStatus(name, serving);
    started_ = true;
  }
  log::Info("serving", {{"grpc_port", grpc_port_},
                        {"grpc_tls", !options_.grpc_listen.empty() && !options_.insecure},
                        {"grpc_socket", options_.grpc_socket},
                        {"metrics_port", metrics_port_}});
  return absl::OkStatus();
}

void ServiceHost::SetHealth(const std::string& name, bool serving) {
  std::lock_guard<std::mutex> lock(health_mu_);
  health_[name] = serving;
  if (started_ && !shut_down_ && server_) server_->GetHealthCheckService()->SetServingStatus(name, serving);
}

void ServiceHost::Shutdown() {
  if (!server_) return;
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    if (shut_down_) return;
    shut_down_ = true;
  }
  if (auto* health = server_->GetHealthCheckService()) {
    // Tell health watchers first, so load balancers stop sending new work.
    health->Shutdown();
  }
  if (unix_listener_) unix_listener_->Stop();
  server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
  server_->Wait();
  exposer_.reset();
  unix_listener_.reset();  // removes the socket
  log::Info("stopped");
}

}  // namespace vpnfleet::server
