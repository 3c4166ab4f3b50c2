// Crypto ACLs compiled into CHILD policies as IOS reads them: each permit
// line its own proxy-identity pair with its own reqid, deny lines as skip
// rules in order, repeated lines dropped; and what a responder built from
// such a configuration accepts from a peer.
#include "services/ike/daemon/policy_book.h"

#include "services/ike/daemon/initial_contact.h"

#include <set>

#include "common/clock/clock.h"
#include "common/random/rng.h"
#include "common/testing/testdata.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/ike/sa/ikev1_proposals.h"

namespace vpnfleet::ike {
namespace {

namespace v1 = vpnfleet::ike::v1;

// Two sites: A (198.51.100.1, LANs 10.1.x) and B (198.51.100.2). `lines` are
// the ACL's entries in text form.
v1::IkeConfig Config(const std::string& peer, const std::string& lines) {
  v1::IkeConfig c;
  const std::string text = R"pb(
    isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_GCM_128 hash: PRF_HMAC_SHA2_256
                      group: DH_GROUP_CURVE25519 authentication: AUTH_METHOD_PRE_SHARE }
    transform_sets { name: "TS" esp_encryption: ENCRYPTION_AES_GCM_128 }
    access_lists { name: "101" )pb" + lines + R"pb( }
    crypto_maps { name: "VPN" entries { sequence: 10 kind: CRYPTO_MAP_KIND_IPSEC_ISAKMP
                  match_address: "101" peers: ")pb" + peer + R"pb(" transform_sets: "TS" } }
    pre_shared_keys { address { address: ")pb" + peer + R"pb(" length: 32 } key: "c2VjcmV0" }
  )pb";
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  return c;
}

std::string Line(int seq, const char* action, const char* src, int slen, const char* dst,
                 int dlen) {
  return std::string("entries { sequence: ") + std::to_string(seq) + " action: " + action +
         " match { source { address: \"" + src + "\" length: " + std::to_string(slen) +
         " } destination { address: \"" + dst + "\" length: " + std::to_string(dlen) + " } } } ";
}
std::string Permit(int seq, const char* src, int slen, const char* dst, int dlen) {
  return Line(seq, "ACL_ACTION_PERMIT", src, slen, dst, dlen);
}
std::string Deny(int seq, const char* src, int slen, const char* dst, int dlen) {
  return Line(seq, "ACL_ACTION_DENY", src, slen, dst, dlen);
}

PolicyBook Build(const v1::IkeConfig& c, std::vector<std::string>* warnings,
                 ReqidAllocator* reqids) {
  return PolicyBook::Build(c, LoadedTrustpoints{}, *reqids, warnings);
}

TEST(PolicyBook, EachPermitLineIsItsOwnChildWithItsOwnReqid) {
  ReqidAllocator reqids;
  std::vector<std::string> warnings;
  PolicyBook b = Build(Config("198.51.100.2", Permit(10, "10.1.0.0", 24, "10.2.0.0", 24) +
                                                  Permit(20, "10.1.1.0", 24, "10.3.0.0", 24)),
                       &warnings, &reqids);
  ASSERT_EQ(b.statics().size(), 2u);
  const ChildPolicy& first = b.statics()[0].child;
  const ChildPolicy& second = b.statics()[1].child;
  EXPECT_EQ(ToString(first.local_ts), "10.1.0.0/24");
  EXPECT_EQ(ToString(first.remote_ts), "10.2.0.0/24");
  EXPECT_EQ(ToString(second.local_ts), "10.1.1.0/24");
  EXPECT_EQ(ToString(second.remote_ts), "10.3.0.0/24");
  EXPECT_NE(first.reqid, second.reqid);
  EXPECT_EQ(first.acl_line, 10u);
  EXPECT_EQ(second.acl_line, 20u);
  EXPECT_LT(first.spd_priority, second.spd_priority);
  EXPECT_EQ(first.spd_priority >> 16, 10u);
  // No cross pair anywhere: 10.1.0.0/24 -> 10.3.0.0/24 is in no policy.
  size_t spd = 0;
  for (const StaticEntry& s : b.statics()) {
    for (const auto& ts : SpdSelectorsOf(s.child.local_ts, s.child.remote_ts)) {
      EXPECT_FALSE(ts.source().address() == "10.1.0.0" && ts.destination().address() == "10.3.0.0");
      ++spd;
    }
  }
  EXPECT_EQ(spd, 2u);  // one outbound selector per line (and one inbound)
  EXPECT_TRUE(b.skips().empty());
  // Reqids stay with their line across a rebuild, even when lines are added.
  PolicyBook again = Build(Config("198.51.100.2", Permit(5, "10.1.2.0", 24, "10.4.0.0", 24) +
                                                      Permit(10, "10.1.0.0", 24, "10.2.0.0", 24) +
                                                      Permit(20, "10.1.1.0", 24, "10.3.0.0", 24)),
                           &warnings, &reqids);
  ASSERT_EQ(again.statics().size(), 3u);
  EXPECT_EQ(again.statics()[1].child.reqid, first.reqid);
  EXPECT_EQ(again.statics()[2].child.reqid, second.reqid);
}

