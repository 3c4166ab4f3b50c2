#include "services/ike/server/ike_service.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

class IkeServiceTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  ConfigStore store_{&clock_};
  prometheus::Registry registry_;
  SeededRng rng_{7};
  // A real engine on ephemeral ports, without a dataplane.
  std::unique_ptr<SaManager> manager_ = [this] {
    SocketOptions so;
    so.port = 0;
    so.natt_port = 0;
    auto sockets = IkeSockets::Open(so);
    EXPECT_TRUE(sockets.ok()) << sockets.status();
    auto m = std::make_unique<SaManager>(&clock_, &rng_, *std::move(sockets), nullptr, registry_);
    m->Start();
    return m;
  }();
  std::shared_ptr<security::Authorizer> authz_ = security::Authorizer::AllowAllForTests();
  IkeServiceImpl service_{&store_, manager_.get(), registry_, authz_.get()};
};

TEST_F(IkeServiceTest, EditThenGetWithoutSecrets) {
  v1::EditConfigRequest req;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      edits { put_pre_shared_key { hostname: "spoke1.example" key: "hunter2hunter2" } })pb", &req));
  v1::EditConfigResponse resp;
  ASSERT_TRUE(service_.EditConfig(nullptr, &req, &resp).ok());
  EXPECT_EQ(resp.revision().number(), 1u);
  v1::IkeConfig config;
  ASSERT_TRUE(service_.GetConfig(nullptr, nullptr, &config).ok());
  EXPECT_EQ(config.pre_shared_keys(0).key(), "");
  EXPECT_TRUE(config.pre_shared_keys(0).key_set());
}

TEST_F(IkeServiceTest, InvalidEditIsInvalidArgumentAndCounted) {
  v1::EditConfigRequest req;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(edits { put_transform_set { name: "bad name" } })pb", &req));
  v1::EditConfigResponse resp;
  grpc::Status st = service_.EditConfig(nullptr, &req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  bool counted = false;
  for (const auto& family : registry_.Collect()) {
    if (family.name != "vpnfleet_ike_config_changes_total") continue;
    for (const auto& m : family.metric) {
      if (m.label.size() == 1 && m.label[0].value == "rejected") counted = m.counter.value == 1;
    }
  }
  EXPECT_TRUE(counted);
}

TEST_F(IkeServiceTest, NegotiationRpcsAnswerFromTheEngine) {
  v1::ListIkeSasRequest list;
  v1::ListIkeSasResponse sas;
  ASSERT_TRUE(service_.ListIkeSas(nullptr, &list, &sas).ok());
  EXPECT_EQ(sas.ike_sas_size(), 0);
  v1::InitiateRequest init;
  init.set_crypto_map("NOPE");
  init.set_sequence(10);
  v1::InitiateResponse resp;
  EXPECT_EQ(service_.Initiate(nullptr, &init, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::TerminateRequest term;
  v1::TerminateResponse tr;
  EXPECT_EQ(service_.Terminate(nullptr, &term, &tr).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  term.set_all(true);
  ASSERT_TRUE(service_.Terminate(nullptr, &term, &tr).ok());
  EXPECT_EQ(tr.terminated(), 0u);
}

}  // namespace
}  // namespace vpnfleet::ike
