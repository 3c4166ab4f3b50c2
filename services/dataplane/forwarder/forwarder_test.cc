// Two sites, each an Engine (SAD/SPD as the API fills them) and a Forwarder,
// joined in memory: what site A sends to its outer side is what site B
// receives on its outer side.
#include "services/dataplane/forwarder/forwarder.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/dataplane/forwarder/engine.h"
#include "services/dataplane/packet/byte_order.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

constexpr uint32_t kWanA = 0xC6336401;  // 198.51.100.1
constexpr uint32_t kWanB = 0xC6336402;  // 198.51.100.2
constexpr uint32_t kHostA = 0x0A010002;  // 10.1.0.2
constexpr uint32_t kHostB = 0x0A020002;  // 10.2.0.2

template <typename T>
T Parse(const std::string& text) {
  T msg;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &msg)) << text;
  return msg;
}

std::string Sa(uint32_t spi, const char* dir, const char* src, const char* dst, const char* sel_src,
               const char* sel_dst, const std::string& extra = "") {
  return absl::StrCat(R"pb(key { spi: )pb", spi, R"pb( destination: ")pb", dst,
                      R"pb(" protocol: IPSEC_PROTOCOL_ESP }
      direction: )pb", dir, R"pb( mode: IPSEC_MODE_TUNNEL
      tunnel_source: ")pb", src, R"pb(" tunnel_destination: ")pb", dst, R"pb("
      encryption: ENCRYPTION_AES_GCM_128 encryption_key: "0123456789abcdefSALT"
      reqid: 7 copy_dscp: true
      selectors { source { address: ")pb", sel_src, R"pb(" length: 24 }
                  destination { address: ")pb", sel_dst, R"pb(" length: 24 } } )pb", extra);
}

std::string Policy(const char* dir, const char* src, const char* dst, const char* action,
                   const std::string& extra = "") {
  return absl::StrCat("direction: ", dir, " priority: 10 action: ", action,
                      " tunnel_source: \"198.51.100.1\" tunnel_destination: \"198.51.100.2\"",
                      " reqid: 7 selector { source { address: \"", src,
                      "\" length: 24 } destination { address: \"", dst, "\" length: 24 } } ",
                      extra);
}

// A site: 10.N.0.0/24 behind 198.51.100.N, protecting traffic to the other.
struct Site {
  FakeClock clock;
  Engine engine{&clock, {}};
  ForwarderCounters counters;
  Forwarder forwarder{{}, &counters};

  Site(bool a, bool with_outbound_sa = true) {
    const char* me = a ? "198.51.100.1" : "198.51.100.2";
    const char* peer = a ? "198.51.100.2" : "198.51.100.1";
    const char* lan = a ? "10.1.0.0" : "10.2.0.0";
    const char* far = a ? "10.2.0.0" : "10.1.0.0";
    if (with_outbound_sa) {
      EXPECT_TRUE(engine
                      .AddSa(Parse<v1::SecurityAssociation>(
                          Sa(a ? 0x100 : 0x200, "DIRECTION_OUTBOUND", me, peer, lan, far)))
                      .ok());
    }
    EXPECT_TRUE(engine
                    .AddSa(Parse<v1::SecurityAssociation>(
                        Sa(a ? 0x200 : 0x100, "DIRECTION_INBOUND", peer, me, far, lan)))
                    .ok());
    EXPECT_TRUE(engine.AddPolicy(Parse<v1::SpdPolicy>(
        Policy("DIRECTION_OUTBOUND", lan, far, "POLICY_ACTION_PROTECT"))).ok());
    EXPECT_TRUE(engine.AddPolicy(Parse<v1::SpdPolicy>(
        Policy("DIRECTION_INBOUND", far, lan, "POLICY_ACTION_PROTECT"))).ok());
  }
};

// Owns packet buffers and collects what the forwarder emits.
class Wire : public PacketSink {
 public:
  struct Out {
    std::vector<uint8_t> bytes;
    uint32_t src = 0, dst = 0;
    uint16_t sport = 0, dport = 0;
    uint8_t tos = 0;
    uint8_t proto = kProtoEsp;  // outer: 50, or 51 (bytes start at the IPv4 header)
  };
  std::vector<Out> outer, inner;
  std::vector<std::pair<uint32_t, bool>> handoffs;
  std::vector<ForwarderEvent> events;

