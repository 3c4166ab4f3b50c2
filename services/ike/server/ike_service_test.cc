#include "services/ike/server/ike_service.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/ike/dataplane/fake_dataplane_client.h"

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

// The daemon's wiring (server/main.cc): the store's listener applies each
// configuration to the engine, whose dataplane may refuse it.
class IkeServiceWithDataplaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SocketOptions so;
    so.port = 0;
    so.natt_port = 0;
    auto sockets = IkeSockets::Open(so);
    ASSERT_TRUE(sockets.ok()) << sockets.status();
    manager_ = std::make_unique<SaManager>(&clock_, &rng_, *std::move(sockets), fake_, registry_);
    manager_->Start();
    ASSERT_TRUE(store_
                    .SetListener([this](const v1::IkeConfig& c) {
                      return manager_->ApplyConfigAndWait(c);
                    })
                    .ok());
  }
  void TearDown() override { manager_->Stop(); }

  grpc::Status Replace(const char* peer) {
    v1::ReplaceConfigRequest req;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
        config {
          isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_GCM_256 hash: PRF_HMAC_SHA2_256
                            group: DH_GROUP_CURVE25519 authentication: AUTH_METHOD_PRE_SHARE }
          transform_sets { name: "GCM" esp_encryption: ENCRYPTION_AES_GCM_128 }
          access_lists { name: "A" entries { sequence: 10 action: ACL_ACTION_PERMIT
              match { source { address: "10.1.0.0" length: 24 }
                      destination { address: "10.2.0.0" length: 24 } } } }
          crypto_maps { name: "VPN" interfaces: "wan0"
              entries { sequence: 10 match_address: "A" transform_sets: "GCM" } }
        })pb", &req));
    auto* entry = req.mutable_config()->mutable_crypto_maps(0)->mutable_entries(0);
    entry->add_peers(peer);
    auto* key = req.mutable_config()->add_pre_shared_keys();
    key->mutable_address()->set_address(peer);
    key->mutable_address()->set_length(32);
    key->set_key("replace-config-test");
    v1::EditConfigResponse resp;
    return service_.ReplaceConfig(nullptr, &req, &resp);
  }

  FakeClock clock_;
  ConfigStore store_{&clock_};
  prometheus::Registry registry_;
  SeededRng rng_{9};
  std::shared_ptr<FakeDataplaneClient> fake_ = std::make_shared<FakeDataplaneClient>();
  std::unique_ptr<SaManager> manager_;
  std::shared_ptr<security::Authorizer> authz_ = security::Authorizer::AllowAllForTests();
  IkeServiceImpl service_{&store_, nullptr, registry_, authz_.get()};
};

TEST_F(IkeServiceWithDataplaneTest, ReplaceConfigReportsTheDataplanesRefusal) {
  ASSERT_TRUE(Replace("127.0.0.7").ok());
  ASSERT_EQ(fake_->policies().size(), 2u);
  fake_->RefusePolicies("no room in the SPD");
  grpc::Status st = Replace("127.0.0.8");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << st.error_message();
  EXPECT_NE(st.error_message().find("no room in the SPD"), std::string::npos) << st.error_message();
  // The revision in force stays, and so do its policies once re-applied.
  v1::IkeConfig config;
  ASSERT_TRUE(service_.GetConfig(nullptr, nullptr, &config).ok());
  EXPECT_EQ(config.crypto_maps(0).entries(0).peers(0), "127.0.0.7");
  fake_->RefusePolicies("");
  ASSERT_TRUE(Replace("127.0.0.7").ok());
  auto policies = fake_->policies();
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_EQ(policies[0].peer(), "127.0.0.7");
}

}  // namespace
}  // namespace vpnfleet::ike
