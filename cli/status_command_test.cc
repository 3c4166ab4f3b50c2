#include "cli/status_command.h"

#include "cli/grpc_probe.h"

#include <sstream>

#include "common/testing/echo_service.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace vpnfleet::cli {
namespace {

using ::testing::HasSubstr;

// A bare gRPC server with health checking but without reflection, to see
// both answers the probe can get.
class BareServer {
 public:
  BareServer() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(&echo_);
    server_ = b.BuildAndStart();
    server_->GetHealthCheckService()->SetServingStatus("vpnfleet.ike.v1.IkeService", true);
  }
  ~BareServer() { server_->Shutdown(); }
  std::string target() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  vpnfleet::testing::EchoService echo_;
  std::unique_ptr<grpc::Server> server_;
};

// The bare test servers speak plaintext TCP.
const bool kPlaintext = [] {
  security::ClientSecurity plaintext;
  plaintext.insecure = true;
  SetClientSecurity(plaintext);
  return true;
}();

TEST(ProbeService, ServingServiceWithoutReflectionSaysSo) {
  BareServer server;
  ServiceReport r = ProbeService({"ike", "vpnfleet.ike.v1.IkeService", server.target()},
                                 std::chrono::seconds(5));
  EXPECT_EQ(r.health, "SERVING");
  EXPECT_THAT(r.error, HasSubstr("reflection"));
  EXPECT_TRUE(r.apis.empty());
}

TEST(ProbeService, UnknownServiceAndUnreachableTarget) {
  BareServer server;
  ServiceReport unknown = ProbeService({"pki", "vpnfleet.pki.v1.PkiService", server.target()},
                                       std::chrono::seconds(5));
  EXPECT_EQ(unknown.health, "SERVICE_UNKNOWN");
  ServiceReport down = ProbeService({"pki", "vpnfleet.pki.v1.PkiService",
                                     "unix:/nonexistent/vpnfleet-test.sock"},
                                    std::chrono::milliseconds(300));
  EXPECT_EQ(down.health, "UNREACHABLE");
  EXPECT_FALSE(down.error.empty());
}

TEST(RunStatus, ExitCodeAndJsonShape) {
  BareServer server;
  std::ostringstream out;
  int rc = RunStatus({{"ike", "vpnfleet.ike.v1.IkeService", server.target()}}, /*json=*/true,
                     std::chrono::seconds(5), out);
  EXPECT_EQ(rc, 0);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out.str(), &parsed).ok()) << out.str();
  EXPECT_TRUE(parsed.fields().at("all_serving").bool_value());
  const auto& svc = parsed.fields().at("services").list_value().values(0).struct_value();
  EXPECT_EQ(svc.fields().at("health").string_value(), "SERVING");
  EXPECT_EQ(svc.fields().at("name").string_value(), "ike");

  std::ostringstream text;
  rc = RunStatus({{"ike", "vpnfleet.ike.v1.IkeService", server.target()},
                  {"pki", "vpnfleet.pki.v1.PkiService", "unix:/nonexistent/x.sock"}},
                 /*json=*/false, std::chrono::milliseconds(300), text);
  EXPECT_EQ(rc, 1);
  EXPECT_THAT(text.str(), HasSubstr("Service"));
  EXPECT_THAT(text.str(), HasSubstr("UNREACHABLE"));
}

}  // namespace
}  // namespace vpnfleet::cli