  void ToOuter(Packet& p) noexcept override { outer.push_back(Capture(p)); }
  void ToInner(Packet& p) noexcept override { inner.push_back(Capture(p)); }
  void Handoff(uint32_t w, Packet&, bool from_inner) noexcept override {
    handoffs.emplace_back(w, from_inner);
  }
  void Emit(const ForwarderEvent& e) noexcept override { events.push_back(e); }

  // Fills a frame with copies of `packets`, each with 128 bytes of headroom.
  Frame& Load(const std::vector<Out>& packets) {
    storage_.assign(packets.size(), std::vector<uint8_t>(4096));
    pk_.assign(packets.size(), Packet{});
    for (size_t i = 0; i < packets.size(); ++i) {
      pk_[i].buffer = storage_[i].data();
      pk_[i].capacity = 4096;
      pk_[i].offset = 128;
      pk_[i].len = static_cast<uint32_t>(packets[i].bytes.size());
      std::copy(packets[i].bytes.begin(), packets[i].bytes.end(), pk_[i].data());
      pk_[i].outer_src = packets[i].src;
      pk_[i].outer_dst = packets[i].dst;
      pk_[i].outer_sport = packets[i].sport;
      pk_[i].outer_dport = packets[i].dport;
      pk_[i].outer_tos = packets[i].tos;
      pk_[i].outer_proto = packets[i].proto;
      frame_.packets[i] = &pk_[i];
    }
    frame_.size = packets.size();
    return frame_;
  }

 private:
  static Out Capture(const Packet& p) {
    return {{p.data(), p.data() + p.len}, p.outer_src, p.outer_dst, p.outer_sport,
            p.outer_dport, p.outer_tos, p.outer_proto};
  }
  std::vector<std::vector<uint8_t>> storage_;
  std::vector<Packet> pk_;
  Frame frame_;
};

Wire::Out Udp(uint32_t src, uint32_t dst, size_t payload, uint8_t tos = 0, bool df = false) {
  Wire::Out o;
  o.bytes.resize(kIpv4HeaderSize + 8 + payload);
  WriteIpv4Header(o.bytes.data(), src, dst, kProtoUdp, static_cast<uint16_t>(o.bytes.size()), tos,
                  64, 1, df);
  uint8_t* udp = o.bytes.data() + kIpv4HeaderSize;
  udp[0] = 0x30; udp[1] = 0x39;  // 12345
  udp[2] = 0x00; udp[3] = 0x35;  // 53
  udp[4] = static_cast<uint8_t>((8 + payload) >> 8);
  udp[5] = static_cast<uint8_t>(8 + payload);
  for (size_t i = 0; i < payload; ++i) udp[8 + i] = static_cast<uint8_t>(i);
  return o;
}

uint64_t Drops(const ForwarderCounters& c, ForwardDrop d) {
  return c.drops[static_cast<size_t>(d)].load();
}

