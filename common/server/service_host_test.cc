#include "common/server/service_host.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/testing/echo_service.h"
#include "common/testing/http_get.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace vpnfleet::server {
namespace {

using ::testing::HasSubstr;
using vpnfleet::testing::v1::EchoMessage;

class ServiceHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // sun_path holds 108 bytes; Bazel's TEST_TMPDIR can be longer than that.
    socket_ = ::testing::TempDir() + "/host_test_" + std::to_string(getpid()) + ".sock";
    if (socket_.size() > 100) {
      socket_ = "/tmp/vpnfleet_host_test_" + std::to_string(getpid()) + ".sock";
    }
    HostOptions o;
    o.name = "test";
    o.grpc_listen = "127.0.0.1:0";
    o.insecure = true;  // this test is about hosting; tls_test is about TLS
    o.grpc_socket = socket_;
    o.metrics_listen = "127.0.0.1:0";
    host_ = std::make_unique<ServiceHost>(o);
    host_->AddService(&echo_, "vpnfleet.testing.v1.Echo");
    ASSERT_TRUE(host_->Start().ok());
  }

  std::string HealthOf(const std::string& target, const std::string& service) {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status st = stub->Check(&ctx, req, &resp);
    if (!st.ok()) return "error " + std::to_string(st.error_code());
    return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status());
  }

  grpc::Status Echo(const std::string& target, int fail_code) {
    auto stub = vpnfleet::testing::v1::Echo::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    EchoMessage req, resp;
    req.set_text("hello");
    req.set_fail_with_code(fail_code);
    grpc::Status st = stub->Echo(&ctx, req, &resp);
    if (st.ok()) {
      EXPECT_EQ(resp.text(), "hello");
    }
    return st;
  }

  std::string tcp() const { return "127.0.0.1:" + std::to_string(host_->grpc_port()); }
  std::string uds() const { return "unix:" + socket_; }

  std::string socket_;
  vpnfleet::testing::EchoService echo_;
  std::unique_ptr<ServiceHost> host_;
};

