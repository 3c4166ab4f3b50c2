// The Echo test service: answers with the request, or fails with the code the
// request names.
#ifndef VPNFLEET_COMMON_TESTING_ECHO_SERVICE_H_
#define VPNFLEET_COMMON_TESTING_ECHO_SERVICE_H_

#include "vpnfleet/testing/v1/echo.grpc.pb.h"

namespace vpnfleet::testing {

class EchoService final : public vpnfleet::testing::v1::Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const vpnfleet::testing::v1::EchoMessage* req,
                    vpnfleet::testing::v1::EchoMessage* resp) override {
    if (req->fail_with_code() != 0) {
      return grpc::Status(static_cast<grpc::StatusCode>(req->fail_with_code()), "asked to fail");
    }
    *resp = *req;
    return grpc::Status::OK;
  }
};

}  // namespace vpnfleet::testing

#endif  // VPNFLEET_COMMON_TESTING_ECHO_SERVICE_H_
