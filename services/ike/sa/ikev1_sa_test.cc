// Two Ikev1Sas against each other in memory: Main Mode, Aggressive Mode and
// Quick Mode in both roles, with a fake clock and a network that can drop,
// repeat and tamper.
#include "services/ike/sa/ikev1_sa.h"

#include <deque>

#include "common/testing/testdata.h"
#include "gtest/gtest.h"
#include "services/ike/codec/isakmp_message.h"
#include "services/ike/sa/test_selectors.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace iv1 = vpnfleet::ike::v1;

Endpoint Ep(const char* text, uint16_t port = kIkePort) {
  Endpoint e;
  e.address = *net::ParseAddress(text);
  e.port = port;
  return e;
}

v2::Proposal EspProp(cv1::EncryptionAlgorithm e, cv1::IntegrityAlgorithm i, uint16_t pfs = 0) {
  iv1::TransformSet t;
  t.set_name("TS");
  t.set_esp_encryption(e);
  t.set_esp_integrity(i);
  return *EspProposalOf(t, pfs);
}

ikev1::Phase1Policy P1(uint16_t group = 14) {
  iv1::IsakmpPolicy p;
  p.set_priority(10);
  p.set_encryption(cv1::ENCRYPTION_AES_CBC_256);
  p.set_hash(cv1::PRF_HMAC_SHA2_256);
  p.set_authentication(iv1::AUTH_METHOD_PRE_SHARE);
  p.set_group(static_cast<cv1::DhGroup>(group));
  return *ikev1::Phase1PolicyOf(p);
}

std::shared_ptr<SaPolicy> Policy(const char* local_addr, const char* local_lan,
                                 const char* remote_lan, const char* peer, const char* psk,
                                 uint16_t pfs = 0) {
  auto p = std::make_shared<SaPolicy>();
  p->ikev1_policies = {P1()};
  p->local_id = AddressIdentity(*net::ParseAddress(local_addr));
  PskEntry k;
  k.address = *net::ParseCidr(peer);
  k.key = SecretBytes(psk);
  p->psks.push_back(k);
  ChildPolicy c;
  c.crypto_map = "VPN";
  c.sequence = 10;
  c.local_ts = {Ts(local_lan)};
  c.remote_ts = {Ts(remote_lan)};
  c.proposals = {EspProp(cv1::ENCRYPTION_AES_CBC_256, cv1::INTEGRITY_HMAC_SHA2_256_128, pfs)};
  c.transform_sets = {"TS"};
  c.pfs_group = pfs;
  c.reqid = 1;
  c.ike_version = 1;
  p->children.push_back(c);
  return p;
}

struct Side {
  std::shared_ptr<Ikev1Sa> sa;
  std::vector<action::InstallChild> installed;
  std::vector<action::DeleteChild> deleted;
  std::vector<std::string> failures;
  std::vector<std::string> details;
  std::vector<auth::OcspQuery> ocsp;
  int established = 0;
  int reestablish = 0;
  bool initial_contact = false;
};

class Net {
 public:
  Net(std::shared_ptr<SaPolicy> pa, std::shared_ptr<SaPolicy> pb) : pa_(pa), pb_(pb) {}

  void Start(bool aggressive = false, size_t child = 0) {
    a.sa = Ikev1Sa::NewInitiator({&clock, &rng_a}, pa_, a_local, b_local, child, std::nullopt,
                                 aggressive);
    Collect(a, a.sa->Start(), true);
  }
  void Collect(Side& s, Actions actions, bool from_a) {
    for (Action& act : actions) {
      if (auto* send = std::get_if<action::Send>(&act)) {
        (from_a ? a_to_b : b_to_a).push_back(*send);
      } else if (auto* in = std::get_if<action::InstallChild>(&act)) {
        s.installed.push_back(*in);
      } else if (auto* del = std::get_if<action::DeleteChild>(&act)) {
        s.deleted.push_back(*del);
      } else if (auto* f = std::get_if<action::Failed>(&act)) {
        s.failures.push_back(f->reason);
        s.details.push_back(f->detail);
      } else if (auto* r = std::get_if<action::CheckRevocation>(&act)) {
        s.ocsp.push_back(r->query);
      } else if (auto* e = std::get_if<action::Established>(&act)) {
        ++s.established;
        s.initial_contact = s.initial_contact || e->initial_contact;
      } else if (std::holds_alternative<action::Reestablish>(act)) {
        ++s.reestablish;
      }
    }
  }
  bool ToB(bool drop = false) {
    if (a_to_b.empty()) return false;
    action::Send m = a_to_b.front();
    a_to_b.pop_front();
    if (drop || m.nat_keepalive) return true;
    Endpoint from = m.local;
    if (nat_a) from = Endpoint{nat_a->address, m.local.port == kNatTPort ? uint16_t(31001) : uint16_t(31000)};
    if (!b.sa) b.sa = Ikev1Sa::NewResponder({&clock, &rng_b}, pb_, m.remote, from);
    last_to_b = m.datagram;
    Collect(b, b.sa->Receive(m.remote, from, m.datagram), false);
    return true;
  }
  bool ToA(bool drop = false) {
    if (b_to_a.empty()) return false;
    action::Send m = b_to_a.front();
    b_to_a.pop_front();
    if (drop || m.nat_keepalive) return true;
    Endpoint to = nat_a ? Endpoint{a_local.address, m.remote.port == 31001 ? kNatTPort : kIkePort}
                        : m.remote;
    last_to_a = m.datagram;
    Collect(a, a.sa->Receive(to, m.local, m.datagram), true);
    return true;
  }
  void Run() {
    for (int i = 0; i < 100 && (!a_to_b.empty() || !b_to_a.empty()); ++i) {
      ToB();
      ToA();
    }
  }
  void Tick() {
    Collect(a, a.sa->Tick(), true);
    if (b.sa) Collect(b, b.sa->Tick(), false);
  }

  FakeClock clock;
  SeededRng rng_a{1}, rng_b{2};
  Side a, b;
  std::deque<action::Send> a_to_b, b_to_a;
  std::optional<Endpoint> nat_a;
  std::string last_to_b, last_to_a;
  Endpoint a_local = Ep("198.51.100.1"), b_local = Ep("198.51.100.2");

 private:
  std::shared_ptr<SaPolicy> pa_, pb_;
};

std::shared_ptr<SaPolicy> A(uint16_t pfs = 0) {
  return Policy("198.51.100.1", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.2/32", "s3cret-psk",
                pfs);
}
std::shared_ptr<SaPolicy> B(uint16_t pfs = 0) {
  return Policy("198.51.100.2", "10.2.0.0/24", "10.1.0.0/24", "0.0.0.0/0", "s3cret-psk", pfs);
}

