#include "services/dataplane/forwarder/engine.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

v1::SecurityAssociation Sa(uint32_t spi, const std::string& extra) {
  v1::SecurityAssociation sa;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(key { destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_ESP }
           direction: DIRECTION_OUTBOUND mode: IPSEC_MODE_TUNNEL
           tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
           encryption: ENCRYPTION_AES_GCM_256
           encryption_key: "0123456789abcdef0123456789abcdefSALT" reqid: 1 )pb" + extra,
      &sa));
  sa.mutable_key()->set_spi(spi);
  return sa;
}

class EngineTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  Engine engine_{&clock_, {}};

  std::vector<v1::DataplaneEvent> Drain(EventSubscription& sub) {
    std::vector<v1::DataplaneEvent> out;
    v1::DataplaneEvent e;
    while (sub.Next(&e, absl::ZeroDuration())) out.push_back(e);
    return out;
  }
};

TEST_F(EngineTest, EveryChangePublishesANewSnapshotThatWorkersPickUp) {
  std::shared_ptr<const ForwardingTables> mine;
  engine_.Refresh(&mine);
  ASSERT_NE(mine, nullptr);
  const uint64_t g0 = mine->generation;
  ASSERT_TRUE(engine_.AddSa(Sa(0x1001, "")).ok());
  auto before = mine;
  engine_.Refresh(&mine);
  EXPECT_GT(mine->generation, g0);
  EXPECT_NE(mine, before);
  auto same = mine;
  engine_.Refresh(&mine);  // nothing changed: same snapshot
  EXPECT_EQ(mine, same);
}

TEST_F(EngineTest, SoftThenHardSecondsLifetime) {
  ASSERT_TRUE(engine_.AddSa(Sa(0x1001, "soft_lifetime { seconds: 90 } hard_lifetime { seconds: 100 }")).ok());
  auto sub = engine_.Subscribe();
  clock_.Advance(absl::Seconds(89));
  engine_.Tick();
  EXPECT_TRUE(Drain(*sub).empty());
  clock_.Advance(absl::Seconds(1));
  engine_.Tick();
  auto events = Drain(*sub);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_FALSE(events[0].expire().hard());
  EXPECT_EQ(events[0].expire().reason(), v1::Expire::REASON_SECONDS);
  EXPECT_EQ(events[0].expire().reqid(), 1u);
  auto status = engine_.ListSas({});
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(status[0].state(), v1::SA_STATE_SOFT_EXPIRED);
  EXPECT_EQ(status[0].remaining_seconds(), 10u);
  engine_.Tick();  // soft is reported once
  EXPECT_TRUE(Drain(*sub).empty());
  clock_.Advance(absl::Seconds(10));
  engine_.Tick();
  events = Drain(*sub);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_TRUE(events[0].expire().hard());
  EXPECT_EQ(engine_.sa_count(), 0u);
  std::shared_ptr<const ForwardingTables> t;
  engine_.Refresh(&t);
  CompiledPolicy p;
  p.reqid = 1;
  EXPECT_EQ(t->OutboundFor(p, FlowKey{}), nullptr);
}

TEST_F(EngineTest, KilobyteLifetimeCountsWhatTheWorkersCarried) {
  ASSERT_TRUE(engine_.AddSa(Sa(0x1001, "hard_lifetime { kilobytes: 10 }")).ok());
  auto sub = engine_.Subscribe();
  auto sas = engine_.Sas();
  ASSERT_EQ(sas.size(), 1u);
  sas[0].runtime->counters.bytes += 10 * 1024 - 1;
  engine_.Tick();
  EXPECT_TRUE(Drain(*sub).empty());
  sas[0].runtime->counters.bytes += 1;
  engine_.Tick();
  auto events = Drain(*sub);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].expire().reason(), v1::Expire::REASON_KILOBYTES);
  EXPECT_TRUE(events[0].expire().hard());
}

TEST_F(EngineTest, IdleTimeDeletesAnUnusedSa) {
  ASSERT_TRUE(engine_.AddSa(Sa(0x1001, "idle_time_seconds: 60")).ok());
  auto sub = engine_.Subscribe();
  clock_.Advance(absl::Seconds(50));
  engine_.Sas()[0].runtime->last_used_ns = absl::ToUnixNanos(clock_.Now());  // used at t=50
  clock_.Advance(absl::Seconds(59));
  engine_.Tick();
  EXPECT_TRUE(Drain(*sub).empty());
  clock_.Advance(absl::Seconds(1));
  engine_.Tick();
  auto events = Drain(*sub);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].expire().reason(), v1::Expire::REASON_IDLE);
}

