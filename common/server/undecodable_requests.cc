#include "common/server/undecodable_requests.h"

#include <string>

#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/metrics/grpc_metrics.h"
#include "grpcpp/server_context.h"

namespace vpnfleet::server {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

class UndecodableInterceptor final : public grpc::experimental::Interceptor {
 public:
  UndecodableInterceptor(UndecodableRequests* owner, ServerRpcInfo* info)
      : owner_(owner), info_(info) {
    concerned_ = info->type() == ServerRpcInfo::Type::UNARY ||
                 info->type() == ServerRpcInfo::Type::SERVER_STREAMING;
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (concerned_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      undecoded_ = methods->GetRecvMessage() == nullptr;
    }
    if (undecoded_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      std::string service, method;
      metrics::SplitGrpcMethod(info_->method() != nullptr ? info_->method() : "", &service, &method);
      // Names the method, never echoes the bytes.
      methods->ModifySendStatus(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          "request: not a serialized " + service + "/" + method + " request message"));
      owner_->Record(service, method, info_->server_context()->peer());
    }
    methods->Proceed();
  }

 private:
  UndecodableRequests* owner_;
  ServerRpcInfo* info_;
  bool concerned_ = false;
  bool undecoded_ = false;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(UndecodableRequests* owner) : owner_(owner) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    return new UndecodableInterceptor(owner_, info);
  }

 private:
  UndecodableRequests* owner_;
};

}  // namespace

UndecodableRequests::UndecodableRequests(prometheus::Registry& registry)
    : undecodable_(prometheus::BuildCounter()
                       .Name("vpnfleet_grpc_requests_undecodable_total")
                       .Help("Requests refused INVALID_ARGUMENT because their bytes were not a "
                             "message of the method's request type.")
                       .Register(registry)),
      log_limit_(absl::Minutes(1), 10) {}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
UndecodableRequests::MakeInterceptorFactory() {
  return std::make_unique<Factory>(this);
}

void UndecodableRequests::Record(const std::string& service, const std::string& method,
                                 const std::string& peer) {
  undecodable_.Add({{"grpc_service", service}, {"grpc_method", method}}).Increment();
  uint64_t suppressed = 0;
  {
    absl::MutexLock lock(&mu_);
    if (!log_limit_.Allow(absl::Now(), &suppressed)) return;
  }
  log::Warn("request refused: its bytes are not a request message of the method",
            {{"method", service + "/" + method}, {"peer", peer}, {"suppressed", suppressed}});
}

}  // namespace vpnfleet::server