TEST(Forwarder, SiteToSiteThroughEspAndBack) {
  Site a(true), b(false);
  auto ta = a.engine.tables();
  auto tb = b.engine.tables();
  std::vector<Wire::Out> lan;
  for (int i = 0; i < 40; ++i) lan.push_back(Udp(kHostA, kHostB, 100 + i, 0xb8 /* EF */));
  Wire from_a;
  a.forwarder.FromInner(*ta, from_a.Load(lan), 1, from_a);
  ASSERT_EQ(from_a.outer.size(), 40u);
  for (const auto& o : from_a.outer) {
    EXPECT_EQ(o.src, kWanA);
    EXPECT_EQ(o.dst, kWanB);
    EXPECT_EQ(o.dport, 0);  // raw ESP
    EXPECT_EQ(o.tos, 0xb8);  // DSCP copied
    EXPECT_EQ(o.bytes[3], 0x00);  // SPI 0x100
    EXPECT_EQ(o.bytes[2], 0x01);
  }
  // The wire: received on B's outer side.
  std::vector<Wire::Out> wan = from_a.outer;
  for (auto& o : wan) {
    o.src = kWanA;
    o.dst = kWanB;
  }
  Wire at_b;
  b.forwarder.FromOuter(*tb, at_b.Load(wan), 2, at_b);
  ASSERT_EQ(at_b.inner.size(), 40u);
  for (size_t i = 0; i < lan.size(); ++i) EXPECT_EQ(at_b.inner[i].bytes, lan[i].bytes);

  // Counters as `show crypto ipsec sa` reads them.
  v1::SaKey out_key = Parse<v1::SaKey>(
      R"pb(spi: 256 destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_ESP)pb");
  auto status = a.engine.GetSa(out_key);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->counters().pkts_encaps(), 40u);
  EXPECT_EQ(status->counters().pkts_encrypt(), 40u);
  EXPECT_GT(status->counters().bytes_out(), 40u * 128);
  auto in_counters = b.engine.Counters(&out_key);
  ASSERT_EQ(in_counters.size(), 1u);
  EXPECT_EQ(in_counters[0].counters().pkts_decaps(), 40u);
  EXPECT_EQ(in_counters[0].counters().pkts_verify(), 40u);

  // Replayed: the same packets again are refused and counted.
  Wire again;
  b.forwarder.FromOuter(*tb, again.Load(wan), 3, again);
  EXPECT_TRUE(again.inner.empty());
  EXPECT_EQ(b.engine.Counters(&out_key)[0].counters().replay_failures(), 40u);
}