void ExpectPaired(const ChildSa& x, const ChildSa& y) {
  EXPECT_EQ(x.spi_in, y.spi_out);
  EXPECT_EQ(x.spi_out, y.spi_in);
  EXPECT_EQ(x.encr_in.view(), y.encr_out.view());
  EXPECT_EQ(x.encr_out.view(), y.encr_in.view());
  EXPECT_EQ(x.integ_in.view(), y.integ_out.view());
  EXPECT_EQ(x.integ_out.view(), y.integ_in.view());
  EXPECT_NE(x.encr_in.view(), x.encr_out.view());
  EXPECT_EQ(x.encr_in.size(), 32u);
  EXPECT_EQ(x.integ_in.size(), 32u);
}

uint8_t ExchangeOf(const std::string& datagram) { return static_cast<uint8_t>(datagram[18]); }

TEST(Ikev1Sa, MainModeThenQuickModeBothRoles) {
  Net n(A(), B());
  n.Start();
  EXPECT_EQ(std::string(n.a.sa->StateName()), "MM_NO_STATE");
  n.ToB();  // 1
  EXPECT_EQ(std::string(n.b.sa->StateName()), "MM_SA_SETUP");
  n.ToA();  // 2
  n.ToB();  // 3
  EXPECT_EQ(std::string(n.b.sa->StateName()), "MM_KEY_EXCH");
  n.ToA();  // 4
  EXPECT_EQ(std::string(n.a.sa->StateName()), "MM_KEY_AUTH");
  n.ToB();  // 5
  EXPECT_EQ(std::string(n.b.sa->StateName()), "QM_IDLE");
  EXPECT_EQ(n.b.established, 1);
  EXPECT_TRUE(n.b.initial_contact);
  n.ToA();  // 6: phase 1 up; Quick Mode 1 goes out
  EXPECT_EQ(std::string(n.a.sa->StateName()), "QM_IDLE");
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  ASSERT_EQ(n.a_to_b.size(), 1u);
  EXPECT_EQ(ExchangeOf(n.a_to_b.front().datagram), 32);
  n.ToB();  // QM 1
  n.ToA();  // QM 2: the initiator installs
  ASSERT_EQ(n.a.installed.size(), 1u);
  EXPECT_TRUE(n.b.installed.empty());
  n.ToB();  // QM 3: the responder installs
  ASSERT_EQ(n.b.installed.size(), 1u);
  const ChildSa& ca = n.a.installed[0].child;
  const ChildSa& cb = n.b.installed[0].child;
  ExpectPaired(ca, cb);
  EXPECT_EQ(ToString(ca.local_ts), ToString(TsList{Ts("10.1.0.0/24")}));
  EXPECT_EQ(ToString(cb.local_ts), ToString(TsList{Ts("10.2.0.0/24")}));
  EXPECT_EQ(ca.suite.encr, 12);
  EXPECT_EQ(ca.suite.key_bits, 256);
  EXPECT_EQ(ca.suite.integ, 12);
  EXPECT_EQ(ca.lifetime_seconds, 3600u);
  EXPECT_FALSE(ca.udp_encap);
  EXPECT_EQ(n.a.sa->suite().encr, 12);  // status in IKEv2 terms: AES-CBC
  EXPECT_EQ(n.a.sa->suite().prf, 5);    // HMAC-SHA2-256
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "198.51.100.1");
  EXPECT_TRUE(n.a.failures.empty());
  EXPECT_TRUE(n.b.failures.empty());
}

TEST(Ikev1Sa, QuickModeWithPfsGroup14And19) {
  for (uint16_t group : {14, 19}) {
    Net n(A(group), B(group));
    n.Start();
    n.Run();
    ASSERT_EQ(n.a.installed.size(), 1u) << group;
    ASSERT_EQ(n.b.installed.size(), 1u) << group;
    EXPECT_EQ(n.a.installed[0].child.suite.dh, group);
    ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
  }
}

TEST(Ikev1Sa, ResponderWithoutPfsTakesTheInitiatorsGroup) {
  Net n(A(14), B(0));
  n.Start();
  n.Run();
  ASSERT_EQ(n.b.installed.size(), 1u);
  EXPECT_EQ(n.b.installed[0].child.suite.dh, 14);
  // The other way round IOS refuses: we asked for PFS, the offer has none.
  Net m(A(0), B(14));
  m.Start();
  m.Run();
  EXPECT_TRUE(m.b.installed.empty());
  ASSERT_FALSE(m.b.failures.empty());
  EXPECT_EQ(m.b.failures.back(), "NO_PROPOSAL_CHOSEN");
}

TEST(Ikev1Sa, AggressiveModeWithHostnameIdentityAndKey) {
  auto a = A();
  a->local_id = FqdnIdentity("spoke1.example");
  auto b = B();
  b->psks.clear();
  PskEntry k;
  k.hostname = "spoke1.example";
  k.key = SecretBytes("host-key");
  b->psks.push_back(k);
  a->psks[0].key = SecretBytes("host-key");
  Net n(a, b);
  n.Start(true);
  EXPECT_EQ(std::string(n.a.sa->StateName()), "AG_NO_STATE");
  n.ToB();
  EXPECT_EQ(std::string(n.b.sa->StateName()), "AG_INIT_EXCH");
  n.Run();
  EXPECT_EQ(n.a.established, 1);
  EXPECT_EQ(n.b.established, 1);
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "spoke1.example");
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

TEST(Ikev1Sa, AggressiveModeRefusedWhenDisabled) {
  auto b = B();
  b->aggressive_mode = false;
  Net n(A(), b);
  n.Start(true);
  n.ToB();
  EXPECT_TRUE(n.b_to_a.empty());  // not even the hash of the key goes out
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  ASSERT_FALSE(n.b.failures.empty());
  EXPECT_EQ(n.b.failures[0], "AGGRESSIVE_MODE_DISABLED");
}

TEST(Ikev1Sa, WrongPreSharedKeyFailsAuthentication) {
  auto b = B();
  b->psks[0].key = SecretBytes("another-key");
  Net n(A(), b);
  n.Start();
  n.Run();
  EXPECT_EQ(n.b.established, 0);
  ASSERT_FALSE(n.b.failures.empty());
  EXPECT_EQ(n.b.failures[0], "AUTHENTICATION_FAILED");
}

TEST(Ikev1Sa, NoMatchingPolicyIsRefusedWithANotification) {
  auto b = B();
  b->ikev1_policies[0].hash = 2;  // sha where A offers sha256
  Net n(A(), b);
  n.Start();
  n.ToB();
  ASSERT_FALSE(n.b.failures.empty());
  EXPECT_EQ(n.b.failures[0], "NO_PROPOSAL_CHOSEN");
  n.ToA();  // the unprotected NO-PROPOSAL-CHOSEN ends A's attempt at once
  ASSERT_FALSE(n.a.failures.empty());
  EXPECT_EQ(n.a.failures[0], "NO_PROPOSAL_CHOSEN");
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
}

