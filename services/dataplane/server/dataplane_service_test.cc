#include "services/dataplane/server/dataplane_service.h"

#include "services/dataplane/server/forwarder_metrics.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

class DataplaneServiceTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  Engine engine_{&clock_, {}};
  prometheus::Registry registry_;
  std::shared_ptr<security::Authorizer> authz_ = security::Authorizer::AllowAllForTests();
  DataplaneServiceImpl service_{&engine_,
                                [] {
                                  v1::Interface tun;
                                  tun.set_name("vf0");
                                  tun.set_kind(v1::INTERFACE_KIND_TUN);
                                  return std::vector<v1::Interface>{tun};
                                },
                                registry_, authz_.get()};

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
  v1::AddSaRequest again = add;
  ASSERT_TRUE(service_.AddSa(nullptr, &add, &added).ok());
  // The request's keys are wiped once the SAD holds its own copy.
  EXPECT_TRUE(add.sa().encryption_key().empty());
  EXPECT_EQ(service_.AddSa(nullptr, &again, &added).error_code(), grpc::StatusCode::ALREADY_EXISTS);
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

TEST_F(DataplaneServiceTest, BadSaIsInvalidArgumentCountersAndInterfaces) {
  v1::AddSaRequest add;
  add.mutable_sa()->mutable_key()->set_spi(1);
  v1::AddSaResponse added;
  EXPECT_EQ(service_.AddSa(nullptr, &add, &added).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListInterfacesResponse ifs;
  ASSERT_TRUE(service_.ListInterfaces(nullptr, nullptr, &ifs).ok());
  ASSERT_EQ(ifs.interfaces_size(), 1);
  EXPECT_EQ(ifs.interfaces(0).name(), "vf0");

  v1::GetSaCountersRequest one;
  one.mutable_key()->set_spi(4101);
  one.mutable_key()->set_destination("198.51.100.1");
  one.mutable_key()->set_protocol(vpnfleet::common::v1::IPSEC_PROTOCOL_ESP);
  v1::GetSaCountersResponse counters;
  EXPECT_EQ(service_.GetSaCounters(nullptr, &one, &counters).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(sa {
      key { spi: 4101 destination: "198.51.100.1" protocol: IPSEC_PROTOCOL_ESP }
      direction: DIRECTION_INBOUND mode: IPSEC_MODE_TUNNEL
      tunnel_source: "198.51.100.2" tunnel_destination: "198.51.100.1"
      encryption: ENCRYPTION_AES_GCM_128 encryption_key: "0123456789abcdefSALT" })pb", &add));
  ASSERT_TRUE(service_.AddSa(nullptr, &add, &added).ok());
  engine_.Sas()[0].runtime->counters.pkts_decaps += 3;
  ASSERT_TRUE(service_.GetSaCounters(nullptr, &one, &counters).ok());
  ASSERT_EQ(counters.entries_size(), 1);
  EXPECT_EQ(counters.entries(0).counters().pkts_decaps(), 3u);
}

TEST_F(DataplaneServiceTest, ForwarderMetricsAreComputedAtScrape) {
  ForwarderMetrics metrics(&engine_);
  engine_.counters(0).drops[static_cast<size_t>(ForwardDrop::kClearOnProtected)] += 2;
  bool found = false;
  for (const auto& f : metrics.Collect()) {
    if (f.name != "vpnfleet_dataplane_drops_total") continue;
    for (const auto& m : f.metric) {
      if (m.label.at(0).value == "clear_on_protected") {
        EXPECT_EQ(m.counter.value, 2);
        found = true;
      }
    }
  }
  EXPECT_TRUE(found);
}

// One inbound SA of crypto map `map` with SPI `spi`.
v1::SecurityAssociation InboundSa(uint32_t spi, const std::string& map) {
  v1::SecurityAssociation sa;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      key { destination: "198.51.100.1" protocol: IPSEC_PROTOCOL_ESP }
      direction: DIRECTION_INBOUND mode: IPSEC_MODE_TRANSPORT
      encryption: ENCRYPTION_CHACHA20_POLY1305
      encryption_key: "0123456789abcdef0123456789abcdefSALT")pb", &sa));
  sa.mutable_key()->set_spi(spi);
  sa.set_crypto_map(map);
  return sa;
}

const prometheus::MetricFamily* Family(const std::vector<prometheus::MetricFamily>& fs, const std::string& name) {
  for (const auto& f : fs) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double MapPackets(const std::vector<prometheus::MetricFamily>& fs, const std::string& map) {
  const auto* f = Family(fs, "vpnfleet_dataplane_crypto_map_packets_total");
  if (f == nullptr) return -1;
  for (const auto& m : f->metric) {
    if (m.label.at(0).value == map && m.label.at(1).value == "in") return m.counter.value;
  }
  return -1;
}

TEST_F(DataplaneServiceTest, TrafficIsCountedByCryptoMapAndSurvivesTheSa) {
  ForwarderMetrics metrics(&engine_);
  ASSERT_TRUE(engine_.AddSa(InboundSa(0x1000, "FLEET")).ok());
  ASSERT_TRUE(engine_.AddSa(InboundSa(0x1001, "FLEET")).ok());
  auto fs = metrics.Collect();
  EXPECT_EQ(MapPackets(fs, "FLEET"), 0);  // there from the start, at zero
  EXPECT_EQ(Family(fs, "vpnfleet_dataplane_sa_packets_total"), nullptr);  // opt-in
  for (const SaSnapshot& sa : engine_.Sas()) sa.runtime->counters.pkts_decaps += 5;
  EXPECT_EQ(MapPackets(metrics.Collect(), "FLEET"), 10);
  // A rekey deletes the old SA: the counter does not go back.
  v1::SaKey old = InboundSa(0x1000, "FLEET").key();
  ASSERT_TRUE(engine_.DeleteSa(old).ok());
  EXPECT_EQ(MapPackets(metrics.Collect(), "FLEET"), 10);
}

TEST_F(DataplaneServiceTest, SeriesStayBoundedWithManySasAndMaps) {
  for (uint32_t i = 0; i < Engine::kMaxCryptoMapLabels + 20; ++i) {
    ASSERT_TRUE(engine_.AddSa(InboundSa(0x2000 + i, "MAP" + std::to_string(i))).ok());
  }
  ForwarderMetrics aggregated(&engine_);
  auto fs = aggregated.Collect();
  // One label per map up to the cap, then one for the rest; two directions each.
  EXPECT_EQ(Family(fs, "vpnfleet_dataplane_crypto_map_packets_total")->metric.size(),
            2 * (Engine::kMaxCryptoMapLabels + 1));
  EXPECT_EQ(MapPackets(fs, Engine::kOtherCryptoMaps), 0);

  ForwarderMetrics per_sa(&engine_, /*per_sa_series_limit=*/10);
  fs = per_sa.Collect();
  ASSERT_NE(Family(fs, "vpnfleet_dataplane_sa_packets_total"), nullptr);
  EXPECT_EQ(Family(fs, "vpnfleet_dataplane_sa_packets_total")->metric.size(), 10u);
  EXPECT_EQ(Family(fs, "vpnfleet_dataplane_sa_series_omitted")->metric.at(0).gauge.value,
            Engine::kMaxCryptoMapLabels + 20 - 10);
}

}  // namespace
}  // namespace vpnfleet::dataplane