// A peer may narrow one ACL line into several CHILD SAs (one reqid): each
// flow goes out on the SA whose selectors cover it, not all on the newest.
TEST(Forwarder, NarrowedSasOfOneBundleEachCarryTheirOwnFlows) {
  Site a(true, /*with_outbound_sa=*/false);
  auto narrowed = [](uint32_t spi, const char* dst) {
    return Parse<v1::SecurityAssociation>(absl::StrCat(
        R"pb(key { spi: )pb", spi, R"pb( destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_ESP }
        direction: DIRECTION_OUTBOUND mode: IPSEC_MODE_TUNNEL
        tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
        encryption: ENCRYPTION_AES_GCM_128 encryption_key: "0123456789abcdefSALT" reqid: 7
        selectors { source { address: "10.1.0.0" length: 24 }
                    destination { address: ")pb", dst, R"pb(" length: 25 } })pb"));
  };
  ASSERT_TRUE(a.engine.AddSa(narrowed(0x300, "10.2.0.0")).ok());
  ASSERT_TRUE(a.engine.AddSa(narrowed(0x301, "10.2.0.128")).ok());
  auto t = a.engine.tables();
  Wire w;
  a.forwarder.FromInner(*t, w.Load({Udp(kHostA, 0x0A020002, 100), Udp(kHostA, 0x0A0200C8, 101)}),
                        1, w);
  ASSERT_EQ(w.outer.size(), 2u);
  EXPECT_EQ(w.outer[0].bytes[3], 0x00);  // 10.2.0.2 on SPI 0x300
  EXPECT_EQ(w.outer[1].bytes[3], 0x01);  // 10.2.0.200 on SPI 0x301
}

TEST(Forwarder, NoSaRaisesOneAcquirePerIntervalAndDrops) {
  Site a(true, /*with_outbound_sa=*/false);
  auto t = a.engine.tables();
  Wire w;
  std::vector<Wire::Out> lan(5, Udp(kHostA, kHostB, 10));
  a.forwarder.FromInner(*t, w.Load(lan), 1'000, w);
  a.forwarder.FromInner(*t, w.Load(lan), 2'000, w);
  EXPECT_TRUE(w.outer.empty());
  ASSERT_EQ(w.events.size(), 1u);  // rate-limited
  EXPECT_EQ(w.events[0].kind, ForwarderEvent::Kind::kAcquire);
  EXPECT_EQ(w.events[0].reqid, 7u);
  EXPECT_EQ(w.events[0].flow.dst_port, 53);
  EXPECT_EQ(Drops(a.counters, ForwardDrop::kNoSa), 10u);
  a.forwarder.FromInner(*t, w.Load(lan), 2'000'000'000, w);  // a second later
  EXPECT_EQ(w.events.size(), 2u);

  // The engine turns it into the API's event, with the flow as selectors.
  auto sub = a.engine.Subscribe();
  ForwarderEvent* slot = a.engine.event_ring(0).Claim();
  ASSERT_NE(slot, nullptr);
  *slot = w.events[0];
  a.engine.event_ring(0).Push();
  a.engine.Tick();
  v1::DataplaneEvent e;
  ASSERT_TRUE(sub->Next(&e, absl::Seconds(1)));
  ASSERT_TRUE(e.has_acquire());
  EXPECT_EQ(e.acquire().flow().source().address(), "10.1.0.2");
  EXPECT_EQ(e.acquire().flow().destination_ports().start(), 53u);
}

TEST(Forwarder, CleartextMatchingInboundProtectIsDropped) {
  Site a(true);
  auto t = a.engine.tables();
  Wire w;
  // 10.2.0.2 -> 10.1.0.2 arriving in clear: the seed's "dropped because it
  // was not sent as an IPsec-protected packet".
  std::vector<Wire::Out> clear = {Udp(kHostB, kHostA, 10)};
  a.forwarder.FromInner(*t, w.Load(clear), 1, w);
  EXPECT_TRUE(w.inner.empty());
  EXPECT_TRUE(w.outer.empty());
  EXPECT_EQ(Drops(a.counters, ForwardDrop::kClearOnProtected), 1u);
  // Traffic no policy covers passes in clear (IOS forwards what no crypto
  // ACL matches).
  std::vector<Wire::Out> other = {Udp(0x0A090001, kHostA, 10)};
  a.forwarder.FromInner(*t, w.Load(other), 1, w);
  EXPECT_EQ(w.inner.size(), 1u);
}

TEST(Forwarder, UnknownSpiWrongDestinationAndIkeOnTheEncapPort) {
  Site b(false);
  auto t = b.engine.tables();
  Wire w;
  Wire::Out esp;
  esp.bytes = {0, 0, 0x0f, 0xff, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
               16, 17, 18, 19, 20, 21, 22, 23, 24};
  esp.src = kWanA;
  esp.dst = kWanB;
  Wire::Out ike = esp;
  ike.bytes[2] = ike.bytes[3] = 0;  // non-ESP marker
  Wire::Out wrong_dst = esp;
  wrong_dst.bytes[2] = 0x01;
  wrong_dst.bytes[3] = 0x00;  // a real SPI of B ...
  wrong_dst.dst = 0xC6336409;  // ... but not for this address
  b.forwarder.FromOuter(*t, w.Load({esp, ike, wrong_dst}), 5, w);
  EXPECT_TRUE(w.inner.empty());
  EXPECT_EQ(Drops(b.counters, ForwardDrop::kUnknownSpi), 2u);
  EXPECT_EQ(Drops(b.counters, ForwardDrop::kNotEsp), 1u);
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].kind, ForwarderEvent::Kind::kUnknownSpi);
  EXPECT_EQ(w.events[0].spi, 0xfffu);
  EXPECT_EQ(w.events[0].src, kWanA);
}

TEST(Forwarder, DecapsulatedPacketOutsideTheSaSelectorsIsDropped) {
  Site a(true), b(false);
  // A's SA is set to carry anything (its policy allows 10.9.0.0/24 too);
  // B's inbound SA only accepts 10.1.0.0/24 -> 10.2.0.0/24.
  ASSERT_TRUE(a.engine.AddPolicy(Parse<v1::SpdPolicy>(
      Policy("DIRECTION_OUTBOUND", "10.9.0.0", "10.2.0.0", "POLICY_ACTION_PROTECT"))).ok());
  Wire from_a;
  a.forwarder.FromInner(*a.engine.tables(), from_a.Load({Udp(0x0A090001, kHostB, 20)}), 1, from_a);
  ASSERT_EQ(from_a.outer.size(), 1u);
  std::vector<Wire::Out> wan = from_a.outer;
  wan[0].src = kWanA;
  Wire at_b;
  b.forwarder.FromOuter(*b.engine.tables(), at_b.Load(wan), 2, at_b);
  EXPECT_TRUE(at_b.inner.empty());
  EXPECT_EQ(Drops(b.counters, ForwardDrop::kSelectorMismatch), 1u);
}

TEST(Forwarder, DontFragmentTooBigGetsIcmpFragNeededWithTheTunnelMtu) {
  Site a(true);
  Wire w;
  // 1500-byte inner with DF: 1500 + 20 + 8 + 8 + 2..5 + 16 > 1500.
  a.forwarder.FromInner(*a.engine.tables(), w.Load({Udp(kHostA, kHostB, 1472, 0, true)}), 1, w);
  EXPECT_TRUE(w.outer.empty());
  ASSERT_EQ(w.inner.size(), 1u);
  const auto& icmp = w.inner[0].bytes;
  Ipv4Info info;
  FlowKey flow;
  ASSERT_EQ(ParseIpv4(icmp.data(), icmp.size(), &info, &flow), Ipv4Error::kOk);
  EXPECT_EQ(info.protocol, kProtoIcmp);
  EXPECT_EQ(info.dst, kHostA);
  EXPECT_EQ(icmp[20], 3);
  EXPECT_EQ(icmp[21], 4);
  const uint16_t mtu = static_cast<uint16_t>(icmp[26] << 8 | icmp[27]);
  // 1500 - (20 + 8 + 8 + 16) leaves 1448 for payload + padding + 2, a
  // multiple of GCM's 4-byte alignment: 1446 fits exactly.
  EXPECT_EQ(mtu, 1446);
  EXPECT_EQ(InternetChecksum(icmp.data() + 20, icmp.size() - 20), 0);
  // That size fits.
  Wire fits;
  a.forwarder.FromInner(*a.engine.tables(), fits.Load({Udp(kHostA, kHostB, mtu - 28, 0, true)}),
                        1, fits);
  ASSERT_EQ(fits.outer.size(), 1u);
  EXPECT_EQ(fits.outer[0].bytes.size() + 20, 1500u);
  Wire one_more;
  a.forwarder.FromInner(*a.engine.tables(),
                        one_more.Load({Udp(kHostA, kHostB, mtu - 27, 0, true)}), 1, one_more);
  EXPECT_TRUE(one_more.outer.empty());
  // Without DF the packet goes out; the kernel fragments the outer packet.
  Wire no_df;
  a.forwarder.FromInner(*a.engine.tables(), no_df.Load({Udp(kHostA, kHostB, 1472)}), 1, no_df);
  EXPECT_EQ(no_df.outer.size(), 1u);
}

TEST(Forwarder, PacketsForAnotherWorkersSaAreHandedOff) {
  FakeClock clock;
  EngineOptions options;
  options.workers = 4;
  Engine engine(&clock, options);
  ASSERT_TRUE(engine.AddSa(Parse<v1::SecurityAssociation>(
      Sa(0x100, "DIRECTION_OUTBOUND", "198.51.100.1", "198.51.100.2", "10.1.0.0", "10.2.0.0"))).ok());
  ASSERT_TRUE(engine.AddPolicy(Parse<v1::SpdPolicy>(
      Policy("DIRECTION_OUTBOUND", "10.1.0.0", "10.2.0.0", "POLICY_ACTION_PROTECT"))).ok());
  auto t = engine.tables();
  const uint32_t owner = engine.Sas().at(0).runtime->owner;
  const uint32_t other = (owner + 1) % 4;
  ForwarderCounters c;
  ForwarderOptions fo;
  fo.worker = other;
  Forwarder not_owner(fo, &c);
  Wire w;
  not_owner.FromInner(*t, w.Load({Udp(kHostA, kHostB, 10)}), 1, w);
  ASSERT_EQ(w.handoffs.size(), 1u);
  EXPECT_EQ(w.handoffs[0].first, owner);
  EXPECT_TRUE(w.outer.empty());
  fo.worker = owner;
  Forwarder the_owner(fo, &c);
  the_owner.FromInner(*t, w.Load({Udp(kHostA, kHostB, 10)}), 1, w);
  EXPECT_EQ(w.outer.size(), 1u);
}

TEST(Forwarder, TransportModeRoundTrip) {
  FakeClock clock;
  Engine a(&clock, {}), b(&clock, {});
  const std::string sa = R"pb(key { spi: 4097 destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_ESP }
      mode: IPSEC_MODE_TRANSPORT encryption: ENCRYPTION_AES_CBC_128
      encryption_key: "0123456789abcdef" integrity: INTEGRITY_HMAC_SHA2_256_128
      integrity_key: "0123456789abcdef0123456789abcdef" reqid: 3 )pb";
  ASSERT_TRUE(a.AddSa(Parse<v1::SecurityAssociation>(sa + "direction: DIRECTION_OUTBOUND")).ok());
  ASSERT_TRUE(b.AddSa(Parse<v1::SecurityAssociation>(sa + "direction: DIRECTION_INBOUND")).ok());
  ASSERT_TRUE(a.AddPolicy(Parse<v1::SpdPolicy>(
      R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_PROTECT reqid: 3
           mode: IPSEC_MODE_TRANSPORT
           selector { source { address: "198.51.100.1" length: 32 }
                      destination { address: "198.51.100.2" length: 32 } protocol: 17 })pb")).ok());
  ForwarderCounters ca, cb;
  Forwarder fa({}, &ca), fb({}, &cb);
  Wire w;
  Wire::Out pkt = Udp(kWanA, kWanB, 33);
  fa.FromInner(*a.tables(), w.Load({pkt}), 1, w);
  ASSERT_EQ(w.outer.size(), 1u);
  EXPECT_EQ(w.outer[0].src, kWanA);
  EXPECT_EQ(w.outer[0].dst, kWanB);
  Wire r;
  fb.FromOuter(*b.tables(), r.Load(w.outer), 2, r);
  ASSERT_EQ(r.inner.size(), 1u);
  // Same addresses, protocol and payload; the header is rebuilt.
  EXPECT_EQ(std::vector<uint8_t>(r.inner[0].bytes.begin() + 20, r.inner[0].bytes.end()),
            std::vector<uint8_t>(pkt.bytes.begin() + 20, pkt.bytes.end()));
  EXPECT_EQ(r.inner[0].bytes[9], kProtoUdp);
  EXPECT_EQ(InternetChecksum(r.inner[0].bytes.data(), 20), 0);
}

// AH SAs and ESP+AH bundles between two engines A -> B (tunnel mode).
struct AhPair {
  FakeClock clock;
  Engine a{&clock, {}}, b{&clock, {}};
  ForwarderCounters ca, cb;
  Forwarder fa{{}, &ca}, fb{{}, &cb};

  static std::string AhSa(uint32_t spi, const char* dir, const std::string& extra = "") {
    return absl::StrCat(R"pb(key { spi: )pb", spi, R"pb( destination: "198.51.100.2"
                                 protocol: IPSEC_PROTOCOL_AH }
        direction: )pb", dir, R"pb( mode: IPSEC_MODE_TUNNEL
        tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
        integrity: INTEGRITY_HMAC_SHA2_256_128
        integrity_key: "0123456789abcdef0123456789abcdef" reqid: 7 copy_dscp: true
        selectors { source { address: "10.1.0.0" length: 24 }
                    destination { address: "10.2.0.0" length: 24 } } )pb", extra);
  }

  // `esp`: also an ESP SA of the same bundle on each side.
  explicit AhPair(bool esp, const std::string& extra = "") {
    EXPECT_TRUE(a.AddSa(Parse<v1::SecurityAssociation>(AhSa(0x300, "DIRECTION_OUTBOUND", extra))).ok());
    EXPECT_TRUE(b.AddSa(Parse<v1::SecurityAssociation>(AhSa(0x300, "DIRECTION_INBOUND", extra))).ok());
    if (esp) {
      EXPECT_TRUE(a.AddSa(Parse<v1::SecurityAssociation>(Sa(
          0x100, "DIRECTION_OUTBOUND", "198.51.100.1", "198.51.100.2", "10.1.0.0", "10.2.0.0"))).ok());
      EXPECT_TRUE(b.AddSa(Parse<v1::SecurityAssociation>(Sa(
          0x100, "DIRECTION_INBOUND", "198.51.100.1", "198.51.100.2", "10.1.0.0", "10.2.0.0"))).ok());
    }
    EXPECT_TRUE(a.AddPolicy(Parse<v1::SpdPolicy>(
        Policy("DIRECTION_OUTBOUND", "10.1.0.0", "10.2.0.0", "POLICY_ACTION_PROTECT"))).ok());
  }

  std::vector<Wire::Out> Send(const std::vector<Wire::Out>& lan) {
    Wire w;
    fa.FromInner(*a.tables(), w.Load(lan), 1, w);
    return w.outer;
  }
  std::vector<Wire::Out> Receive(const std::vector<Wire::Out>& wan) {
    Wire w;
    fb.FromOuter(*b.tables(), w.Load(wan), 2, w);
    return w.inner;
  }
};

TEST(ForwarderAh, TunnelModeAuthenticatesWithoutEncrypting) {
  AhPair p(/*esp=*/false);
  const Wire::Out lan = Udp(kHostA, kHostB, 64, 0xb8);
  auto wan = p.Send({lan});
  ASSERT_EQ(wan.size(), 1u);
  const std::vector<uint8_t>& out = wan[0].bytes;
  EXPECT_EQ(wan[0].proto, kProtoAh);
  // A whole IPv4 packet: 20 + AH (12 + 16) + the inner packet, in clear.
  ASSERT_EQ(out.size(), 20 + 28 + lan.bytes.size());
  EXPECT_EQ(out[9], kProtoAh);
  EXPECT_EQ(LoadBe32(out.data() + 12), kWanA);
  EXPECT_EQ(LoadBe32(out.data() + 16), kWanB);
  EXPECT_EQ(out[1], 0xb8);  // DSCP copied
  EXPECT_NE(LoadBe16(out.data() + 4), 0);  // we chose the Identification
  EXPECT_EQ(InternetChecksum(out.data(), 20), 0);
  EXPECT_EQ(out[20], kProtoIpInIp);  // next header
  EXPECT_EQ(out[21], 28 / 4 - 2);    // payload length
  EXPECT_EQ(LoadBe32(out.data() + 24), 0x300u);
  EXPECT_EQ(LoadBe32(out.data() + 28), 1u);
  EXPECT_EQ(std::vector<uint8_t>(out.begin() + 48, out.end()), lan.bytes);

  // Routers change TOS, TTL, flags and the checksum: still verifies.
  auto routed = wan;
  routed[0].bytes[1] = 0x00;
  routed[0].bytes[8] = 3;
  routed[0].bytes[6] = 0x40;
  routed[0].bytes[10] ^= 0xff;
  auto inner = p.Receive(routed);
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_EQ(inner[0].bytes, lan.bytes);

  // The same packet again: replay. Changed payload, Identification,
  // addresses or ICV: integrity.
  EXPECT_TRUE(p.Receive(wan).empty());
  auto wan2 = p.Send({lan, lan, lan, lan});
  ASSERT_EQ(wan2.size(), 4u);
  wan2[0].bytes.back() ^= 1;
  wan2[1].bytes[5] ^= 1;
  wan2[2].bytes[15] ^= 1;
  wan2[3].bytes[40] ^= 1;
  EXPECT_TRUE(p.Receive(wan2).empty());
  v1::SaKey key = Parse<v1::SaKey>(
      R"pb(spi: 768 destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_AH)pb");
  auto c = p.b.Counters(&key);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].counters().pkts_verify(), 1u);
  EXPECT_EQ(c[0].counters().replay_failures(), 1u);
  EXPECT_EQ(c[0].counters().integrity_failures(), 4u);
  EXPECT_EQ(c[0].counters().pkts_decrypt(), 0u);
}