TEST(Ikev1Sa, LostMessagesAreRetransmittedAndRepeatsAnsweredAgain) {
  Net n(A(), B());
  n.Start();
  n.ToB();
  n.ToA(/*drop=*/true);  // message 2 lost
  n.clock.Advance(absl::Seconds(3));
  n.Tick();  // A repeats message 1
  ASSERT_EQ(n.a_to_b.size(), 1u);
  n.ToB();  // B answers the repeat with message 2 again
  ASSERT_EQ(n.b_to_a.size(), 1u);
  n.ToA();
  n.ToB();  // 3
  n.ToA();  // 4
  n.ToB();  // 5
  n.ToA(/*drop=*/true);  // message 6 lost
  n.clock.Advance(absl::Seconds(3));
  n.Tick();  // A repeats the encrypted message 5; B (already up) answers with 6
  n.Run();
  EXPECT_EQ(n.a.established, 1);
  EXPECT_EQ(n.b.established, 1);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

TEST(Ikev1Sa, QuickModeMessage2LostIsRetransmitted) {
  Net n(A(), B());
  n.Start();
  for (int i = 0; i < 3; ++i) {
    n.ToB();
    n.ToA();
  }
  n.ToB();              // QM 1
  n.ToA(/*drop=*/true);  // QM 2 lost
  n.clock.Advance(absl::Seconds(3));
  n.Tick();  // both repeat: A its QM 1, B its QM 2
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

uint8_t FlagsOf(const std::string& datagram) { return static_cast<uint8_t>(datagram[19]); }

// The commit bit (RFC 2408 §3.1), set here on A's Quick Mode message 1 as
// a peer like racoon may: B echoes it, installs on message 3 and says
// HASH(4) N(CONNECTED); A installs only then. A lost message 4 is asked for
// again by A's repeated message 3; none at all fails A's Quick Mode.
TEST(Ikev1Sa, CommitBitHoldsTheInitiatorUntilConnected) {
  for (int lose : {0, 1, 99}) {
    SCOPED_TRACE(lose);
    Net n(A(), B());
    n.Start();
    for (int i = 0; i < 3; ++i) {
      n.ToB();
      n.ToA();
    }
    ASSERT_EQ(n.a_to_b.size(), 1u);
    n.a_to_b.front().datagram[19] |= isakmp::kFlagCommit;  // the header is not authenticated
    n.ToB();  // QM 1
    ASSERT_EQ(n.b_to_a.size(), 1u);
    EXPECT_TRUE(FlagsOf(n.b_to_a.front().datagram) & isakmp::kFlagCommit);
    n.ToA();  // QM 2: A answers but holds the pair
    EXPECT_TRUE(n.a.installed.empty());
    EXPECT_TRUE(n.a.sa->HasChildFor(0)) << "the waiting Quick Mode stands for the line";
    n.ToB();  // QM 3: B installs and sends QM 4
    ASSERT_EQ(n.b.installed.size(), 1u);
    ASSERT_EQ(n.b_to_a.size(), 1u);
    for (int i = 0; i < lose && !n.b_to_a.empty(); ++i) {
      n.ToA(/*drop=*/true);  // QM 4 lost
      n.clock.Advance(absl::Seconds(20));
      n.Tick();  // A repeats QM 3...
      n.ToB();   // ... and B answers it with QM 4 again
    }
    if (lose == 99) {
      EXPECT_TRUE(n.a.installed.empty());
      ASSERT_FALSE(n.a.failures.empty());
      EXPECT_EQ(n.a.failures.back(), "TIMEOUT");
      continue;
    }
    n.Run();  // QM 4
    ASSERT_EQ(n.a.installed.size(), 1u);
    ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
    EXPECT_TRUE(n.a.failures.empty());
    EXPECT_TRUE(n.b.failures.empty());
  }
}

TEST(Ikev1Sa, TamperedMessagesAreDroppedNotBelieved) {
  Net n(A(), B());
  n.Start();
  for (int i = 0; i < 3; ++i) {
    n.ToB();
    n.ToA();
  }
  n.ToB();  // QM 1
  ASSERT_EQ(n.b_to_a.size(), 1u);
  std::string qm2 = n.b_to_a.front().datagram;
  qm2[qm2.size() - 20] ^= 1;  // one bit in the ciphertext
  n.b_to_a.front().datagram = qm2;
  n.ToA();
  EXPECT_TRUE(n.a.installed.empty());
  EXPECT_GE(n.a.sa->stats().dropped, 1u);
  n.clock.Advance(absl::Seconds(3));
  n.Tick();  // B's own retransmission carries the right octets
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
}

TEST(Ikev1Sa, NatIsDetectedAndBothSidesFloatTo4500) {
  Net n(A(), B());
  n.nat_a = Ep("203.0.113.9");
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.established, 1);
  EXPECT_TRUE(n.a.sa->nat_local());
  EXPECT_TRUE(n.b.sa->nat_remote());
  EXPECT_EQ(n.a.sa->remote().port, kNatTPort);
  EXPECT_EQ(n.b.sa->remote().port, 31001);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  EXPECT_TRUE(n.a.installed[0].child.udp_encap);
  EXPECT_TRUE(n.b.installed[0].child.udp_encap);
  // Behind the NAT, A keeps its mapping open.
  n.clock.Advance(absl::Seconds(21));
  Actions t = n.a.sa->Tick();
  bool keepalive = false;
  for (const Action& x : t) {
    if (const auto* s = std::get_if<action::Send>(&x)) keepalive = keepalive || s->nat_keepalive;
  }
  EXPECT_TRUE(keepalive);
}

TEST(Ikev1Sa, DeleteFromEitherSide) {
  Net n(A(), B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.b.installed.size(), 1u);
  // B deletes the pair: A removes its half.
  n.Collect(n.b, n.b.sa->CloseChild(n.b.installed[0].child.spi_in, "operator"), false);
  n.Run();
  ASSERT_EQ(n.a.deleted.size(), 1u);
  EXPECT_EQ(n.a.deleted[0].spi_in, n.a.installed[0].child.spi_in);
  EXPECT_TRUE(n.a.sa->children().empty());
  // A deletes the ISAKMP SA: B forgets it.
  n.Collect(n.a, n.a.sa->Close("operator"), true);
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
}

TEST(Ikev1Sa, DpdFindsADeadPeerAndAnAliveOne) {
  auto a = A();
  a->dpd_interval = absl::Seconds(10);
  a->dpd_retry = absl::Seconds(2);
  a->dpd_on_demand = false;  // periodic
  Net n(a, B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.established, 1);
  n.clock.Advance(absl::Seconds(11));
  n.Tick();  // R-U-THERE
  ASSERT_EQ(n.a_to_b.size(), 1u);
  EXPECT_EQ(ExchangeOf(n.a_to_b.front().datagram), 5);
  n.Run();  // B acknowledges
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.a.sa->stats().dpd_sent, 1u);
  // B goes away: A's checks go unanswered and it gives up.
  for (int i = 0; i < 10 && n.a.sa->state() != IkeState::kDead; ++i) {
    n.clock.Advance(absl::Seconds(11));
    n.Collect(n.a, n.a.sa->Tick(), true);
    n.a_to_b.clear();
  }
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  ASSERT_FALSE(n.a.failures.empty());
  EXPECT_EQ(n.a.failures.back(), "DPD_TIMEOUT");
  ASSERT_EQ(n.a.deleted.size(), 1u);
}

