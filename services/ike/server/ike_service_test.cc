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
  IkeServiceImpl service_{&store_, registry_};
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

TEST_F(IkeServiceTest, NegotiationRpcsAreUnimplementedNotEmpty) {
  v1::ListIkeSasResponse sas;
  EXPECT_EQ(service_.ListIkeSas(nullptr, nullptr, &sas).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  v1::ListChildSasResponse children;
  EXPECT_EQ(service_.ListChildSas(nullptr, nullptr, &children).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  v1::InitiateResponse init;
  EXPECT_EQ(service_.Initiate(nullptr, nullptr, &init).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace vpnfleet::ike
