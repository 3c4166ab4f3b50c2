#include "services/dataplane/spd/classifier.h"

#include <random>

#include "common/net/ip.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/dataplane/spd/policy_table.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

FlowKey Flow(const std::string& src, const std::string& dst, uint8_t proto = 1,
             uint16_t sport = 0, uint16_t dport = 0) {
  FlowKey f;
  auto s = net::ParseAddress(src);
  auto d = net::ParseAddress(dst);
  EXPECT_TRUE(s.ok() && d.ok());
  f.v6 = s->family == net::Family::kV6;
  f.src = s->bytes;
  f.dst = d->bytes;
  f.protocol = proto;
  f.src_port = sport;
  f.dst_port = dport;
  return f;
}

v1::SpdPolicy P(const std::string& text) {
  v1::SpdPolicy p;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &p)) << text;
  return p;
}

// The seed's crypto ACL, with a deny line in front as IOS users write it:
//   access-list 101 deny   tcp 192.168.11.0 0.0.0.255 192.168.22.0 0.0.0.255 eq 22
//   access-list 101 permit ip  192.168.11.0 0.0.0.255 192.168.22.0 0.0.0.255
TEST(SpdSnapshot, FirstMatchWinsInCryptoAclOrder) {
  PolicyTable table;
  ASSERT_TRUE(table.Add(P(R"pb(direction: DIRECTION_OUTBOUND priority: 10 action: POLICY_ACTION_PROTECT reqid: 7
      tunnel_source: "10.1.1.1" tunnel_destination: "10.2.2.1"
      selector { source { address: "192.168.11.0" length: 24 } destination { address: "192.168.22.0" length: 24 } })pb")).ok());
  ASSERT_TRUE(table.Add(P(R"pb(direction: DIRECTION_OUTBOUND priority: 5 action: POLICY_ACTION_BYPASS
      selector { source { address: "192.168.11.0" length: 24 } destination { address: "192.168.22.0" length: 24 }
                 protocol: 6 destination_ports { start: 22 end: 22 } })pb")).ok());
  auto snap = SpdSnapshot::Build(table.List(cv1::DIRECTION_OUTBOUND), cv1::DIRECTION_OUTBOUND);
  ASSERT_TRUE(snap.ok()) << snap.status();
  ASSERT_EQ(snap->size(), 2u);

  const CompiledPolicy* ssh = snap->Match(Flow("192.168.11.5", "192.168.22.9", 6, 40000, 22));
  ASSERT_NE(ssh, nullptr);
  EXPECT_EQ(ssh->action, v1::POLICY_ACTION_BYPASS);
  const CompiledPolicy* web = snap->Match(Flow("192.168.11.5", "192.168.22.9", 6, 40000, 443));
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->action, v1::POLICY_ACTION_PROTECT);
  EXPECT_EQ(web->reqid, 7u);
  EXPECT_EQ(snap->Match(Flow("192.168.11.5", "192.168.23.1")), nullptr);  // not interesting traffic
  EXPECT_EQ(snap->Match(Flow("2001:db8::1", "2001:db8::2")), nullptr);
}

// A deny line of crypto map entry 10 passes over the rest of entry 10 only:
// entry 20 may still protect the flow, and a flow nobody protects matches
// nothing (forwarded in clear, as IOS does).
//   crypto map VPN 10: deny 10.1.9.0/24 -> 10.2.0.0/16; permit 10.1.0.0/16 -> 10.2.0.0/16
//   crypto map VPN 20: permit 10.1.9.0/24 -> 10.2.5.0/24
TEST(SpdSnapshot, SkipEntryPassesOverTheRestOfItsEntryOnly) {
  PolicyTable table;
  const uint32_t e10 = 10u << 16, e20 = 20u << 16;
  ASSERT_TRUE(table.Add(P(R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_SKIP_ENTRY
      crypto_map: "VPN" crypto_map_sequence: 10 priority: )pb" + std::to_string(e10) + R"pb(
      selector { source { address: "10.1.9.0" length: 24 } destination { address: "10.2.0.0" length: 16 } })pb")).ok());
  ASSERT_TRUE(table.Add(P(R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_PROTECT reqid: 1
      crypto_map: "VPN" crypto_map_sequence: 10 priority: )pb" + std::to_string(e10 + 1) + R"pb(
      tunnel_source: "192.0.2.1" tunnel_destination: "192.0.2.2"
      selector { source { address: "10.1.0.0" length: 16 } destination { address: "10.2.0.0" length: 16 } })pb")).ok());
  ASSERT_TRUE(table.Add(P(R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_PROTECT reqid: 2
      crypto_map: "VPN" crypto_map_sequence: 20 priority: )pb" + std::to_string(e20) + R"pb(
      tunnel_source: "192.0.2.1" tunnel_destination: "192.0.2.3"
      selector { source { address: "10.1.9.0" length: 24 } destination { address: "10.2.5.0" length: 24 } })pb")).ok());
  auto snap = SpdSnapshot::Build(table.List(cv1::DIRECTION_OUTBOUND), cv1::DIRECTION_OUTBOUND);
  ASSERT_TRUE(snap.ok()) << snap.status();

  const CompiledPolicy* a = snap->Match(Flow("10.1.1.1", "10.2.5.1"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->reqid, 1u);  // entry 10's permit
  const CompiledPolicy* b = snap->Match(Flow("10.1.9.1", "10.2.5.1"));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->reqid, 2u);  // denied by entry 10, protected by entry 20
  EXPECT_EQ(snap->Match(Flow("10.1.9.1", "10.2.6.1")), nullptr);  // denied, nobody else: clear
}

TEST(PolicyTable, SkipEntryMustNameItsEntry) {
  EXPECT_FALSE(ValidatePolicy(P(R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_SKIP_ENTRY
      selector { source { address: "10.1.0.0" length: 16 } destination { address: "10.2.0.0" length: 16 } })pb")).ok());
  EXPECT_TRUE(ValidatePolicy(P(R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_SKIP_ENTRY
      crypto_map: "VPN" crypto_map_sequence: 10
      selector { source { address: "10.1.0.0" length: 16 } destination { address: "10.2.0.0" length: 16 } })pb")).ok());
}

TEST(CompiledSelector, PrefixesPortsAndFamilies) {
  cv1::TrafficSelector sel;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      source { address: "10.0.0.0" length: 9 } destination { address: "0.0.0.0" length: 0 }
      protocol: 17 source_ports { start: 500 end: 500 } destination_ports { start: 4000 end: 4500 })pb", &sel));
  auto c = CompileSelector(sel);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->Matches(Flow("10.127.255.255", "203.0.113.1", 17, 500, 4500)));
  EXPECT_FALSE(c->Matches(Flow("10.128.0.0", "203.0.113.1", 17, 500, 4500)));  // outside /9
  EXPECT_FALSE(c->Matches(Flow("10.1.0.1", "203.0.113.1", 17, 501, 4500)));
  EXPECT_FALSE(c->Matches(Flow("10.1.0.1", "203.0.113.1", 17, 500, 4501)));
  EXPECT_FALSE(c->Matches(Flow("10.1.0.1", "203.0.113.1", 6, 500, 4500)));   // protocol
  cv1::TrafficSelector v6;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
      source { address: "2001:db8:1::" length: 48 } destination { address: "2001:db8:2::" length: 127 })pb", &v6));
  auto c6 = CompileSelector(v6);
  ASSERT_TRUE(c6.ok());
  EXPECT_TRUE(c6->Matches(Flow("2001:db8:1:ffff::1", "2001:db8:2::1")));
  EXPECT_FALSE(c6->Matches(Flow("2001:db8:1:ffff::1", "2001:db8:2::2")));
  EXPECT_FALSE(c6->Matches(Flow("10.0.0.1", "10.0.0.2")));  // a v4 packet never matches a v6 selector
}

TEST(CompiledSelector, RejectsMalformedSelectors) {
  cv1::TrafficSelector bad;
  bad.mutable_source()->set_address("10.0.0.1");
  bad.mutable_source()->set_length(8);
  bad.mutable_destination()->set_address("10.0.0.0");
  bad.mutable_destination()->set_length(8);
  EXPECT_FALSE(CompileSelector(bad).ok());
  bad.mutable_source()->set_address("2001:db8::");
  EXPECT_FALSE(CompileSelector(bad).ok());
  // Found by selector_fuzz: {start: 5, end: 0} once compiled to a selector
  // that matched nothing.
  bad.mutable_source()->set_address("10.0.0.0");
  bad.mutable_destination_ports()->set_start(5);
  EXPECT_FALSE(CompileSelector(bad).ok());
}

// The compiled matcher agrees with a direct reading of the selectors
// (net::IpPrefix::Contains and plain comparisons) on random flows.
TEST(SpdSnapshot, AgreesWithADirectEvaluationOnRandomFlows) {
  std::mt19937_64 rng(4301);
  std::vector<v1::SpdPolicy> policies;
  std::vector<std::pair<net::IpPrefix, net::IpPrefix>> prefixes;
  for (int i = 0; i < 40; ++i) {
    int sl = static_cast<int>(rng() % 33), dl = static_cast<int>(rng() % 33);
    auto mk = [&](int len) {
      uint32_t a = static_cast<uint32_t>(rng()) & 0x0A0F00FFu;  // a small space, so prefixes overlap
      a = len == 0 ? 0 : a & (0xFFFFFFFFu << (32 - len));
      return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
             std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
    };
    v1::SpdPolicy p;
    p.set_id(static_cast<uint64_t>(i + 1));
    p.set_direction(cv1::DIRECTION_OUTBOUND);
    p.set_action(i % 3 == 0 ? v1::POLICY_ACTION_BYPASS : v1::POLICY_ACTION_PROTECT);
    p.mutable_selector()->mutable_source()->set_address(mk(sl));
    p.mutable_selector()->mutable_source()->set_length(static_cast<uint32_t>(sl));
    p.mutable_selector()->mutable_destination()->set_address(mk(dl));
    p.mutable_selector()->mutable_destination()->set_length(static_cast<uint32_t>(dl));
    if (rng() % 2) {
      p.mutable_selector()->set_protocol(rng() % 2 ? 6 : 17);
      uint32_t lo = static_cast<uint32_t>(rng() % 100);
      p.mutable_selector()->mutable_destination_ports()->set_start(lo);
      p.mutable_selector()->mutable_destination_ports()->set_end(lo + static_cast<uint32_t>(rng() % 50));
    }
    prefixes.emplace_back(*net::ParsePrefix(p.selector().source()),
                          *net::ParsePrefix(p.selector().destination()));
    policies.push_back(p);
  }
  auto snap = SpdSnapshot::Build(policies, cv1::DIRECTION_OUTBOUND);
  ASSERT_TRUE(snap.ok()) << snap.status();
  int matched = 0;
  for (int n = 0; n < 20000; ++n) {
    FlowKey f;
    for (int i = 0; i < 4; ++i) {
      f.src[i] = static_cast<uint8_t>(rng() & (i == 0 ? 0x0A : i == 1 ? 0x0F : i == 2 ? 0x00 : 0xFF));
      f.dst[i] = static_cast<uint8_t>(rng() & (i == 0 ? 0x0A : i == 1 ? 0x0F : i == 2 ? 0x00 : 0xFF));
    }
    f.protocol = static_cast<uint8_t>(rng() % 3 == 0 ? 1 : (rng() % 2 ? 6 : 17));
    f.dst_port = f.protocol == 1 ? 0 : static_cast<uint16_t>(rng() % 160);
    net::IpAddress s, d;
    s.bytes = f.src;
    d.bytes = f.dst;
    const v1::SpdPolicy* want = nullptr;
    for (size_t i = 0; i < policies.size() && want == nullptr; ++i) {
      const auto& sel = policies[i].selector();
      bool proto_ok = sel.protocol() == 0 || sel.protocol() == f.protocol;
      bool ports_ok = !sel.has_destination_ports() ||
                      (f.dst_port >= sel.destination_ports().start() &&
                       f.dst_port <= sel.destination_ports().end());
      if (prefixes[i].first.Contains(s) && prefixes[i].second.Contains(d) && proto_ok && ports_ok) {
        want = &policies[i];
      }
    }
    const CompiledPolicy* got = snap->Match(f);
    ASSERT_EQ(got ? got->id : 0, want ? want->id() : 0) << "flow " << n;
    matched += got != nullptr;
  }
  // The space is small enough that both outcomes are common.
  EXPECT_GT(matched, 2000);
  EXPECT_LT(matched, 18000);
}

}  // namespace
}  // namespace vpnfleet::dataplane