TEST(Ikev1Sa, RekeyOfAChildReplacesItOnBothSides) {
  Net n(A(), B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  const uint32_t old_a = n.a.installed[0].child.spi_in;
  // Soft expiry at 85-90% of the hour.
  n.clock.Advance(absl::Seconds(3300));
  n.Tick();
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 2u);
  ASSERT_EQ(n.b.installed.size(), 2u);
  EXPECT_EQ(n.a.installed[1].replaces_spi_in, old_a);
  EXPECT_EQ(n.b.installed[1].replaces_spi_in, n.b.installed[0].child.spi_in);
  ExpectPaired(n.a.installed[1].child, n.b.installed[1].child);
  // Both pairs stay while packets sent on the old one may still arrive;
  // then the rekey's initiator deletes the old pair on both sides.
  EXPECT_EQ(n.a.sa->children().size(), 2u);
  EXPECT_TRUE(n.a.deleted.empty());
  n.clock.Advance(absl::Seconds(3));
  n.Tick();
  n.Run();
  EXPECT_EQ(n.a.sa->children().size(), 1u);
  EXPECT_EQ(n.b.sa->children().size(), 1u);
  ASSERT_EQ(n.a.deleted.size(), 1u);
  ASSERT_EQ(n.b.deleted.size(), 1u);
  EXPECT_EQ(n.a.deleted[0].spi_in, old_a);
  EXPECT_EQ(n.b.deleted[0].spi_in, n.b.installed[0].child.spi_in);
}

// Phase 1 is not re-keyed in IKEv1: the original initiator asks for a new
// one at 85-90% of the lifetime (the responder at 95%, for peers that never
// do); the new ISAKMP SA, set up without a Quick Mode, takes over the pairs,
// the old one is deleted alone (the peer removes no pair), and the pairs
// are re-keyed through the new one.
TEST(Ikev1Sa, NewPhase1TakesOverThePairsAndTheOldOneGoesAlone) {
  Net n(A(), B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  const absl::Duration life = absl::Seconds(86400);
  n.clock.Advance(life * 85 / 100 - absl::Seconds(1));
  n.Tick();
  EXPECT_EQ(n.a.reestablish, 0);
  n.clock.Advance(life * 5 / 100 + absl::Seconds(2));
  n.Tick();
  EXPECT_EQ(n.a.reestablish, 1);
  EXPECT_EQ(n.b.reestablish, 0);
  n.clock.Advance(life * 5 / 100);
  n.Tick();
  EXPECT_EQ(n.a.reestablish, 1);  // asked once
  EXPECT_EQ(n.b.reestablish, 1);
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);

  Net m(A(), B());
  m.Start(false, Ikev1Sa::kPhase1Only);
  m.Run();
  ASSERT_EQ(m.a.established, 1);
  ASSERT_EQ(m.b.established, 1);
  EXPECT_TRUE(m.a.installed.empty());  // no Quick Mode of its own
  EXPECT_FALSE(m.b.initial_contact);  // it must not make the peer drop what it takes over
  const uint32_t spi_a = n.a.installed[0].child.spi_in;
  const uint32_t spi_b = n.b.installed[0].child.spi_in;
  m.Collect(m.a, m.a.sa->AdoptChildren(n.a.sa->ReleaseChildren()), true);
  m.Collect(m.b, m.b.sa->AdoptChildren(n.b.sa->ReleaseChildren()), false);
  EXPECT_TRUE(n.a.sa->children().empty());
  ASSERT_EQ(m.a.sa->children().size(), 1u);
  EXPECT_EQ(m.a.sa->children()[0].spi_in, spi_a);
  // The old ISAKMP SA is deleted; its Delete removes no pair on either side.
  n.Collect(n.a, n.a.sa->Close("replaced by a new ISAKMP SA"), true);
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  EXPECT_TRUE(n.a.deleted.empty());
  EXPECT_TRUE(n.b.deleted.empty());
  // The pair re-keys through the new SA (HASH under its keys), and the old
  // pair goes when the peer deletes it.
  m.Collect(m.a, m.a.sa->RekeyChild(spi_a), true);
  m.Run();
  ASSERT_EQ(m.a.installed.size(), 1u);
  ASSERT_EQ(m.b.installed.size(), 1u);
  EXPECT_EQ(m.a.installed[0].replaces_spi_in, spi_a);
  EXPECT_EQ(m.b.installed[0].replaces_spi_in, spi_b);
  ExpectPaired(m.a.installed[0].child, m.b.installed[0].child);
  EXPECT_TRUE(m.a.failures.empty());
  EXPECT_TRUE(m.b.failures.empty());
}

// A pair replaced by a rekey waits out its grace time, but it does not
// stand for the line: once its successor ends (the volume limit reached
// before the next rekey), the next acquire gets a new pair at once.
TEST(Ikev1Sa, AReplacedPairDoesNotHoldBackANewOne) {
  Net n(A(), B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  const uint32_t first = n.a.installed[0].child.spi_in;
  n.Collect(n.a, n.a.sa->RekeyChild(first), true);
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 2u);
  const uint32_t second = n.a.installed[1].child.spi_in;
  EXPECT_TRUE(n.a.sa->HasChildFor(0));
  n.Collect(n.a, n.a.sa->CloseChild(second, "lifetime expired"), true);
  n.Run();
  EXPECT_FALSE(n.a.sa->HasChildFor(0));  // `first` is still there, retiring
  n.Collect(n.a, n.a.sa->AddChild(0, std::nullopt), true);
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 3u);
  EXPECT_TRUE(n.a.sa->HasChildFor(0));
}

