#include "absl/strings/string_view.h"
#include "common/metrics/grpc_metrics.h"

#include <chrono>

namespace vpnfleet::metrics {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return *buckets;
}

const char* TypeName(grpc::experimental::ServerRpcInfo::Type type) {
  using Type = grpc::experimental::ServerRpcInfo::Type;
  switch (type) {
    case Type::UNARY: return "unary";
    case Type::CLIENT_STREAMING: return "client_stream";
    case Type::SERVER_STREAMING: return "server_stream";
    case Type::BIDI_STREAMING: return "bidi_stream";
  }
  return "unknown";
}

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(GrpcServerMetrics* metrics,
                     grpc::experimental::ServerRpcInfo* info)
      : metrics_(metrics) {
    SplitGrpcMethod(info->method() ? info->method() : "", &service_, &method_);
    type_ = TypeName(info->type());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using Hook = grpc::experimental::InterceptionHookPoints;
    if (methods->QueryInterceptionHookPoint(Hook::POST_RECV_INITIAL_METADATA)) {
      start_ = std::chrono::steady_clock::now();
      metrics_->started()
          .Add({{"grpc_service", service_}, {"grpc_method", method_},
                {"grpc_type", type_}})
          .Increment();
    }
    if (methods->QueryInterceptionHookPoint(Hook::PRE_SEND_STATUS)) {
      int code = static_cast<int>(methods->GetSendStatus().error_code());
      metrics_->handled()
          .Add({{"grpc_service", service_}, {"grpc_method", method_},
                {"grpc_type", type_}, {"grpc_code", GrpcCodeName(code)}})
          .Increment();
      std::chrono::duration<double> elapsed =
          std::chrono::steady_clock::now() - start_;
      metrics_->handling_seconds()
          .Add({{"grpc_service", service_}, {"grpc_method", method_},
                {"grpc_type", type_}},
               LatencyBuckets())
          .Observe(elapsed.count());
    }
    methods->Proceed();
  }

 private:
  GrpcServerMetrics* metrics_;
  std::string service_;
  std::string method_;
  const char* type_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(GrpcServerMetrics* metrics)
      : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new MetricsInterceptor(metrics_, info);
  }

 private:
  GrpcServerMetrics* metrics_;
};

}  // namespace

void SplitGrpcMethod(absl::string_view full, std::string* service,
                     std::string* method) {
  if (!full.empty() && full[0] == '/') full.remove_prefix(1);
  size_t slash = full.find('/');
  if (slash == absl::string_view::npos) {
    *service = "unknown";
    *method = full.empty() ? "unknown" : std::string(full);
    return;
  }
  *service = std::string(full.substr(0, slash));
  *method = std::string(full.substr(slash + 1));
}

std::string GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return "UNKNOWN";
}

GrpcServerMetrics::GrpcServerMetrics(prometheus::Registry& registry)
    : started_(prometheus::BuildCounter()
                   .Name("grpc_server_started_total")
                   .Help("RPCs started on the server.")
                   .Register(registry)),
      handled_(prometheus::BuildCounter()
                   .Name("grpc_server_handled_total")
                   .Help("RPCs completed on the server, by status code.")
                   .Register(registry)),
      handling_seconds_(prometheus::BuildHistogram()
                            .Name("grpc_server_handling_seconds")
                            .Help("Latency of RPCs handled by the server.")
                            .Register(registry)) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
GrpcServerMetrics::MakeInterceptorFactory() {
  return std::make_unique<MetricsInterceptorFactory>(this);
}

}  // namespace vpnfleet::metrics
