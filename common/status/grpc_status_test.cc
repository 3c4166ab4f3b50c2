#include "common/status/grpc_status.h"

#include "gtest/gtest.h"

namespace vpnfleet {
namespace {

TEST(GrpcStatus, CodesAndMessagesSurviveTheRoundTrip) {
  for (auto code : {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
                    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kUnauthenticated,
                    absl::StatusCode::kResourceExhausted}) {
    absl::Status in(code, "why");
    grpc::Status g = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(code));
    EXPECT_EQ(g.error_message(), "why");
    EXPECT_EQ(FromGrpcStatus(g), in);
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(GrpcStatus, NotYetImplementedIsUnimplemented) {
  grpc::Status s = NotYetImplemented("rollouts");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(s.error_message(), "rollouts is not implemented yet");
}

}  // namespace
}  // namespace vpnfleet