// Both sides re-key the same pair at once (the dataplane's soft expiry
// reaches both together). IKEv1 has no collision rule: each Quick Mode
// makes a pair. What must hold: the old pair goes on both sides, and every
// pair left is known to both (no half pair). Once each side took the
// other's new pair for the rekey of its own, and both ended with none.
// Both new pairs stay (a redundant one is not yet deleted).
TEST(Ikev1Sa, SimultaneousRekeysLeaveMatchingPairsThenTheDuplicateDiesOut) {
  Net n(A(), B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  const uint32_t old_a = n.a.installed[0].child.spi_in;
  const uint32_t old_b = n.b.installed[0].child.spi_in;
  n.Collect(n.a, n.a.sa->RekeyChild(old_a), true);
  n.Collect(n.b, n.b.sa->RekeyChild(old_b), false);
  n.Run();
  EXPECT_TRUE(n.a.failures.empty());
  EXPECT_TRUE(n.b.failures.empty());
  auto matched = [&] {
    for (const ChildSa& x : n.a.sa->children()) {
      bool found = false;
      for (const ChildSa& y : n.b.sa->children()) {
        found = found || (x.spi_in == y.spi_out && x.spi_out == y.spi_in);
      }
      if (!found) return false;
    }
    return n.a.sa->children().size() == n.b.sa->children().size();
  };
  EXPECT_TRUE(matched());
  n.clock.Advance(absl::Seconds(11));  // past both grace times
  n.Tick();
  n.Run();
  n.clock.Advance(absl::Seconds(11));
  n.Tick();
  n.Run();
  EXPECT_TRUE(matched());
  for (const ChildSa& c : n.a.sa->children()) EXPECT_NE(c.spi_in, old_a);
  for (const ChildSa& c : n.b.sa->children()) EXPECT_NE(c.spi_in, old_b);
  EXPECT_EQ(n.a.sa->children().size(), 2u);
  EXPECT_EQ(n.b.sa->children().size(), 2u);

  // When their rekeys come due (one side's soft limits first: here the
  // peer, then us, then the peer), the older duplicate is retired instead
  // of re-keyed: the two pairs do not live on for ever, and a matched pair
  // always carries on.
  for (int round = 0; round < 3; ++round) {
    Side& side = round % 2 == 0 ? n.b : n.a;
    std::vector<uint32_t> due;
    for (const ChildSa& c : side.sa->children()) due.push_back(c.spi_in);
    for (uint32_t spi : due) n.Collect(side, side.sa->RekeyChild(spi), &side == &n.a);
    n.Run();
    for (int i = 0; i < 2; ++i) {
      n.clock.Advance(absl::Seconds(11));
      n.Tick();
      n.Run();
    }
    EXPECT_TRUE(matched()) << round;
    EXPECT_FALSE(n.a.sa->children().empty()) << round;
  }
  EXPECT_EQ(n.a.sa->children().size(), 1u);
  EXPECT_EQ(n.b.sa->children().size(), 1u);
  EXPECT_TRUE(n.a.failures.empty());
  EXPECT_TRUE(n.b.failures.empty());
}

TEST(Ikev1Sa, ProxiesOutsideTheAclAreRefused) {
  auto b = B();
  b->children[0].remote_ts = {Ts("10.9.0.0/24")};
  Net n(A(), b);
  n.Start();
  n.Run();
  EXPECT_EQ(n.b.established, 1);
  EXPECT_TRUE(n.b.installed.empty());
  ASSERT_FALSE(n.b.failures.empty());
  EXPECT_EQ(n.b.failures.back(), "TS_UNACCEPTABLE");
  EXPECT_TRUE(n.a.installed.empty());
}

TEST(Ikev1Sa, GarbageToAFreshResponderOrAnEstablishedSaIsDropped) {
  Net n(A(), B());
  n.Start();
  n.Run();
  ASSERT_EQ(n.b.established, 1);
  std::string junk = n.last_to_b;
  for (size_t i = 28; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 7);
  for (const std::string& d : {junk, junk.substr(0, 40), std::string(28, '\x01')}) {
    (void)n.b.sa->Receive(n.b_local, n.a_local, d);
    (void)n.a.sa->Receive(n.a_local, n.b_local, d);
  }
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
  auto fresh = Ikev1Sa::NewResponder({&n.clock, &n.rng_b}, B(), n.b_local, n.a_local);
  (void)fresh->Receive(n.b_local, n.a_local, junk);
  EXPECT_NE(fresh->state(), IkeState::kEstablished);
}

}  // namespace
}  // namespace vpnfleet::ike

namespace vpnfleet::ike {
namespace {

// --- certificate authentication (test PKI: services/ike/auth/testdata) ---

std::string TestPem(const std::string& name) {
  return testing::ReadTestData("services/ike/auth/testdata/" + name);
}

// `cert` (and its key of the same name; `extra` appended to the chain)
// signs; the RSA CA (with its CRL) and the EC root are trusted; the
// policy's one phase-1 policy uses `method`.
void UseCertificate(SaPolicy& p, const std::string& cert, uint16_t method,
                    const std::string& extra = "", bool check_crl = false) {
  auto c = auth::LocalCredential::FromPem("TP", TestPem(cert + ".key"),
                                          TestPem(cert + ".pem") + extra);
  ASSERT_TRUE(c.ok()) << c.status();
  p.ikev1_credential = *c;
  auto t = auth::TrustStore::Make(
      {{"RSA-CA", TestPem("rsa-ca.pem"), TestPem("rsa-ca.crl"), check_crl},
       {"EC-CA", TestPem("ec-root.pem"), "", false}});
  ASSERT_TRUE(t.ok()) << t.status();
  p.trust = *t;
  p.psks.clear();
  p.ikev1_policies[0].auth = method;
}

std::string Why(const Side& s) { return s.details.empty() ? "" : s.details[0]; }

// A whole exchange between `pa` and `pb` that one side refuses: that
// side's first failure and its detail (empty when it did not fail), once
// checked that it established and installed nothing.
struct Refusal {
  std::string reason, detail;
};
Refusal RefusedBy(bool responder, std::shared_ptr<SaPolicy> pa, std::shared_ptr<SaPolicy> pb) {
  Net n(pa, pb);
  n.Start();
  n.Run();
  const Side& s = responder ? n.b : n.a;
  EXPECT_EQ(s.established, 0);
  EXPECT_TRUE(s.installed.empty());
  return s.failures.empty() ? Refusal{} : Refusal{s.failures[0], s.details[0]};
}

size_t Count(const std::string& datagram, uint8_t payload_type) {
  auto m = isakmp::Decode(datagram);
  size_t n = 0;
  if (!m.ok()) return 0;
  for (const auto& p : m->payloads) n += p.type == payload_type;
  return n;
}

TEST(Ikev1SaCertificates, MainModeRsaBothRolesWithAddressIdentities) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "rsa-spoke", ikev1::kAuthRsaSig);
  Net n(pa, pb);
  n.Start();
  n.ToB();  // 1
  n.ToA();  // 2
  // Messages 3 and 4 ask for certificates from both trusted CAs.
  ASSERT_EQ(n.a_to_b.size(), 1u);
  EXPECT_EQ(Count(n.a_to_b.front().datagram, 7), 2u);
  n.ToB();  // 3
  ASSERT_EQ(n.b_to_a.size(), 1u);
  EXPECT_EQ(Count(n.b_to_a.front().datagram, 7), 2u);
  n.Run();
  ASSERT_EQ(n.a.established, 1) << Why(n.a);
  ASSERT_EQ(n.b.established, 1) << Why(n.b);
  EXPECT_EQ(n.a.sa->remote_subject(), "O=vpnfleet,CN=spoke.example.net");
  EXPECT_EQ(n.b.sa->remote_subject(), "O=vpnfleet,CN=hub.example.net");
  EXPECT_EQ(n.a.sa->local_auth_method(), auth::kAuthRsaSignature);
  EXPECT_EQ(n.b.sa->remote_auth_method(), auth::kAuthRsaSignature);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

// RFC 4754: each side signs with its own curve (the hub P-256, the spoke
// P-384, both under an intermediate they send along), DN identities.
TEST(Ikev1SaCertificates, MainModeEcdsaTwoCurvesIntermediateAndDnIdentities) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "ec-hub", ikev1::kAuthEcdsa256, TestPem("ec-sub.pem"));
  UseCertificate(*pb, "ec-spoke", ikev1::kAuthEcdsa384, TestPem("ec-sub.pem"));
  pa->local_id = pa->ikev1_credential->DnIdentity();
  pb->local_id = pb->ikev1_credential->DnIdentity();
  Net n(pa, pb);
  n.Start();
  n.Run();
  ASSERT_EQ(n.a.established, 1) << Why(n.a);
  ASSERT_EQ(n.b.established, 1) << Why(n.b);
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "O=vpnfleet,CN=hub.example.net");
  EXPECT_EQ(IdentityText(n.a.sa->remote_id()), "O=vpnfleet,CN=spoke.example.net");
  EXPECT_EQ(n.a.sa->local_auth_method(), auth::kAuthEcdsaP256);
  EXPECT_EQ(n.a.sa->remote_auth_method(), auth::kAuthEcdsaP384);
  EXPECT_EQ(n.b.sa->remote_auth_method(), auth::kAuthEcdsaP256);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
}

