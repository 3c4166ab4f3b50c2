#include "services/dataplane/server/dataplane_service.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

class DataplaneServiceTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  SaTable sad_{&clock_, {}};
  PolicyTable spd_;
  prometheus::Registry registry_;
  DataplaneServiceImpl service_{&sad_, &spd_, registry_};

  double Gauge(const std::string& name) {
    for (const auto& f : registry_.Collect()) {
      if (f.name == name) return f.metric.at(0).gauge.value;
    }
    return -1;
  }
};

TEST_F(DataplaneServiceTest, AddListDeleteAndGauges) {
  v1::AddSaRequest add;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(sa {
      key { spi: 4096 destination: "198.51.100.1" protocol: IPSEC_PROTOCOL_ESP }
      direction: DIRECTION_INBOUND mode: IPSEC_MODE_TRANSPORT
      encryption: ENCRYPTION_CHACHA20_POLY1305
      encryption_key: "0123456789abcdef0123456789abcdefSALT" })pb", &add));
  v1::AddSaResponse added;
  ASSERT_TRUE(service_.AddSa(nullptr, &add, &added).ok());
  EXPECT_EQ(service_.AddSa(nullptr, &add, &added).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Gauge("vpnfleet_dataplane_sas"), 1);

  v1::ListSasRequest list_req;
  v1::ListSasResponse list;
  ASSERT_TRUE(service_.ListSas(nullptr, &list_req, &list).ok());
  ASSERT_EQ(list.sas_size(), 1);
  EXPECT_TRUE(list.sas(0).sa().encryption_key().empty());

  v1::DeleteSaRequest del;
  *del.mutable_key() = add.sa().key();
  v1::DeleteSaResponse deleted;
  ASSERT_TRUE(service_.DeleteSa(nullptr, &del, &deleted).ok());
  EXPECT_EQ(service_.DeleteSa(nullptr, &del, &deleted).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Gauge("vpnfleet_dataplane_sas"), 0);
}

TEST_F(DataplaneServiceTest, BadSaIsInvalidArgumentAndForwardingRpcsAreUnimplemented) {
  v1::AddSaRequest add;
  add.mutable_sa()->mutable_key()->set_spi(1);
  v1::AddSaResponse added;
  EXPECT_EQ(service_.AddSa(nullptr, &add, &added).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListInterfacesResponse ifs;
  EXPECT_EQ(service_.ListInterfaces(nullptr, nullptr, &ifs).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  v1::GetSaCountersResponse counters;
  EXPECT_EQ(service_.GetSaCounters(nullptr, nullptr, &counters).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace vpnfleet::dataplane