TEST_F(EngineTest, ExhaustedSequenceNumbersEndTheSa) {
  ASSERT_TRUE(engine_.AddSa(Sa(0x1001, "")).ok());
  auto sub = engine_.Subscribe();
  engine_.Sas()[0].runtime->next_seq = uint64_t{1} << 32;
  engine_.Tick();
  auto events = Drain(*sub);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].expire().reason(), v1::Expire::REASON_SEQUENCE_EXHAUSTED);
  EXPECT_EQ(engine_.sa_count(), 0u);
}

TEST_F(EngineTest, UpdateKeepsCountersAndRefusesNewKeys) {
  ASSERT_TRUE(engine_.AddSa(Sa(0x1001, "")).ok());
  engine_.Sas()[0].runtime->counters.pkts_encaps += 5;
  v1::SecurityAssociation update = Sa(0x1001, "hard_lifetime { seconds: 30 }");
  EXPECT_EQ(engine_.UpdateSa(update).code(), absl::StatusCode::kFailedPrecondition);
  update.clear_encryption_key();
  ASSERT_TRUE(engine_.UpdateSa(update).ok());
  auto c = engine_.Counters(nullptr);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].counters().pkts_encaps(), 5u);
}

TEST_F(EngineTest, RejectedSaLeavesNothingBehind) {
  v1::SecurityAssociation v6 = Sa(0x1001, "");
  v6.set_tunnel_source("2001:db8::1");
  v6.set_tunnel_destination("2001:db8::2");
  v6.mutable_key()->set_destination("2001:db8::2");
  EXPECT_FALSE(engine_.AddSa(v6).ok());
  EXPECT_EQ(engine_.sa_count(), 0u);
  EXPECT_TRUE(engine_.ListSas({}).empty());
}

TEST_F(EngineTest, ClosedSubscriptionEndsAndSlowOnesLoseTheOldest) {
  auto sub = engine_.Subscribe();
  for (int i = 0; i < 5000; ++i) {
    ForwarderEvent* e = engine_.event_ring(0).Claim();
    if (e == nullptr) {
      engine_.Tick();
      e = engine_.event_ring(0).Claim();
    }
    e->kind = ForwarderEvent::Kind::kUnknownSpi;
    e->spi = static_cast<uint32_t>(i);
    engine_.event_ring(0).Push();
  }
  engine_.Tick();
  EXPECT_EQ(sub->lost(), 5000u - EventSubscription::kMaxQueued);
  v1::DataplaneEvent first;
  ASSERT_TRUE(sub->Next(&first, absl::ZeroDuration()));
  EXPECT_EQ(first.unknown_spi().spi(), 5000u - EventSubscription::kMaxQueued);
  engine_.CloseSubscriptions();
  EXPECT_TRUE(sub->closed());
}

TEST(EngineOwners, TunnelDirectionsSpreadAndBundlesStayTogether) {
  FakeClock clock;
  EngineOptions options;
  options.workers = 2;
  Engine engine(&clock, options);
  auto owner_of = [&](uint32_t spi) {
    for (const auto& s : engine.Sas()) {
      if (s.key.spi() == spi) return s.runtime->owner;
    }
    ADD_FAILURE() << "no SA " << spi;
    return 99u;
  };
  // One tunnel: the outbound and the inbound SA on different workers.
  ASSERT_TRUE(engine.AddSa(Sa(0x1001, "")).ok());
  v1::SecurityAssociation in = Sa(0x2001, "");
  in.set_direction(vpnfleet::common::v1::DIRECTION_INBOUND);
  ASSERT_TRUE(engine.AddSa(in).ok());
  EXPECT_NE(owner_of(0x1001), owner_of(0x2001));
  // An AH SA of the outbound bundle (same reqid and destination) joins the
  // ESP SA's worker although the other worker has fewer SAs.
  v1::SecurityAssociation ah = Sa(0x1002, "");
  ah.mutable_key()->set_protocol(vpnfleet::common::v1::IPSEC_PROTOCOL_AH);
  ah.set_encryption(vpnfleet::common::v1::ENCRYPTION_UNSPECIFIED);
  ah.clear_encryption_key();
  ah.set_integrity(vpnfleet::common::v1::INTEGRITY_HMAC_SHA2_256_128);
  ah.set_integrity_key(std::string(32, 'k'));
  ASSERT_TRUE(engine.AddSa(ah).ok());
  EXPECT_EQ(owner_of(0x1002), owner_of(0x1001));
  // The next unrelated SA goes to the less loaded worker.
  v1::SecurityAssociation other = Sa(0x3001, "");
  other.set_reqid(9);
  ASSERT_TRUE(engine.AddSa(other).ok());
  EXPECT_EQ(owner_of(0x3001), owner_of(0x2001));
}

}  // namespace
}  // namespace vpnfleet::dataplane
