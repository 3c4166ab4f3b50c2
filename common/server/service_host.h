// Hosts a daemon's gRPC services: TCP and Unix-domain listeners, standard
// health checking (grpc.health.v1), server reflection, per-RPC metrics and a
// Prometheus /metrics endpoint with process metrics.
#ifndef VPNFLEET_COMMON_SERVER_SERVICE_HOST_H_
#define VPNFLEET_COMMON_SERVER_SERVICE_HOST_H_

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/metrics/grpc_metrics.h"
#include "common/metrics/process_collector.h"
#include "common/security/authorizer.h"
#include "common/security/authz_policy.h"
#include "common/security/peer_cred_listener.h"
#include "common/security/tls.h"
#include "common/server/reflection_v1.h"
#include "common/server/undecodable_requests.h"
#include "grpcpp/server.h"
#include "grpcpp/impl/codegen/service_type.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace vpnfleet::server {

struct HostOptions {
  std::string name;            // "ike", used in logs and metric labels
  std::string grpc_listen;     // "host:port" (port 0 = any); empty = no TCP
  std::string grpc_socket;     // Unix socket path; empty = none
  std::string metrics_listen;  // "host:port"; empty = no /metrics
  std::chrono::milliseconds shutdown_grace{5000};

  // The TCP listener speaks mutual TLS with these files; plaintext only when
  // `insecure` (the operator's explicit --insecure), refused otherwise.
  security::TlsSettings tls;
  bool insecure = false;
  security::AuthzPolicy policy = security::AuthzPolicy::Default();
  // Who may connect to the Unix socket besides root and our own uid.
  std::vector<std::string> socket_allow;
  std::string audit_log;  // JSON lines; empty: the service log
};

class ServiceHost {
 public:
  explicit ServiceHost(HostOptions options);
  ~ServiceHost();
  ServiceHost(const ServiceHost&) = delete;
  ServiceHost& operator=(const ServiceHost&) = delete;

  // Registers a service before Start(); `full_name` is its proto name
  // ("vpnfleet.ike.v1.IkeService"), reported SERVING by health checks.
  void AddService(grpc::Service* service, std::string full_name);

  // For services that publish their own metrics. Valid for the host's life.
  prometheus::Registry& registry() { return *registry_; }
  // A collector that computes its families at scrape time; kept alive by
  // the host. Before Start().
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
    collectables_.push_back(std::move(collectable));
  }

  absl::Status Start();

  // A health status of this daemon's own choosing (a role, a readiness),
  // from any thread, before or after Start(); a service named here is
  // reported as set, not SERVING by default.
  void SetHealth(const std::string& name, bool serving);

  // Marks every service NOT_SERVING, then stops accepting RPCs and waits up
  // to the grace period for those in flight. Idempotent.
  void Shutdown();

  // The authorization every service of this host checks at each call.
  const security::Authorizer* authorizer() const { return authorizer_.get(); }

  // Before Start(): the TCP listener's TLS files, for a service that makes
  // its own (the PKI issues itself a certificate).
  void SetTlsFiles(security::TlsFiles files) { options_.tls.files = std::move(files); }

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  const HostOptions& options() const { return options_; }
  // How this daemon calls others: with its own certificate, or in plaintext
  // when it serves that way (--insecure).
  security::ClientSecurity client_security() const {
    security::ClientSecurity c;
    c.tls.files = options_.tls.files;
    c.insecure = options_.insecure;
    return c;
  }

 private:
  HostOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<metrics::GrpcServerMetrics> grpc_metrics_;
  std::unique_ptr<UndecodableRequests> undecodable_;
  std::shared_ptr<metrics::ProcessCollector> process_collector_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::shared_ptr<security::UnixPeers> unix_peers_;
  std::unique_ptr<security::Authorizer> authorizer_;
  std::unique_ptr<security::PeerCredListener> unix_listener_;
  prometheus::Family<prometheus::Counter>* refused_ = nullptr;
  std::unique_ptr<ReflectionV1Service> reflection_v1_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  bool shut_down_ = false;
  std::mutex health_mu_;
  std::map<std::string, bool> health_;  // set by SetHealth; guarded by health_mu_
  bool started_ = false;                 // guarded by health_mu_
};

}  // namespace vpnfleet::server

#endif  // VPNFLEET_COMMON_SERVER_SERVICE_HOST_H_