TEST_F(ServiceHostTest, ServesOverTcpAndUnixSocket) {
  EXPECT_GT(host_->grpc_port(), 0);
  EXPECT_TRUE(Echo(tcp(), 0).ok());
  EXPECT_TRUE(Echo(uds(), 0).ok());
  struct stat st {};
  ASSERT_EQ(stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ServiceHostTest, HealthIsServingForTheServerAndEachService) {
  EXPECT_EQ(HealthOf(tcp(), ""), "SERVING");
  EXPECT_EQ(HealthOf(uds(), "vpnfleet.testing.v1.Echo"), "SERVING");
  // NOT_FOUND (5) for a service the host does not have.
  EXPECT_EQ(HealthOf(tcp(), "vpnfleet.nothing.v1.Nothing"), "error 5");
}

TEST_F(ServiceHostTest, MetricsCountRpcsByCodeAndReportProcessMetrics) {
  ASSERT_TRUE(Echo(tcp(), 0).ok());
  ASSERT_EQ(Echo(tcp(), static_cast<int>(grpc::StatusCode::NOT_FOUND)).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_GT(host_->metrics_port(), 0);
  std::string page = vpnfleet::testing::HttpGet(host_->metrics_port(), "/metrics");
  EXPECT_THAT(page, HasSubstr("200 OK"));
  EXPECT_THAT(page, HasSubstr("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Echo\","
                              "grpc_service=\"vpnfleet.testing.v1.Echo\",grpc_type=\"unary\"} 1"));
  EXPECT_THAT(page, HasSubstr("grpc_code=\"NOT_FOUND\",grpc_method=\"Echo\""));
  EXPECT_THAT(page, HasSubstr("grpc_server_handling_seconds_bucket{grpc_method=\"Echo\""));
  EXPECT_THAT(page, HasSubstr("process_cpu_seconds_total"));
  EXPECT_THAT(page, HasSubstr("vpnfleet_build_info{service=\"test\""));
}

TEST_F(ServiceHostTest, ShutdownRemovesTheSocketAndIsIdempotent) {
  host_->Shutdown();
  host_->Shutdown();
  EXPECT_NE(access(socket_.c_str(), F_OK), 0);
}

TEST(ServiceHost, ReportsAPortThatIsTaken) {
  HostOptions a;
  a.name = "a";
  a.grpc_listen = "127.0.0.1:0";
  a.insecure = true;
  ServiceHost first(a);
  ASSERT_TRUE(first.Start().ok());
  HostOptions b = a;
  b.grpc_listen = "127.0.0.1:" + std::to_string(first.grpc_port());
  ServiceHost second(b);
  absl::Status st = second.Start();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
}

TEST(ServiceHost, RefusesToReplaceAFileThatIsNotASocket) {
  std::string path = ::testing::TempDir() + "/not_a_socket_" + std::to_string(getpid());
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  HostOptions o;
  o.name = "x";
  o.grpc_socket = path;
  ServiceHost host(o);
  EXPECT_EQ(host.Start().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(access(path.c_str(), F_OK), 0);  // still there
  unlink(path.c_str());
}

// What grpcurl does first: reflection v1 on one stream, several questions.
TEST_F(ServiceHostTest, ReflectionV1ListsServicesAndDescribesThem) {
  namespace rv1 = grpc::reflection::v1;
  auto stub = rv1::ServerReflection::NewStub(
      grpc::CreateChannel("unix:" + socket_, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&ctx);
  auto ask = [&](const rv1::ServerReflectionRequest& req) {
    rv1::ServerReflectionResponse resp;
    EXPECT_TRUE(stream->Write(req));
    EXPECT_TRUE(stream->Read(&resp));
    return resp;
  };
  rv1::ServerReflectionRequest list;
  list.set_list_services("*");
  auto services = ask(list);
  std::vector<std::string> names;
  for (const auto& s : services.list_services_response().service()) names.push_back(s.name());
  EXPECT_THAT(names, ::testing::IsSupersetOf({"vpnfleet.testing.v1.Echo", "grpc.health.v1.Health",
                                              "grpc.reflection.v1.ServerReflection",
                                              "grpc.reflection.v1alpha.ServerReflection"}));

  rv1::ServerReflectionRequest symbol;
  symbol.set_file_containing_symbol("vpnfleet.testing.v1.Echo");
  auto file = ask(symbol);
  ASSERT_GE(file.file_descriptor_response().file_descriptor_proto_size(), 2);  // echo.proto and its import
  google::protobuf::FileDescriptorProto first;
  ASSERT_TRUE(first.ParseFromString(file.file_descriptor_response().file_descriptor_proto(0)));
  EXPECT_EQ(first.name(), "vpnfleet/testing/v1/echo.proto");
  ASSERT_EQ(first.service_size(), 1);
  EXPECT_EQ(first.service(0).name(), "Echo");
  // Asked again: the file itself, its imports not again.
  auto again = ask(symbol);
  EXPECT_EQ(again.file_descriptor_response().file_descriptor_proto_size(), 1);

  rv1::ServerReflectionRequest unknown;
  unknown.set_file_containing_symbol(std::string(5000, 'x'));
  auto err = ask(unknown);
  EXPECT_EQ(err.error_response().error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_LT(err.error_response().error_message().size(), 200u);  // not the whole input
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ServiceHostTest, UndecodableRequestIsInvalidArgumentCountedAndServerKeepsServing) {
  auto channel = grpc::CreateChannel(uds(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  // Field 1 (text) claims 100 bytes and carries 3; then a lone 0xff.
  for (const std::string& bytes : {std::string("\x0a\x64" "abc", 5), std::string("\xff", 1)}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1), response;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&ctx, "/vpnfleet.testing.v1.Echo/Echo", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("vpnfleet.testing.v1.Echo/Echo"));
    EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("abc")));
  }
  // A handler's own INTERNAL stays INTERNAL; a good request still works.
  EXPECT_EQ(Echo(uds(), grpc::StatusCode::INTERNAL).error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_TRUE(Echo(uds(), 0).ok());
  std::string metrics = vpnfleet::testing::HttpGet(host_->metrics_port(), "/metrics");
  EXPECT_THAT(metrics, HasSubstr("vpnfleet_grpc_requests_undecodable_total{grpc_method=\"Echo\","
                                 "grpc_service=\"vpnfleet.testing.v1.Echo\"} 2"));
  EXPECT_THAT(metrics, HasSubstr("grpc_server_handled_total{grpc_code=\"INVALID_ARGUMENT\","
                                 "grpc_method=\"Echo\""));
}

}  // namespace
}  // namespace vpnfleet::server
