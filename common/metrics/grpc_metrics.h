// Per-RPC Prometheus metrics for a gRPC server, as a server interceptor. The
// metric names follow go-grpc-prometheus so existing dashboards work:
//   grpc_server_started_total{grpc_service,grpc_method,grpc_type}
//   grpc_server_handled_total{grpc_service,grpc_method,grpc_type,grpc_code}
//   grpc_server_handling_seconds{grpc_service,grpc_method,grpc_type} (histogram)
#ifndef VPNFLEET_COMMON_METRICS_GRPC_METRICS_H_
#define VPNFLEET_COMMON_METRICS_GRPC_METRICS_H_

#include "absl/strings/string_view.h"
#include <memory>
#include <string>
#include <string_view>

#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vpnfleet::metrics {

// Splits "/pkg.Service/Method" into its service and method parts.
void SplitGrpcMethod(absl::string_view full, std::string* service,
                     std::string* method);

// Name of a canonical status code as gRPC spells it ("OK", "NOT_FOUND").
std::string GrpcCodeName(int code);

class GrpcServerMetrics {
 public:
  explicit GrpcServerMetrics(prometheus::Registry& registry);

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  MakeInterceptorFactory();

  prometheus::Family<prometheus::Counter>& started() { return started_; }
  prometheus::Family<prometheus::Counter>& handled() { return handled_; }
  prometheus::Family<prometheus::Histogram>& handling_seconds() {
    return handling_seconds_;
  }

 private:
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& handled_;
  prometheus::Family<prometheus::Histogram>& handling_seconds_;
};

}  // namespace vpnfleet::metrics

#endif  // VPNFLEET_COMMON_METRICS_GRPC_METRICS_H_