// `initiate mode aggressive` (the entry's isakmp profile): the entry's
// IKEv1 initiators start in Aggressive Mode; others keep Main Mode.
TEST(PolicyBook, AggressiveModeIsAskedForByTheEntry) {
  ReqidAllocator reqids;
  std::vector<std::string> warnings;
  v1::IkeConfig c = Config("198.51.100.2", Permit(10, "10.1.0.0", 24, "10.2.0.0", 24));
  c.mutable_isakmp_policies(0)->set_version(v1::IKE_VERSION_1);
  c.mutable_isakmp_policies(0)->set_encryption(vpnfleet::common::v1::ENCRYPTION_AES_CBC_256);
  EXPECT_FALSE(Build(c, &warnings, &reqids).statics()[0].child.initiate_aggressive);
  c.mutable_crypto_maps(0)->mutable_entries(0)->set_initiate_aggressive(true);
  PolicyBook b = Build(c, &warnings, &reqids);
  ASSERT_EQ(b.statics().size(), 1u);
  EXPECT_TRUE(b.statics()[0].child.initiate_aggressive);
  EXPECT_EQ(b.statics()[0].child.ike_version, 1);
}

TEST(PolicyBook, ThirtyLinesMakeThirtyChildrenAndSixtyPolicies) {
  std::string lines;
  std::vector<std::string> nets;
  for (int i = 0; i < 30; ++i) nets.push_back("10.1." + std::to_string(i) + ".0");
  std::vector<std::string> far;
  for (int i = 0; i < 30; ++i) far.push_back("10.2." + std::to_string(i) + ".0");
  for (int i = 0; i < 30; ++i) {
    lines += Permit(10 * (i + 1), nets[static_cast<size_t>(i)].c_str(), 24,
                    far[static_cast<size_t>(i)].c_str(), 24);
  }
  ReqidAllocator reqids;
  std::vector<std::string> warnings;
  PolicyBook b = Build(Config("198.51.100.2", lines), &warnings, &reqids);
  ASSERT_EQ(b.statics().size(), 30u);
  std::set<uint32_t> ids;
  size_t policies = 0;
  for (const StaticEntry& s : b.statics()) {
    ids.insert(s.child.reqid);
    policies += 2 * SpdSelectorsOf(s.child.local_ts, s.child.remote_ts).size();
  }
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(policies, 60u);  // was 2 * 30 * 30 = 1,800 as a cross product
}

TEST(PolicyBook, DenyLinesAreSkipRulesInTheirPlace) {
  ReqidAllocator reqids;
  std::vector<std::string> warnings;
  PolicyBook b = Build(Config("198.51.100.2", Permit(30, "10.1.0.0", 16, "10.2.0.0", 16) +
                                                  Deny(10, "10.1.9.0", 24, "10.2.0.0", 16) +
                                                  Permit(20, "10.1.0.0", 24, "10.2.0.0", 24)),
                       &warnings, &reqids);
  ASSERT_EQ(b.skips().size(), 1u);
  ASSERT_EQ(b.statics().size(), 2u);
  EXPECT_EQ(ToString(b.skips()[0].local_ts), "10.1.9.0/24");
  // In ACL sequence order: deny 10, permit 20, permit 30.
  EXPECT_LT(b.skips()[0].spd_priority, b.statics()[0].child.spd_priority);
  EXPECT_EQ(b.statics()[0].child.acl_line, 20u);
  EXPECT_LT(b.statics()[0].child.spd_priority, b.statics()[1].child.spd_priority);
  EXPECT_EQ(b.skips()[0].crypto_map, "VPN");
  EXPECT_EQ(b.skips()[0].sequence, 10u);
}