TEST(ForwarderAh, EspAhBundleIsEspInsideAh) {
  AhPair p(/*esp=*/true);
  const Wire::Out lan = Udp(kHostA, kHostB, 100);
  auto wan = p.Send({lan, lan});
  ASSERT_EQ(wan.size(), 2u);
  const std::vector<uint8_t>& out = wan[0].bytes;
  EXPECT_EQ(out[9], kProtoAh);
  EXPECT_EQ(out[20], kProtoEsp);                 // AH's next header: ESP
  EXPECT_EQ(LoadBe32(out.data() + 48), 0x100u);  // then the ESP SPI
  // Both SAs of the bundle run on one worker.
  for (const auto& s : p.a.Sas()) EXPECT_EQ(s.runtime->owner, p.a.Sas()[0].runtime->owner);

  auto inner = p.Receive({wan[0]});
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_EQ(inner[0].bytes, lan.bytes);

  // The ESP packet without its AH is refused: the bundle requires both.
  Wire::Out esp_only = wan[1];
  esp_only.bytes.erase(esp_only.bytes.begin(), esp_only.bytes.begin() + 48);
  esp_only.proto = kProtoEsp;
  esp_only.src = kWanA;
  esp_only.dst = kWanB;
  EXPECT_TRUE(p.Receive({esp_only}).empty());
  EXPECT_EQ(Drops(p.cb, ForwardDrop::kBundleMismatch), 1u);
  // With it, the second packet still goes through (nothing was consumed).
  inner = p.Receive({wan[1]});
  ASSERT_EQ(inner.size(), 1u);
}