TEST(Ikev1SaCertificates, AggressiveModeRsaBothRoles) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "rsa-spoke", ikev1::kAuthRsaSig);
  Net n(pa, pb);
  n.Start(true);
  ASSERT_EQ(n.a_to_b.size(), 1u);
  EXPECT_EQ(Count(n.a_to_b.front().datagram, 7), 2u);  // CR in the first message
  n.ToB();
  ASSERT_EQ(n.b_to_a.size(), 1u);
  EXPECT_EQ(Count(n.b_to_a.front().datagram, 6), 1u);  // CERT and SIG_R in the clear
  EXPECT_EQ(Count(n.b_to_a.front().datagram, 9), 1u);
  n.Run();
  ASSERT_EQ(n.a.established, 1) << Why(n.a);
  ASSERT_EQ(n.b.established, 1) << Why(n.b);
  EXPECT_EQ(n.b.sa->remote_subject(), "O=vpnfleet,CN=hub.example.net");
  EXPECT_EQ(n.a.installed.size(), 1u);
  EXPECT_EQ(n.b.installed.size(), 1u);
}

TEST(Ikev1SaCertificates, UntrustedCertificateIsRefused) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "rogue-spoke", ikev1::kAuthRsaSig);  // same names, CA A does not trust
  const Refusal r = RefusedBy(false, pa, pb);
  EXPECT_EQ(r.reason, "AUTHENTICATION_FAILED");
  EXPECT_NE(r.detail.find("not trusted"), std::string::npos) << r.detail;
}

TEST(Ikev1SaCertificates, IdentityNotInTheCertificateIsRefused) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "rsa-spoke", ikev1::kAuthRsaSig);
  pa->local_id = FqdnIdentity("bank.example");  // not a name of rsa-hub's certificate
  const Refusal r = RefusedBy(true, pa, pb);
  EXPECT_EQ(r.reason, "AUTHENTICATION_FAILED");
  EXPECT_NE(r.detail.find("identity"), std::string::npos) << r.detail;
}

TEST(Ikev1SaCertificates, RevokedCertificateIsRefusedWithTheCrl) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig, "", /*check_crl=*/true);
  UseCertificate(*pb, "rsa-revoked", ikev1::kAuthRsaSig);
  const Refusal r = RefusedBy(false, pa, pb);
  EXPECT_NE(r.detail.find("revoked"), std::string::npos) << r.detail;
}

// A signature by another key than the certificate's: Aggressive Mode's
// second message (in the clear) has B's certificate swapped for another
// one of the same CA and names (rsa-revoked; no CRL is checked here).
TEST(Ikev1SaCertificates, SignatureByAnotherKeyIsRefused) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "rsa-spoke", ikev1::kAuthRsaSig);
  auto other = auth::LocalCredential::FromPem("X", TestPem("rsa-revoked.key"),
                                              TestPem("rsa-revoked.pem"));
  ASSERT_TRUE(other.ok());
  Net n(pa, pb);
  n.Start(true);
  n.ToB();
  ASSERT_EQ(n.b_to_a.size(), 1u);
  auto m2 = isakmp::Decode(n.b_to_a.front().datagram);
  ASSERT_TRUE(m2.ok());
  int swapped = 0;
  for (auto& p : m2->payloads) {
    if (p.type == static_cast<uint8_t>(isakmp::PayloadType::kCert)) {
      std::get<isakmp::CertPayload>(p.body).data = (*other)->chain_der()[0];
      ++swapped;
    }
  }
  ASSERT_EQ(swapped, 1);
  auto encoded = isakmp::Encode(*m2);
  ASSERT_TRUE(encoded.ok());
  n.b_to_a.front().datagram = *encoded;
  n.ToA();
  EXPECT_EQ(n.a.established, 0);
  ASSERT_FALSE(n.a.failures.empty());
  EXPECT_EQ(n.a.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_NE(Why(n.a).find("SIG"), std::string::npos) << Why(n.a);
}

// `revocation-check ocsp`: the responder asks once, Main Mode 5 waits
// for the verdict (A's repeats meanwhile change nothing), then goes on as
// the cache says; without a verdict in time the next method judges.
struct OcspCase {
  std::shared_ptr<auth::OcspCache> cache;
  std::unique_ptr<Net> net;
};
OcspCase StartOcsp(std::vector<auth::Revocation> methods) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "rsa-spoke", ikev1::kAuthRsaSig);
  OcspCase o;
  o.cache = std::make_shared<auth::OcspCache>();
  auth::TrustStore::TrustpointPem tp{"RSA-CA", TestPem("rsa-ca.pem"), "", false};
  tp.revocation = std::move(methods);
  tp.ocsp_url = "http://192.0.2.9/ocsp";
  pb->trust = *auth::TrustStore::Make({tp}, o.cache);
  o.net = std::make_unique<Net>(pa, pb);
  o.net->Start();
  for (int i = 0; i < 3; ++i) {  // messages 1 to 5
    o.net->ToB();
    if (i < 2) o.net->ToA();
  }
  return o;
}

