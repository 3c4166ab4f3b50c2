// Mutual TLS and authorization end to end: a ServiceHost serving a checked
// Echo over TLS and a Unix socket, and clients with good, foreign, expired,
// revoked and unnamed certificates.
#include "common/security/tls.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/time/clock.h"
#include "common/files/files.h"
#include "common/server/service_host.h"
#include "common/testing/test_ca.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "vpnfleet/testing/v1/echo.grpc.pb.h"

namespace vpnfleet::security {
namespace {

using ::testing::HasSubstr;
using vpnfleet::testing::TestCa;
using vpnfleet::testing::TestCert;
using vpnfleet::testing::v1::EchoMessage;

constexpr char kPolicy[] =
    "identity spiffe://test/viewer/* viewer\n"
    "identity spiffe://test/nobody/* nobody\n"
    "identity unix:* viewer\n"
    "allow viewer read\n";

class CheckedEcho final : public vpnfleet::testing::v1::Echo::Service {
 public:
  const Authorizer* authz = nullptr;
  grpc::Status Echo(grpc::ServerContext* context, const EchoMessage* req, EchoMessage* resp) override {
    if (auto denied = authz->Check(context, "vpnfleet.testing.v1.Echo/Echo"); !denied.ok()) {
      return denied;
    }
    *resp = *req;
    return grpc::Status::OK;
  }
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/vpnfleet_tls_test_" + std::to_string(getpid());
    mkdir(dir_.c_str(), 0700);
    Write("ca.pem", ca_.cert_pem());
    Write("other-ca.pem", other_.cert_pem());
    Put("server", ca_.Issue("server", "spiffe://test/pki/server"));
    viewer_ = ca_.Issue("alice", "spiffe://test/viewer/alice");
    Put("viewer", viewer_);
    Put("nobody", ca_.Issue("eve", "spiffe://test/nobody/eve"));
    Put("unnamed", ca_.Issue("carol", ""));
    Put("foreign", other_.Issue("mallory", "spiffe://test/viewer/mallory"));
    Put("expired", ca_.Issue("old", "spiffe://test/viewer/old", -7200, -3600));
    revoked_ = ca_.Issue("gone", "spiffe://test/viewer/gone");
    Put("revoked", revoked_);
    Write("crl.pem", ca_.Crl({revoked_.serial}));