TEST(PolicyBook, RepeatedLinesAreDroppedWithAWarning) {
  ReqidAllocator reqids;
  std::vector<std::string> warnings;
  PolicyBook b = Build(Config("198.51.100.2", Permit(10, "10.1.0.0", 24, "10.2.0.0", 24) +
                                                  Permit(20, "10.1.0.0", 24, "10.2.0.0", 24) +
                                                  Deny(30, "10.1.0.0", 24, "10.2.0.0", 24)),
                       &warnings, &reqids);
  EXPECT_EQ(b.statics().size(), 1u);
  EXPECT_TRUE(b.skips().empty());
  size_t repeated = 0;
  for (const std::string& w : warnings) repeated += w.find("repeats an earlier line") != std::string::npos;
  EXPECT_EQ(repeated, 2u);
}

TEST(PolicyBook, AnAclOfOnlyDenyLinesPermitsNothing) {
  ReqidAllocator reqids;
  std::vector<std::string> warnings;
  PolicyBook b =
      Build(Config("198.51.100.2", Deny(10, "10.1.0.0", 24, "10.2.0.0", 24)), &warnings, &reqids);
  EXPECT_TRUE(b.statics().empty());
  EXPECT_TRUE(b.skips().empty());
  bool said = false;
  for (const std::string& w : warnings) said = said || w.find("permits nothing") != std::string::npos;
  EXPECT_TRUE(said);
}

// --- a responder built from a two-line ACL, against an initiator that
// proposes pairs of its choosing ---

Endpoint Ep(const char* text) {
  Endpoint e;
  e.address = *net::ParseAddress(text);
  return e;
}

struct Outcome {
  std::vector<ChildSa> a_children, b_children;
  std::vector<std::string> a_failures, b_failures;
};

// A starts an IKE SA for its child `index` (then asks for the others with
// CREATE_CHILD_SA); the datagrams go back and forth until both are quiet.
Outcome Negotiate(std::shared_ptr<const SaPolicy> pa, std::shared_ptr<const SaPolicy> pb,
            bool all_children) {
  FakeClock clock;
  SeededRng ra(1), rb(2);
  auto a = IkeSa::NewInitiator({&clock, &ra}, pa, Ep("198.51.100.1"), Ep("198.51.100.2"), 0,
                               std::nullopt);
  std::unique_ptr<IkeSa> b;
  Outcome o;
  std::vector<action::Send> to_b, to_a;
  auto collect = [&](Actions acts, bool from_a) {
    for (Action& act : acts) {
      if (auto* s = std::get_if<action::Send>(&act)) (from_a ? to_b : to_a).push_back(*s);
      if (auto* in = std::get_if<action::InstallChild>(&act)) {
        (from_a ? o.a_children : o.b_children).push_back(in->child);
      }
      if (auto* f = std::get_if<action::Failed>(&act)) {
        (from_a ? o.a_failures : o.b_failures).push_back(f->reason);
      }
    }
  };
  collect(a->Start(), true);
  if (all_children) {
    for (size_t i = 1; i < pa->children.size(); ++i) collect(a->AddChild(i, std::nullopt), true);
  }
  for (int round = 0; round < 50 && (!to_b.empty() || !to_a.empty()); ++round) {
    std::vector<action::Send> batch;
    batch.swap(to_b);
    for (const action::Send& m : batch) {
      if (!b) b = IkeSa::NewResponder({&clock, &rb}, pb, m.remote, m.local);
      collect(b->Receive(m.remote, m.local, m.datagram), false);
    }
    batch.clear();
    batch.swap(to_a);
    for (const action::Send& m : batch) collect(a->Receive(m.remote, m.local, m.datagram), true);
  }
  return o;
}

// IKEv1 `authentication rsa-sig` / `ecdsa-sig`: offered with the method
// of the enrolled key, or not at all without one; rsa-encr with any RSA
// key pair, certificate or not, and the pubkey-chain's keys.
LoadedTrustpoints Enrolled(const std::string& cert) {
  auto pem = [](const std::string& f) {
    return testing::ReadTestData("services/ike/auth/testdata/" + f);
  };
  LoadedTrustpoints t;
  t.credential = *auth::LocalCredential::FromPem("TP", pem(cert + ".key"), pem(cert + ".pem"));
  t.trust = *auth::TrustStore::Make({{"RSA-CA", pem("rsa-ca.pem"), "", false}});
  return t;
}