TEST(Ikev1SaCertificates, OcspVerdictAwaitedThenEstablished) {
  OcspCase o = StartOcsp({auth::Revocation::kOcsp});
  Net& n = *o.net;
  ASSERT_EQ(n.b.ocsp.size(), 1u) << Why(n.b);
  EXPECT_EQ(n.b.ocsp[0].url, "http://192.0.2.9/ocsp");
  EXPECT_TRUE(n.b_to_a.empty());
  EXPECT_EQ(n.b.sa->NextDeadline(), n.clock.Now() + kRevocationWait);
  n.clock.Advance(absl::Seconds(2));
  n.Tick();  // A repeats message 5; B still waits and asks nothing more
  while (n.ToB()) {
  }
  EXPECT_TRUE(n.b_to_a.empty());
  EXPECT_EQ(n.b.ocsp.size(), 1u);
  o.cache->Put(n.b.ocsp[0].key, {auth::OcspVerdict::kGood, n.clock.Now() + absl::Hours(1), ""},
               n.clock.Now());
  n.Collect(n.b, n.b.sa->RevocationAnswered(), false);
  n.Run();
  ASSERT_EQ(n.b.established, 1) << Why(n.b);
  ASSERT_EQ(n.a.established, 1) << Why(n.a);
  EXPECT_EQ(n.a.installed.size(), 1u);
  EXPECT_EQ(n.b.installed.size(), 1u);
}

TEST(Ikev1SaCertificates, OcspRevokedIsRefusedAndNoAnswerFallsThrough) {
  {
    OcspCase o = StartOcsp({auth::Revocation::kOcsp});
    Net& n = *o.net;
    ASSERT_EQ(n.b.ocsp.size(), 1u);
    o.cache->Put(n.b.ocsp[0].key,
                 {auth::OcspVerdict::kRevoked, n.clock.Now() + absl::Hours(1), "keyCompromise"},
                 n.clock.Now());
    n.Collect(n.b, n.b.sa->RevocationAnswered(), false);
    EXPECT_EQ(n.b.established, 0);
    ASSERT_FALSE(n.b.failures.empty());
    EXPECT_NE(Why(n.b).find("keyCompromise"), std::string::npos) << Why(n.b);
  }
  {
    // `revocation-check ocsp none`: no answer within kRevocationWait, so
    // `none` accepts.
    OcspCase o = StartOcsp({auth::Revocation::kOcsp, auth::Revocation::kNone});
    Net& n = *o.net;
    ASSERT_EQ(n.b.ocsp.size(), 1u);
    n.clock.Advance(kRevocationWait);
    n.Collect(n.b, n.b.sa->Tick(), false);
    n.Run();
    EXPECT_EQ(n.b.established, 1) << Why(n.b);
    EXPECT_EQ(n.a.established, 1) << Why(n.a);
  }
}

TEST(Ikev1SaCertificates, MethodAndKeyMustAgree) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", ikev1::kAuthRsaSig);
  UseCertificate(*pb, "ec-spoke", ikev1::kAuthRsaSig);  // rsa-sig with an EC key
  const Refusal r = RefusedBy(true, pa, pb);
  EXPECT_EQ(r.reason, "NO_PROPOSAL_CHOSEN");
  EXPECT_NE(r.detail.find("ECDSA key"), std::string::npos) << r.detail;
}

// --- encrypted nonces (rsa-encr, RFC 2409 §5.2) ---

// `ours` is the side's RSA key pair; `peer` the other side's public key in
// its pubkey-chain, as `addressed-key ADDRESS` or `named-key NAME`.
void UseRsaKeys(SaPolicy& p, const std::string& ours, const std::string& peer,
                const std::string& address, const std::string& name = "") {
  auto k = auth::RsaKeyPair::FromPem(ours, TestPem(ours + ".key"));
  auto other = auth::RsaKeyPair::FromPem(peer, TestPem(peer + ".key"));
  ASSERT_TRUE(k.ok() && other.ok());
  p.ikev1_rsa_key = *k;
  PeerRsaKey e;
  if (!address.empty()) e.address = *net::ParseAddress(address);
  e.name = name;
  e.key = *auth::RsaPublicKey::FromDer((*other)->public_der());
  p.peer_rsa_keys = {e};
  p.psks.clear();
  p.ikev1_policies[0].auth = ikev1::kAuthRsaEncr;
}

// The body of the first payload of `type` in an unencrypted message.
std::string BodyIn(const std::string& datagram, isakmp::PayloadType type) {
  auto m = isakmp::Decode(datagram);
  if (!m.ok()) return "";
  const isakmp::Payload* p = m->FindPayload(type);
  return p != nullptr ? std::string(p->raw_body()) : "";
}

TEST(Ikev1SaEncryptedNonces, MainModeBothRolesWithAddressedKeys) {
  auto pa = A(), pb = B();
  UseRsaKeys(*pa, "rsa-hub", "rsa-spoke", "198.51.100.2");
  UseRsaKeys(*pb, "rsa-spoke", "rsa-hub", "198.51.100.1");
  Net n(pa, pb);
  n.Start();
  n.ToB();  // 1
  n.ToA();  // 2
  // Message 3: the ID and nonce bodies are RSA ciphertexts (2048 bits).
  ASSERT_EQ(n.a_to_b.size(), 1u);
  const std::string m3 = n.a_to_b.front().datagram;
  EXPECT_EQ(BodyIn(m3, isakmp::PayloadType::kId).size(), 256u);
  EXPECT_EQ(BodyIn(m3, isakmp::PayloadType::kNonce).size(), 256u);
  EXPECT_EQ(Count(m3, 7), 0u) << "no CR: no certificates are involved";
  n.ToB();  // 3
  ASSERT_EQ(n.b_to_a.size(), 1u);
  EXPECT_EQ(BodyIn(n.b_to_a.front().datagram, isakmp::PayloadType::kId).size(), 256u);
  n.Run();
  ASSERT_EQ(n.a.established, 1) << Why(n.a);
  ASSERT_EQ(n.b.established, 1) << Why(n.b);
  EXPECT_TRUE(n.b.initial_contact);
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "198.51.100.1");
  EXPECT_EQ(IdentityText(n.a.sa->remote_id()), "198.51.100.2");
  EXPECT_EQ(n.a.sa->local_auth_method(), auth::kAuthRsaEncryptedNonces);
  EXPECT_EQ(n.b.sa->remote_auth_method(), auth::kAuthRsaEncryptedNonces);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

TEST(Ikev1SaEncryptedNonces, AggressiveModeWithANamedKey) {
  auto pa = A(), pb = B();
  pa->local_id = FqdnIdentity("spoke1.example");
  UseRsaKeys(*pa, "rsa-hub", "rsa-spoke", "198.51.100.2");
  UseRsaKeys(*pb, "rsa-spoke", "rsa-hub", "", "SPOKE1.example");  // names match without case
  Net n(pa, pb);
  n.Start(true);
  ASSERT_EQ(n.a_to_b.size(), 1u);
  EXPECT_EQ(BodyIn(n.a_to_b.front().datagram, isakmp::PayloadType::kNonce).size(), 256u);
  n.Run();
  ASSERT_EQ(n.a.established, 1) << Why(n.a);
  ASSERT_EQ(n.b.established, 1) << Why(n.b);
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "spoke1.example");
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