TEST(ForwarderAh, TransportModeAhRestoresTheHeader) {
  FakeClock clock;
  Engine a(&clock, {}), b(&clock, {});
  const std::string sa = R"pb(key { spi: 4099 destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_AH }
      mode: IPSEC_MODE_TRANSPORT integrity: INTEGRITY_HMAC_SHA1_96
      integrity_key: "0123456789abcdef0123" reqid: 4 extended_sequence_numbers: true )pb";
  ASSERT_TRUE(a.AddSa(Parse<v1::SecurityAssociation>(sa + "direction: DIRECTION_OUTBOUND")).ok());
  ASSERT_TRUE(b.AddSa(Parse<v1::SecurityAssociation>(sa + "direction: DIRECTION_INBOUND")).ok());
  ASSERT_TRUE(a.AddPolicy(Parse<v1::SpdPolicy>(
      R"pb(direction: DIRECTION_OUTBOUND action: POLICY_ACTION_PROTECT reqid: 4
           mode: IPSEC_MODE_TRANSPORT
           selector { source { address: "198.51.100.1" length: 32 }
                      destination { address: "198.51.100.2" length: 32 } })pb")).ok());
  ForwarderCounters ca, cb;
  Forwarder fa({}, &ca), fb({}, &cb);
  Wire w;
  Wire::Out pkt = Udp(kWanA, kWanB, 21);
  fa.FromInner(*a.tables(), w.Load({pkt}), 1, w);
  ASSERT_EQ(w.outer.size(), 1u);
  EXPECT_EQ(w.outer[0].bytes.size(), pkt.bytes.size() + 24);  // AH with a 12-byte ICV
  EXPECT_EQ(w.outer[0].bytes[20], kProtoUdp);
  Wire r;
  fb.FromOuter(*b.tables(), r.Load(w.outer), 2, r);
  ASSERT_EQ(r.inner.size(), 1u);
  EXPECT_EQ(std::vector<uint8_t>(r.inner[0].bytes.begin() + 20, r.inner[0].bytes.end()),
            std::vector<uint8_t>(pkt.bytes.begin() + 20, pkt.bytes.end()));
  EXPECT_EQ(r.inner[0].bytes[9], kProtoUdp);
}

TEST(ForwarderAh, UnknownAhSpiRaisesAnEventWithTheProtocol) {
  AhPair p(/*esp=*/false);
  auto wan = p.Send({Udp(kHostA, kHostB, 10)});
  ASSERT_EQ(wan.size(), 1u);
  StoreBe32(wan[0].bytes.data() + 24, 0x999);
  Wire w;
  p.fb.FromOuter(*p.b.tables(), w.Load(wan), 2, w);
  ASSERT_EQ(w.events.size(), 1u);
  EXPECT_EQ(w.events[0].kind, ForwarderEvent::Kind::kUnknownSpi);
  EXPECT_EQ(w.events[0].spi, 0x999u);
  EXPECT_EQ(w.events[0].protocol, kProtoAh);
  EXPECT_EQ(w.events[0].src, kWanA);
}

}  // namespace
}  // namespace vpnfleet::dataplane
