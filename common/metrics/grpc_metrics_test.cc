#include "common/metrics/grpc_metrics.h"

#include "gtest/gtest.h"

namespace vpnfleet::metrics {
namespace {

TEST(SplitGrpcMethod, ServiceAndMethod) {
  std::string service, method;
  SplitGrpcMethod("/vpnfleet.ike.v1.IkeService/GetConfig", &service, &method);
  EXPECT_EQ(service, "vpnfleet.ike.v1.IkeService");
  EXPECT_EQ(method, "GetConfig");
  SplitGrpcMethod("", &service, &method);
  EXPECT_EQ(service, "unknown");
  EXPECT_EQ(method, "unknown");
}

TEST(GrpcCodeName, CanonicalNames) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(12), "UNIMPLEMENTED");
  EXPECT_EQ(GrpcCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(99), "UNKNOWN");
  EXPECT_EQ(GrpcCodeName(-1), "UNKNOWN");
}

}  // namespace
}  // namespace vpnfleet::metrics