TEST(PolicyBook, Ikev1SignaturePoliciesFollowTheEnrolledKey) {
  v1::IkeConfig c = Config("198.51.100.2", Permit(10, "10.1.0.0", 24, "10.2.0.0", 24));
  c.clear_isakmp_policies();
  for (auto [priority, method] : {std::pair{10, v1::AUTH_METHOD_RSA_SIG},
                                  std::pair{20, v1::AUTH_METHOD_ECDSA_SIG},
                                  std::pair{30, v1::AUTH_METHOD_RSA_ENCR},
                                  std::pair{40, v1::AUTH_METHOD_PRE_SHARE}}) {
    v1::IsakmpPolicy* p = c.add_isakmp_policies();
    p->set_priority(priority);
    p->set_version(v1::IKE_VERSION_1);
    p->set_authentication(method);
  }
  ReqidAllocator reqids;
  {
    std::vector<std::string> warnings;
    PolicyBook b = PolicyBook::Build(c, Enrolled("rsa-hub"), reqids, &warnings);
    auto policy = b.For(*net::ParseAddress("198.51.100.1"), *net::ParseAddress("198.51.100.2"));
    ASSERT_EQ(policy->ikev1_policies.size(), 3u);
    EXPECT_EQ(policy->ikev1_policies[0].auth, ikev1::kAuthRsaSig);
    EXPECT_EQ(policy->ikev1_policies[1].auth, ikev1::kAuthRsaSig);  // ecdsa-sig, RSA key
    EXPECT_EQ(policy->ikev1_policies[2].auth, ikev1::kAuthPsk);
    EXPECT_NE(policy->ikev1_credential, nullptr);
    ASSERT_EQ(policy->children.size(), 1u);
    EXPECT_EQ(policy->children[0].ike_version, 1);
    std::string all;
    for (const std::string& w : warnings) all += w + "\n";
    EXPECT_NE(all.find("policy 20: authentication ecdsa-sig but the trustpoint's key is RSA"),
              std::string::npos) << all;
    EXPECT_NE(all.find("policy 30: authentication rsa-encr needs an RSA key pair"),
              std::string::npos) << all;
  }
  {
    std::vector<std::string> warnings;
    PolicyBook b = PolicyBook::Build(c, Enrolled("ec-spoke"), reqids, &warnings);
    auto policy = b.For(*net::ParseAddress("198.51.100.1"), *net::ParseAddress("198.51.100.2"));
    ASSERT_EQ(policy->ikev1_policies.size(), 3u);
    EXPECT_EQ(policy->ikev1_policies[0].auth, ikev1::kAuthEcdsa384);  // P-384 key
    EXPECT_EQ(policy->ikev1_policies[1].auth, ikev1::kAuthEcdsa384);
  }
  {
    std::vector<std::string> warnings;
    PolicyBook b = PolicyBook::Build(c, LoadedTrustpoints{}, reqids, &warnings);
    auto policy = b.For(*net::ParseAddress("198.51.100.1"), *net::ParseAddress("198.51.100.2"));
    ASSERT_EQ(policy->ikev1_policies.size(), 1u);  // pre-share only: nothing to sign with
    EXPECT_EQ(policy->ikev1_policies[0].auth, ikev1::kAuthPsk);
    std::string all;
    for (const std::string& w : warnings) all += w + "\n";
    EXPECT_NE(all.find("policy 10: authentication rsa-sig needs an enrolled trustpoint"),
              std::string::npos) << all;
  }
  {  // an RSA key pair without a certificate: rsa-encr and pre-share
    LoadedTrustpoints keys;
    keys.rsa_key = *auth::RsaKeyPair::FromPem(
        "TP", testing::ReadTestData("services/ike/auth/testdata/rsa-spoke.key"));
    v1::RsaPublicKey* k = c.add_rsa_public_keys();
    k->set_address("198.51.100.1");
    k->set_key(keys.rsa_key->public_der());
    c.add_rsa_public_keys()->set_name("broken.example");  // no key: left out
    std::vector<std::string> warnings;
    PolicyBook b = PolicyBook::Build(c, keys, reqids, &warnings);
    auto policy = b.For(*net::ParseAddress("198.51.100.2"), *net::ParseAddress("198.51.100.1"));
    ASSERT_EQ(policy->ikev1_policies.size(), 2u);
    EXPECT_EQ(policy->ikev1_policies[0].auth, ikev1::kAuthRsaEncr);
    EXPECT_EQ(policy->ikev1_policies[1].auth, ikev1::kAuthPsk);
    EXPECT_EQ(policy->ikev1_rsa_key, keys.rsa_key);
    ASSERT_EQ(policy->peer_rsa_keys.size(), 1u);
    EXPECT_EQ(policy->peer_rsa_keys[0].address->ToString(), "198.51.100.1");
  }
}