// Aggressive Mode offers the first policy's method only: an answer that
// names another of our policies (here rsa-encr, to an offer of pre-shared
// keys) is refused, not followed (it once reached the rsa-encr code with
// no key of the peer's chosen).
TEST(Ikev1SaEncryptedNonces, AnAggressiveAnswerWithAnotherMethodIsRefused) {
  auto pa = A(), pb = B();
  ikev1::Phase1Policy encr = pa->ikev1_policies[0];
  encr.priority = 20;
  encr.auth = ikev1::kAuthRsaEncr;
  pa->ikev1_policies.push_back(encr);  // psk first, then rsa-encr
  auto k = auth::RsaKeyPair::FromPem("a", TestPem("rsa-hub.key"));
  ASSERT_TRUE(k.ok());
  pa->ikev1_rsa_key = *k;
  PeerRsaKey peer;
  peer.name = "spoke.example";
  peer.key = *auth::RsaPublicKey::FromDer((*k)->public_der());
  pa->peer_rsa_keys = {peer};
  pb->local_id = FqdnIdentity("spoke.example");
  Net n(pa, pb);
  n.Start(/*aggressive=*/true);
  n.ToB();
  ASSERT_EQ(n.b_to_a.size(), 1u);
  auto m2 = isakmp::Decode(n.b_to_a.front().datagram);
  ASSERT_TRUE(m2.ok());
  // The forger knows A's public key: its ID and nonce really are
  // encrypted to A, as rsa-encr's would be.
  auto to_a = auth::RsaPublicKey::FromDer((*k)->public_der());
  ASSERT_TRUE(to_a.ok());
  for (isakmp::Payload& p : m2->payloads) {
    if (auto* sa = std::get_if<isakmp::SaPayload>(&p.body)) {
      for (isakmp::Attribute& attr : sa->proposals[0].transforms[0].attributes) {
        if (attr.type == ikev1::kAttrAuthMethod) attr.value = ikev1::kAuthRsaEncr;
      }
    } else if (p.type == static_cast<uint8_t>(isakmp::PayloadType::kId)) {
      p.body = isakmp::UnknownPayload{*(*to_a)->Encrypt(std::string(p.raw_body()))};
    } else if (p.type == static_cast<uint8_t>(isakmp::PayloadType::kNonce)) {
      auto& nonce = std::get<isakmp::DataPayload>(p.body).data;
      nonce = *(*to_a)->Encrypt(nonce);
    }
  }
  auto forged = isakmp::Encode(*m2);
  ASSERT_TRUE(forged.ok());
  n.b_to_a.front().datagram = *forged;
  n.ToA();
  EXPECT_EQ(n.a.established, 0);
  ASSERT_FALSE(n.a.failures.empty());
  EXPECT_EQ(n.a.failures[0], "NO_PROPOSAL_CHOSEN");
  EXPECT_NE(Why(n.a).find("authentication method"), std::string::npos) << Why(n.a);
}

TEST(Ikev1SaEncryptedNonces, EncryptedToAKeyTheResponderDoesNotHold) {
  auto pa = A(), pb = B();
  UseRsaKeys(*pa, "rsa-hub", "rsa-revoked", "198.51.100.2");  // a stale key for B
  UseRsaKeys(*pb, "rsa-spoke", "rsa-hub", "198.51.100.1");
  Net n(pa, pb);
  n.Start();
  n.ToB();
  n.ToA();
  n.ToB();  // 3: B cannot read the ID, answers nothing
  EXPECT_TRUE(n.b_to_a.empty());
  EXPECT_EQ(n.b.established, 0);
  ASSERT_FALSE(n.b.failures.empty());
  EXPECT_EQ(n.b.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_NE(Why(n.b).find("does not decrypt"), std::string::npos) << Why(n.b);
}

TEST(Ikev1SaEncryptedNonces, ANonceThatDoesNotDecryptFailsOnlyAtTheHash) {
  auto pa = A(), pb = B();
  UseRsaKeys(*pa, "rsa-hub", "rsa-spoke", "198.51.100.2");
  UseRsaKeys(*pb, "rsa-spoke", "rsa-hub", "198.51.100.1");
  Net n(pa, pb);
  n.Start();
  n.ToB();
  n.ToA();
  // Message 3 with the nonce's ciphertext damaged.
  auto m3 = isakmp::Decode(n.a_to_b.front().datagram);
  ASSERT_TRUE(m3.ok());
  for (isakmp::Payload& p : m3->payloads) {
    if (p.type == static_cast<uint8_t>(isakmp::PayloadType::kNonce)) {
      std::get<isakmp::DataPayload>(p.body).data[7] ^= 0x40;
    }
  }
  auto damaged = isakmp::Encode(*m3);
  ASSERT_TRUE(damaged.ok());
  n.a_to_b.front().datagram = *damaged;
  n.ToB();
  // B answers exactly as if the padding were right (no oracle)...
  ASSERT_EQ(n.b_to_a.size(), 1u);
  EXPECT_TRUE(n.b.failures.empty());
  n.Run();
  // ... and the exchange fails at A's HASH.
  EXPECT_EQ(n.b.established, 0);
  ASSERT_FALSE(n.b.failures.empty());
  EXPECT_EQ(n.b.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_NE(Why(n.b).find("nonce did not decrypt"), std::string::npos) << Why(n.b);
}

TEST(Ikev1SaEncryptedNonces, NoKeyForThePeerIsRefusedOnEitherSide) {
  auto pa = A(), pb = B();
  UseRsaKeys(*pa, "rsa-hub", "rsa-spoke", "198.51.100.2");
  UseRsaKeys(*pb, "rsa-spoke", "rsa-hub", "192.0.2.77");
  // The responder has no key for the identity the initiator gives...
  Refusal r = RefusedBy(true, pa, pb);
  EXPECT_NE(r.detail.find("no crypto key pubkey-chain rsa key for identity 198.51.100.1"),
            std::string::npos) << r.detail;
  // ... the initiator none for the responder's address...
  UseRsaKeys(*pa, "rsa-hub", "rsa-spoke", "192.0.2.77");
  UseRsaKeys(*pb, "rsa-spoke", "rsa-hub", "198.51.100.1");
  r = RefusedBy(false, pa, pb);
  EXPECT_NE(r.detail.find("no crypto key pubkey-chain rsa key for 198.51.100.2"),
            std::string::npos) << r.detail;
  // ... and a responder with no RSA key pair of its own does not agree.
  UseRsaKeys(*pa, "rsa-hub", "rsa-spoke", "198.51.100.2");
  pb->ikev1_rsa_key = nullptr;
  EXPECT_EQ(RefusedBy(true, pa, pb).reason, "NO_PROPOSAL_CHOSEN");
}

}  // namespace
}  // namespace vpnfleet::ike
