// A request whose bytes are not a message of the method's request type is
// the caller's mistake, not ours: gRPC's C++ library answers it INTERNAL
// ("Failed to parse") before any handler runs. This interceptor answers it
// INVALID_ARGUMENT instead, counts it in
//   vpnfleet_grpc_requests_undecodable_total{grpc_service,grpc_method}
// and logs it (rate limited: hostile clients cannot flood the log).
// Only methods that read one request before their handler runs (unary and
// server streaming) are concerned: there a missing request after
// POST_RECV_MESSAGE can only mean it did not decode.
#ifndef VPNFLEET_COMMON_SERVER_UNDECODABLE_REQUESTS_H_
#define VPNFLEET_COMMON_SERVER_UNDECODABLE_REQUESTS_H_

#include <memory>

#include "absl/synchronization/mutex.h"
#include "common/log/rate_limit.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace vpnfleet::server {

class UndecodableRequests {
 public:
  explicit UndecodableRequests(prometheus::Registry& registry);

  // Must come before the metrics and audit interceptors, so that they see
  // the status the caller gets.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  MakeInterceptorFactory();

  // Counts one and logs it unless too many were logged lately.
  void Record(const std::string& service, const std::string& method,
              const std::string& peer);

 private:
  prometheus::Family<prometheus::Counter>& undecodable_;
  absl::Mutex mu_;
  log::RateLimit log_limit_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vpnfleet::server

#endif  // VPNFLEET_COMMON_SERVER_UNDECODABLE_REQUESTS_H_