    server::HostOptions o;
    o.name = "tls-test";
    o.grpc_listen = "127.0.0.1:0";
    o.grpc_socket = dir_ + "/echo.sock";
    o.tls.files = Files("server");
    o.tls.files.crl = dir_ + "/crl.pem";
    o.tls.refresh_seconds = 1;
    o.policy = *AuthzPolicy::Parse(kPolicy);
    o.audit_log = dir_ + "/audit.log";
    host_ = std::make_unique<server::ServiceHost>(o);
    echo_.authz = host_->authorizer();
    host_->AddService(&echo_, "vpnfleet.testing.v1.Echo");
    ASSERT_TRUE(host_->Start().ok());
  }
  void TearDown() override {
    host_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Write(const std::string& name, const std::string& data) {
    ASSERT_TRUE(files::WriteFileAtomically(dir_ + "/" + name, data, 0600).ok());
  }
  void Put(const std::string& name, const TestCert& c) {
    Write(name + ".pem", c.cert_pem);
    Write(name + ".key", c.key_pem);
  }
  TlsFiles Files(const std::string& name, const std::string& ca = "ca.pem") {
    TlsFiles f;
    f.cert = dir_ + "/" + name + ".pem";
    f.key = dir_ + "/" + name + ".key";
    f.ca = dir_ + "/" + ca;
    return f;
  }

  grpc::Status Call(const std::string& target, std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // no connection shared between tests
    auto stub = vpnfleet::testing::v1::Echo::NewStub(grpc::CreateCustomChannel(target, creds, args));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    EchoMessage req, resp;
    req.set_text("hello");
    return stub->Echo(&ctx, req, &resp);
  }
  grpc::Status CallAs(const std::string& name, const std::string& expect_server = "",
                      const std::string& ca = "ca.pem") {
    TlsSettings s;
    s.files = Files(name, ca);
    s.peer_identity = expect_server;
    auto creds = MakeChannelCredentials(s);
    EXPECT_TRUE(creds.ok());
    return Call("127.0.0.1:" + std::to_string(host_->grpc_port()), *creds);
  }

  TestCa ca_{"fleet CA"};
  TestCa other_{"other CA"};
  TestCert revoked_, viewer_;
  std::string dir_;
  CheckedEcho echo_;
  std::unique_ptr<server::ServiceHost> host_;
};

TEST_F(TlsTest, ACertificateFromTheCaWithARoleIsServed) {
  EXPECT_TRUE(CallAs("viewer").ok());
  EXPECT_TRUE(CallAs("viewer", "spiffe://test/pki/*").ok());
}

TEST_F(TlsTest, ARoleWithoutTheGrantIsDeniedAndAudited) {
  grpc::Status st = CallAs("nobody");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("spiffe://test/nobody/eve"));
  st = CallAs("unnamed");  // an identity (its subject) that maps to no role
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(st.error_message(), HasSubstr("CN=carol"));
  auto audit = files::ReadFile(dir_ + "/audit.log");
  ASSERT_TRUE(audit.ok());
  EXPECT_THAT(*audit, HasSubstr("\"caller\":\"spiffe://test/nobody/eve\""));
  EXPECT_THAT(*audit, HasSubstr("\"outcome\":\"denied\""));
}

TEST_F(TlsTest, ForeignExpiredAndRevokedCertificatesAreRefused) {
  EXPECT_EQ(CallAs("foreign").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallAs("expired").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallAs("revoked").error_code(), grpc::StatusCode::UNAVAILABLE);
  // No certificate at all: TLS without a client identity.
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = ca_.cert_pem();
  EXPECT_NE(Call("127.0.0.1:" + std::to_string(host_->grpc_port()), grpc::SslCredentials(o)).error_code(),
            grpc::StatusCode::OK);
  // Plaintext on the TLS port.
  EXPECT_EQ(Call("127.0.0.1:" + std::to_string(host_->grpc_port()),
                 grpc::InsecureChannelCredentials()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, AClientRefusesAServerWithAnotherIdentityOrCa) {
  EXPECT_EQ(CallAs("viewer", "spiffe://test/controller/*").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallAs("viewer", "", "other-ca.pem").error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ARenewedServerCertificateIsServedWithoutRestart) {
  ASSERT_TRUE(CallAs("viewer", "spiffe://test/pki/server").ok());
  Put("server", ca_.Issue("server", "spiffe://test/pki/renewed"));
  bool renewed = false;
  for (int i = 0; i < 40 && !renewed; ++i) {
    renewed = CallAs("viewer", "spiffe://test/pki/renewed").ok();
    if (!renewed) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(renewed);
}

TEST_F(TlsTest, ACrlChangedOnDiskIsUsedWithoutRestart) {
  ASSERT_TRUE(CallAs("viewer").ok());
  // Revoke alice by writing a new CRL.
  Write("crl.pem", ca_.Crl({revoked_.serial, viewer_.serial}));
  EXPECT_EQ(CallAs("viewer").error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, UnixSocketCallersAreNamedByUid) {
  EXPECT_TRUE(Call("unix:" + dir_ + "/echo.sock", grpc::InsecureChannelCredentials()).ok());
  EXPECT_EQ(AuthzPolicy::Parse(kPolicy)->RoleOf("unix:uid=" + std::to_string(getuid())), "viewer");
}

TEST(TlsFilesTest, CheckSaysWhatIsWrong) {
  const std::string dir = "/tmp/vpnfleet_tls_files_" + std::to_string(getpid());
  mkdir(dir.c_str(), 0700);
  TestCa ca("fleet CA"), other("other CA");
  auto good = ca.Issue("a", "spiffe://t/viewer/a");
  auto expired = ca.Issue("b", "", -7200, -3600);
  auto foreign = other.Issue("c", "");
  auto w = [&](const std::string& n, const std::string& d) {
    ASSERT_TRUE(files::WriteFileAtomically(dir + "/" + n, d, 0600).ok());
  };
  w("ca.pem", ca.cert_pem());
  w("good.pem", good.cert_pem);
  w("good.key", good.key_pem);
  w("expired.pem", expired.cert_pem);
  w("expired.key", expired.key_pem);
  w("foreign.pem", foreign.cert_pem);
  w("foreign.key", foreign.key_pem);
  w("crl.pem", ca.Crl({good.serial}));
  auto files = [&](const std::string& c, const std::string& k) {
    TlsFiles f;
    f.cert = dir + "/" + c;
    f.key = dir + "/" + k;
    f.ca = dir + "/ca.pem";
    return f;
  };
  const absl::Time now = absl::Now();
  EXPECT_TRUE(CheckTlsFiles(files("good.pem", "good.key"), now).ok());
  EXPECT_THAT(std::string(CheckTlsFiles(files("good.pem", "expired.key"), now).message()),
              HasSubstr("does not belong"));
  EXPECT_THAT(std::string(CheckTlsFiles(files("expired.pem", "expired.key"), now).message()),
              HasSubstr("expired"));
  EXPECT_THAT(std::string(CheckTlsFiles(files("foreign.pem", "foreign.key"), now).message()),
              HasSubstr("not issued by a CA"));
  EXPECT_THAT(std::string(CheckTlsFiles(files("missing.pem", "good.key"), now).message()),
              HasSubstr("cannot read"));
  TlsFiles revoked = files("good.pem", "good.key");
  revoked.crl = dir + "/crl.pem";
  EXPECT_THAT(std::string(CheckTlsFiles(revoked, now).message()), HasSubstr("revoked"));
  EXPECT_EQ(IdentityOfPem(good.cert_pem), "spiffe://t/viewer/a");
  EXPECT_EQ(IdentityOfPem(expired.cert_pem), "CN=b");
  EXPECT_EQ(IdentityOfPem("not a certificate"), "");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vpnfleet::security