TEST(PolicyBookResponder, EveryPermittedPairGetsItsOwnChildSa) {
  ReqidAllocator ra, rb;
  std::vector<std::string> w;
  const std::string a_lines =
      Permit(10, "10.1.0.0", 24, "10.2.0.0", 24) + Permit(20, "10.1.1.0", 24, "10.3.0.0", 24);
  const std::string b_lines =
      Permit(10, "10.2.0.0", 24, "10.1.0.0", 24) + Permit(20, "10.3.0.0", 24, "10.1.1.0", 24);
  PolicyBook a = Build(Config("198.51.100.2", a_lines), &w, &ra);
  PolicyBook b = Build(Config("198.51.100.1", b_lines), &w, &rb);
  Outcome o = Negotiate(a.For(Ep("198.51.100.1").address, Ep("198.51.100.2").address),
                  b.For(Ep("198.51.100.2").address, Ep("198.51.100.1").address), true);
  ASSERT_EQ(o.b_children.size(), 2u) << (o.b_failures.empty() ? "" : o.b_failures[0]);
  ASSERT_EQ(o.a_children.size(), 2u);
  EXPECT_EQ(ToString(o.b_children[0].local_ts), "10.2.0.0/24");
  EXPECT_EQ(ToString(o.b_children[1].local_ts), "10.3.0.0/24");
  EXPECT_EQ(ToString(o.b_children[1].remote_ts), "10.1.1.0/24");
  EXPECT_NE(o.b_children[0].reqid, o.b_children[1].reqid);
  EXPECT_NE(o.a_children[0].reqid, o.a_children[1].reqid);
  EXPECT_EQ(o.b_children[1].acl_line, 20u);
}

TEST(PolicyBookResponder, APairNoSingleLinePermitsIsRefused) {
  // B permits 10.2/24<->10.1/24 and 10.3/24<->10.1.1/24. A asks for
  // 10.1.0.0/24 <-> 10.3.0.0/24: its source is in line 10, its destination
  // in line 20, and no line permits the pair.
  ReqidAllocator ra, rb;
  std::vector<std::string> w;
  PolicyBook a = Build(Config("198.51.100.2", Permit(10, "10.1.0.0", 24, "10.3.0.0", 24)), &w, &ra);
  PolicyBook b = Build(Config("198.51.100.1", Permit(10, "10.2.0.0", 24, "10.1.0.0", 24) +
                                                  Permit(20, "10.3.0.0", 24, "10.1.1.0", 24)),
                       &w, &rb);
  Outcome o = Negotiate(a.For(Ep("198.51.100.1").address, Ep("198.51.100.2").address),
                  b.For(Ep("198.51.100.2").address, Ep("198.51.100.1").address), false);
  EXPECT_TRUE(o.b_children.empty());
  EXPECT_TRUE(o.a_children.empty());
  ASSERT_EQ(o.a_failures.size(), 1u);
  EXPECT_EQ(o.a_failures[0], "CHILD_SA TS_UNACCEPTABLE");
}

TEST(PolicyBookResponder, AWiderProposalIsNarrowedToOneLine) {
  ReqidAllocator ra, rb;
  std::vector<std::string> w;
  PolicyBook a = Build(Config("198.51.100.2", Permit(10, "10.1.0.0", 16, "10.0.0.0", 8)), &w, &ra);
  PolicyBook b = Build(Config("198.51.100.1", Permit(10, "10.2.0.0", 24, "10.1.0.0", 24) +
                                                  Permit(20, "10.3.0.0", 24, "10.1.1.0", 24)),
                       &w, &rb);
  Outcome o = Negotiate(a.For(Ep("198.51.100.1").address, Ep("198.51.100.2").address),
                  b.For(Ep("198.51.100.2").address, Ep("198.51.100.1").address), false);
  ASSERT_EQ(o.b_children.size(), 1u);
  EXPECT_EQ(ToString(o.b_children[0].local_ts), "10.2.0.0/24");
  EXPECT_EQ(ToString(o.b_children[0].remote_ts), "10.1.0.0/24");
}

TEST(InitialContact, SiblingsSetUpTogetherStayOlderOnesGo) {
  const absl::Time t = absl::FromUnixSeconds(1000);
  // Up long before the new SA began: the peer lost it (rebooted).
  EXPECT_TRUE(StaleAfterInitialContact(t - absl::Minutes(5), t));
  // Up while the new one was being set up, or a moment before its first
  // message: the peer started both together and keeps both.
  EXPECT_FALSE(StaleAfterInitialContact(t + absl::Milliseconds(3), t));
  EXPECT_FALSE(StaleAfterInitialContact(t - absl::Milliseconds(500), t));
  EXPECT_TRUE(StaleAfterInitialContact(t - kConcurrentSetupGrace - absl::Milliseconds(1), t));
}

}  // namespace
}  // namespace vpnfleet::ike
