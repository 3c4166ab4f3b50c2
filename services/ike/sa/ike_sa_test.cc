// Two IkeSas against each other in memory: a fake clock, a fake network
// that can drop, duplicate and tamper, and every datagram stepped by hand.
#include "services/ike/sa/ike_sa.h"

#include <deque>

#include "common/testing/testdata.h"
#include "gtest/gtest.h"
#include "services/ike/sa/notify.h"
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

v2::Proposal IkeProp(cv1::EncryptionAlgorithm e, cv1::PrfAlgorithm h, cv1::DhGroup g) {
  iv1::IsakmpPolicy p;
  p.set_priority(10);
  p.set_encryption(e);
  p.set_hash(h);
  p.set_group(g);
  return *IkeProposalOf(p);
}

v2::Proposal EspProp(cv1::EncryptionAlgorithm e, cv1::IntegrityAlgorithm i, uint16_t pfs = 0) {
  iv1::TransformSet t;
  t.set_name("TS");
  t.set_esp_encryption(e);
  t.set_esp_integrity(i);
  return *EspProposalOf(t, pfs);
}

std::shared_ptr<SaPolicy> Policy(const char* local_addr, const char* local_lan,
                                 const char* remote_lan, const char* peer, const char* psk) {
  auto p = std::make_shared<SaPolicy>();
  p->ike_proposals = {IkeProp(cv1::ENCRYPTION_AES_GCM_128, cv1::PRF_HMAC_SHA2_256,
                              cv1::DH_GROUP_CURVE25519)};
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
  c.proposals = {EspProp(cv1::ENCRYPTION_AES_GCM_128, cv1::INTEGRITY_UNSPECIFIED)};
  c.transform_sets = {"TS"};
  c.reqid = 1;
  p->children.push_back(c);
  return p;
}

struct Side {
  std::shared_ptr<IkeSession> sa;                   // the current IKE SA
  std::vector<std::shared_ptr<IkeSession>> others;  // re-keyed ones and redundant successors
  std::vector<action::InstallChild> installed;
  std::vector<action::DeleteChild> deleted;
  std::vector<std::string> failures;
  std::vector<std::string> details;
  std::vector<auth::OcspQuery> asked;  // CheckRevocation
  int established = 0;
  int rekeyed = 0;
  // The SA of this side a datagram is for, by its SPIs (as the manager routes).
  IkeSession* For(const std::string& d) {
    if (d.size() < 16) return sa.get();
    uint64_t i = 0, r = 0;
    for (int k = 0; k < 8; ++k) {
      i = (i << 8) | static_cast<uint8_t>(d[static_cast<size_t>(k)]);
      r = (r << 8) | static_cast<uint8_t>(d[static_cast<size_t>(8 + k)]);
    }
    if (sa && sa->spi_i() == i && (r == 0 || sa->spi_r() == r)) return sa.get();
    for (auto& o : others) {
      if (o->spi_i() == i && o->spi_r() == r) return o.get();
    }
    return sa.get();
  }
};

// A fake network between A (the initiator) and B. `a_seen` and `b_seen`
// are the addresses each side's packets appear to come from at the other
// (different from the sender's own when there is a NAT).
class Net {
 public:
  Net(std::shared_ptr<SaPolicy> pa, std::shared_ptr<SaPolicy> pb)
      : pa_(std::move(pa)), pb_(std::move(pb)) {}

  void Start(Endpoint a_local, Endpoint b_addr) {
    a_local_ = a_local;
    b_local_ = b_addr;
    a.sa = IkeSa::NewInitiator({&clock, &rng_a}, pa_, a_local, b_addr, 0, std::nullopt);
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
      } else if (std::holds_alternative<action::Established>(act)) {
        ++s.established;
      } else if (auto* ask = std::get_if<action::CheckRevocation>(&act)) {
        s.asked.push_back(ask->query);
      } else if (auto* rk = std::get_if<action::Rekeyed>(&act)) {
        ++s.rekeyed;
        if (rk->redundant) {
          s.others.push_back(rk->successor);
          Collect(s, rk->successor->Close("rekey collision"), from_a);
        } else {
          s.others.push_back(s.sa);
          s.sa = rk->successor;
        }
      }
    }
  }

  // Delivers the oldest datagram A→B; returns false if none.
  bool ToB(bool drop = false) {
    if (a_to_b.empty()) return false;
    action::Send m = a_to_b.front();
    a_to_b.pop_front();
    if (drop || m.nat_keepalive) return true;
    Endpoint from = m.local;
    if (nat_a) from = Endpoint{nat_a->address, m.local.port == kNatTPort ? uint16_t(31001) : uint16_t(31000)};
    if (!b.sa) b.sa = IkeSa::NewResponder({&clock, &rng_b}, pb_, m.remote, from);
    last_to_b = m.datagram;
    Collect(b, b.For(m.datagram)->Receive(m.remote, from, m.datagram), false);
    return true;
  }
  bool ToA(bool drop = false) {
    if (b_to_a.empty()) return false;
    action::Send m = b_to_a.front();
    b_to_a.pop_front();
    if (drop || m.nat_keepalive) return true;
    // Through a NAT, A sees B's reply at its own private address.
    Endpoint to = nat_a ? Endpoint{a_local_.address, m.remote.port == 31001 ? kNatTPort : kIkePort}
                        : m.remote;
    Collect(a, a.For(m.datagram)->Receive(to, m.local, m.datagram), true);
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
    for (Side* s : {&a, &b}) {
      for (size_t i = 0; i < s->others.size(); ++i) {
        auto o = s->others[i];
        Collect(*s, o->Tick(), s == &a);
      }
    }
  }

  FakeClock clock;
  SeededRng rng_a{1}, rng_b{2};
  Side a, b;
  std::deque<action::Send> a_to_b, b_to_a;
  std::optional<Endpoint> nat_a;
  std::string last_to_b;

 private:
  std::shared_ptr<SaPolicy> pa_, pb_;
  Endpoint a_local_, b_local_;
};

std::shared_ptr<SaPolicy> A() {
  return Policy("198.51.100.1", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.2/32", "s3cret-psk");
}
std::shared_ptr<SaPolicy> B() {
  return Policy("198.51.100.2", "10.2.0.0/24", "10.1.0.0/24", "198.51.100.1/32", "s3cret-psk");
}

void ExpectPaired(const ChildSa& x, const ChildSa& y) {
  EXPECT_EQ(x.spi_in, y.spi_out);
  EXPECT_EQ(x.spi_out, y.spi_in);
  EXPECT_EQ(x.encr_in.view(), y.encr_out.view());
  EXPECT_EQ(x.encr_out.view(), y.encr_in.view());
  EXPECT_EQ(x.integ_in.view(), y.integ_out.view());
  EXPECT_NE(x.encr_in.view(), x.encr_out.view());
}

TEST(IkeSa, PskEstablishesWithFirstChild) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  ASSERT_EQ(n.a.sa->state(), IkeState::kInitSent);
  n.ToB();
  EXPECT_EQ(n.b.sa->state(), IkeState::kInitDone);
  n.ToA();
  EXPECT_EQ(n.a.sa->state(), IkeState::kAuthSent);
  n.ToB();
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
  n.ToA();
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  const ChildSa& ca = n.a.installed[0].child;
  const ChildSa& cb = n.b.installed[0].child;
  ExpectPaired(ca, cb);
  EXPECT_EQ(ca.encr_in.size(), 20u);  // AES-128 key + 4-octet salt
  EXPECT_EQ(ca.suite.encr, 20);
  EXPECT_FALSE(ca.udp_encap);
  EXPECT_EQ(ToString(ca.local_ts), "10.1.0.0/24");
  EXPECT_EQ(ToString(cb.local_ts), "10.2.0.0/24");
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "198.51.100.1");
  EXPECT_EQ(IdentityText(n.a.sa->remote_id()), "198.51.100.2");
  EXPECT_EQ(n.a.sa->spi_r(), n.b.sa->spi_r());
  EXPECT_TRUE(n.a.failures.empty());
  EXPECT_TRUE(n.b.failures.empty());
}

struct SuiteCase {
  cv1::EncryptionAlgorithm ike_encr;
  cv1::PrfAlgorithm prf;
  cv1::DhGroup group;
  cv1::EncryptionAlgorithm esp_encr;
  cv1::IntegrityAlgorithm esp_integ;
  size_t encr_key, integ_key;
};

class IkeSaSuites : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(IkeSaSuites, Establish) {
  const SuiteCase& c = GetParam();
  auto pa = A(), pb = B();
  for (auto* p : {pa.get(), pb.get()}) {
    p->ike_proposals = {IkeProp(c.ike_encr, c.prf, c.group)};
    p->children[0].proposals = {EspProp(c.esp_encr, c.esp_integ)};
  }
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ASSERT_EQ(n.b.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
  EXPECT_EQ(n.a.installed[0].child.encr_out.size(), c.encr_key);
  EXPECT_EQ(n.a.installed[0].child.integ_out.size(), c.integ_key);
  EXPECT_EQ(n.a.sa->suite().dh, static_cast<uint16_t>(c.group));
}

INSTANTIATE_TEST_SUITE_P(
    All, IkeSaSuites,
    ::testing::Values(
        SuiteCase{cv1::ENCRYPTION_AES_CBC_256, cv1::PRF_HMAC_SHA2_256, cv1::DH_GROUP_MODP_2048,
                  cv1::ENCRYPTION_AES_CBC_128, cv1::INTEGRITY_HMAC_SHA2_256_128, 16, 32},
        SuiteCase{cv1::ENCRYPTION_AES_GCM_256, cv1::PRF_HMAC_SHA2_384, cv1::DH_GROUP_ECP_256,
                  cv1::ENCRYPTION_AES_GCM_256, cv1::INTEGRITY_UNSPECIFIED, 36, 0},
        SuiteCase{cv1::ENCRYPTION_CHACHA20_POLY1305, cv1::PRF_HMAC_SHA2_512,
                  cv1::DH_GROUP_ECP_384, cv1::ENCRYPTION_CHACHA20_POLY1305,
                  cv1::INTEGRITY_UNSPECIFIED, 36, 0},
        SuiteCase{cv1::ENCRYPTION_AES_CBC_128, cv1::PRF_HMAC_SHA1, cv1::DH_GROUP_CURVE25519,
                  cv1::ENCRYPTION_AES_CBC_256, cv1::INTEGRITY_HMAC_SHA1_96, 32, 20}));

TEST(IkeSa, WrongPskFailsBothSidesWithoutChildren) {
  auto pb = B();
  pb->psks[0].key = SecretBytes("another-key");
  Net n(A(), pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.b.failures.size(), 1u);
  EXPECT_EQ(n.b.failures[0], "AUTHENTICATION_FAILED");
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_TRUE(n.a.installed.empty());
  EXPECT_TRUE(n.b.installed.empty());
}

// --- certificate authentication (test PKI: services/ike/auth/testdata) ---

std::string TestPem(const std::string& name) {
  return testing::ReadTestData("services/ike/auth/testdata/" + name);
}

// Signs with `cert` (its key file of the same name; `extra` appended to the
// chain) and trusts the RSA CA (with its CRL) and the EC root.
void UseCertificate(SaPolicy& p, const std::string& cert, const std::string& extra = "",
                    bool check_crl = false) {
  auto c = auth::LocalCredential::FromPem("TP", TestPem(cert + ".key"),
                                          TestPem(cert + ".pem") + extra);
  ASSERT_TRUE(c.ok()) << c.status();
  p.credential = *c;
  auto t = auth::TrustStore::Make({{"RSA-CA", TestPem("rsa-ca.pem"), TestPem("rsa-ca.crl"), check_crl},
                                   {"EC-CA", TestPem("ec-root.pem"), "", false}});
  ASSERT_TRUE(t.ok()) << t.status();
  p.trust = *t;
  p.psks.clear();
}

TEST(IkeSaCertificates, RsaBothWaysWithAddressIdentities) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  UseCertificate(*pb, "rsa-spoke");
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished) << (n.a.failures.empty() ? "" : n.a.details[0]);
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished) << (n.b.failures.empty() ? "" : n.b.details[0]);
  // Both announced SIGNATURE_HASH_ALGORITHMS, so both sign per RFC 7427.
  EXPECT_EQ(n.a.sa->local_auth_method(), auth::kAuthDigitalSignature);
  EXPECT_EQ(n.b.sa->remote_auth_method(), auth::kAuthDigitalSignature);
  EXPECT_EQ(n.a.sa->remote_subject(), "O=vpnfleet,CN=spoke.example.net");
  EXPECT_EQ(n.b.sa->remote_subject(), "O=vpnfleet,CN=hub.example.net");
  EXPECT_EQ(n.a.installed.size(), 1u);
  EXPECT_EQ(n.b.installed.size(), 1u);
}

// RFC 7383: both announce fragmentation; with a 600-octet limit the
// certificate-carrying IKE_AUTH messages go as SKF fragments, each within
// the limit, and are reassembled; a lost fragment is sent again with the
// rest; a peer that did not announce support gets whole messages.
TEST(IkeSaFragmentation, CertificateAuthCrossesInFragments) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  UseCertificate(*pb, "rsa-spoke");
  pa->fragment_size = 600;
  pb->fragment_size = 600;
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  ASSERT_TRUE(n.ToB());  // IKE_SA_INIT
  ASSERT_TRUE(n.ToA());
  ASSERT_GT(n.a_to_b.size(), 2u) << "IKE_AUTH request in fragments";
  const size_t fragments = n.a_to_b.size();
  for (const auto& m : n.a_to_b) {
    EXPECT_LE(m.datagram.size() + 28, 600u);
    EXPECT_EQ(static_cast<uint8_t>(m.datagram[16]), 53);  // SKF
  }
  // The second fragment is lost: nothing is established until A
  // retransmits, and then all fragments go again.
  n.ToB();
  n.ToB(/*drop=*/true);
  while (n.ToB()) {
  }
  EXPECT_EQ(n.b.sa->state(), IkeState::kInitDone);
  n.clock.Advance(absl::Seconds(3));
  n.Tick();
  EXPECT_EQ(n.a_to_b.size(), fragments);
  n.Run();
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished) << (n.a.failures.empty() ? "" : n.a.failures[0]);
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.a.sa->remote_subject(), "O=vpnfleet,CN=spoke.example.net");
  EXPECT_EQ(n.a.installed.size(), 1u);
  EXPECT_EQ(n.b.installed.size(), 1u);
}

TEST(IkeSaFragmentation, NotUsedWhenThePeerDoesNotAnnounceIt) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  UseCertificate(*pb, "rsa-spoke");
  pa->fragment_size = 600;
  pb->fragment_size = 0;  // B does not fragment, so neither does A
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.ToB();
  n.ToA();
  ASSERT_EQ(n.a_to_b.size(), 1u);
  EXPECT_EQ(static_cast<uint8_t>(n.a_to_b.front().datagram[16]), 46);  // SK
  EXPECT_GT(n.a_to_b.front().datagram.size(), 600u);
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
}

TEST(IkeSaCertificates, EcdsaWithIntermediateAndDnIdentities) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "ec-hub", TestPem("ec-sub.pem"));
  UseCertificate(*pb, "ec-spoke", TestPem("ec-sub.pem"));
  pa->local_id = pa->credential->DnIdentity();
  pb->local_id = pb->credential->DnIdentity();
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished) << (n.a.failures.empty() ? "" : n.a.details[0]);
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished) << (n.b.failures.empty() ? "" : n.b.details[0]);
  EXPECT_EQ(IdentityText(n.b.sa->remote_id()), "O=vpnfleet,CN=hub.example.net");
  EXPECT_EQ(IdentityText(n.a.sa->remote_id()), "O=vpnfleet,CN=spoke.example.net");
}

TEST(IkeSaCertificates, OneSideSignsTheOtherUsesAPreSharedKey) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  pa->psks = A()->psks;  // to check the responder's PSK
  pb->trust = *auth::TrustStore::Make({{"RSA-CA", TestPem("rsa-ca.pem"), "", false}});
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished) << (n.b.failures.empty() ? "" : n.b.details[0]);
  EXPECT_EQ(n.b.sa->remote_auth_method(), auth::kAuthDigitalSignature);
  EXPECT_EQ(n.a.sa->remote_auth_method(), auth::kAuthSharedKey);
}

TEST(IkeSaCertificates, UntrustedCertificateIsRefused) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  UseCertificate(*pb, "rogue-spoke");  // same names, CA the hub does not trust
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "CERTIFICATE_UNTRUSTED");
  EXPECT_NE(n.a.details[0].find("unable to get local issuer"), std::string::npos) << n.a.details[0];
  EXPECT_TRUE(n.a.installed.empty());
}

TEST(IkeSaCertificates, RevokedCertificateIsRefusedWithCrlCheck) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub", "", /*check_crl=*/true);
  UseCertificate(*pb, "rsa-revoked");
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "CERTIFICATE_UNTRUSTED");
  EXPECT_NE(n.a.details[0].find("revoked"), std::string::npos) << n.a.details[0];
}

// `revocation-check ocsp` (RFC 6960): the side that checks asks once,
// IKE_AUTH waits for the verdict (the peer's retransmissions meanwhile are
// ignored, not answered twice), then goes on as the cache says.
std::shared_ptr<auth::OcspCache> UseOcsp(SaPolicy& p, std::vector<auth::Revocation> methods) {
  auto cache = std::make_shared<auth::OcspCache>();
  auth::TrustStore::TrustpointPem tp{"RSA-CA", TestPem("rsa-ca.pem"), "", false};
  tp.revocation = std::move(methods);
  tp.ocsp_url = "http://192.0.2.9/ocsp";
  p.trust = *auth::TrustStore::Make({tp}, cache);
  return cache;
}

// A hub (A, initiator) and a spoke (B) with certificates, the side that
// checks OCSP given `methods`; run until B has IKE_AUTH (in fragments).
struct OcspNet {
  std::shared_ptr<auth::OcspCache> cache;
  std::unique_ptr<Net> net;
};
OcspNet StartOcsp(bool b_checks, std::vector<auth::Revocation> methods) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  UseCertificate(*pb, "rsa-spoke");
  OcspNet o;
  o.cache = UseOcsp(b_checks ? *pb : *pa, std::move(methods));
  o.net = std::make_unique<Net>(pa, pb);
  o.net->Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  o.net->ToB();
  o.net->ToA();
  while (o.net->ToB()) {  // IKE_AUTH, in fragments
  }
  return o;
}

void Answer(OcspNet& o, const auth::OcspQuery& q, auth::OcspVerdict v, const std::string& detail = "") {
  o.cache->Put(q.key, {v, o.net->clock.Now() + absl::Hours(1), detail}, o.net->clock.Now());
}

TEST(IkeSaOcsp, ResponderWaitsForTheVerdictThenEstablishes) {
  OcspNet o = StartOcsp(true, {auth::Revocation::kOcsp});
  Net& n = *o.net;
  ASSERT_EQ(n.b.asked.size(), 1u);
  EXPECT_EQ(n.b.asked[0].url, "http://192.0.2.9/ocsp");
  EXPECT_TRUE(n.b_to_a.empty());
  EXPECT_EQ(n.b.sa->state(), IkeState::kInitDone);
  // A retransmits; B still waits and asks nothing more.
  n.clock.Advance(absl::Seconds(3));
  n.Collect(n.a, n.a.sa->Tick(), true);
  while (n.ToB()) {
  }
  EXPECT_TRUE(n.b_to_a.empty());
  EXPECT_EQ(n.b.asked.size(), 1u);
  Answer(o, n.b.asked[0], auth::OcspVerdict::kGood);
  n.Collect(n.b, n.b.sa->RevocationAnswered(), false);
  n.Run();
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished) << (n.b.failures.empty() ? "" : n.b.details[0]);
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.a.installed.size(), 1u);
  EXPECT_EQ(n.b.installed.size(), 1u);
}

TEST(IkeSaOcsp, RevokedByOcspIsRefused) {
  OcspNet o = StartOcsp(true, {auth::Revocation::kOcsp, auth::Revocation::kNone});
  Net& n = *o.net;
  ASSERT_EQ(n.b.asked.size(), 1u);
  Answer(o, n.b.asked[0], auth::OcspVerdict::kRevoked, "revoked (keyCompromise)");
  n.Collect(n.b, n.b.sa->RevocationAnswered(), false);
  n.Run();
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.b.failures.size(), 1u);
  EXPECT_EQ(n.b.failures[0], "CERTIFICATE_UNTRUSTED");
  EXPECT_NE(n.b.details[0].find("keyCompromise"), std::string::npos) << n.b.details[0];
  EXPECT_EQ(n.a.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_TRUE(n.b.installed.empty());
}

TEST(IkeSaOcsp, NoVerdictInTimeIsJudgedWithout) {
  OcspNet o = StartOcsp(true, {auth::Revocation::kOcsp});
  Net& n = *o.net;
  ASSERT_EQ(n.b.asked.size(), 1u);
  EXPECT_EQ(n.b.sa->NextDeadline(), n.clock.Now() + kRevocationWait);
  n.clock.Advance(kRevocationWait);
  n.Collect(n.b, n.b.sa->Tick(), false);
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.b.failures.size(), 1u);
  EXPECT_EQ(n.b.failures[0], "CERTIFICATE_UNTRUSTED");
  EXPECT_NE(n.b.details[0].find("revocation status unknown"), std::string::npos) << n.b.details[0];
}

TEST(IkeSaOcsp, InitiatorWaitsForTheResponderCertificatesVerdict) {
  OcspNet o = StartOcsp(false, {auth::Revocation::kOcsp});
  Net& n = *o.net;
  while (n.ToA()) {  // IKE_AUTH response
  }
  ASSERT_EQ(n.a.asked.size(), 1u);
  EXPECT_EQ(n.a.sa->state(), IkeState::kAuthSent);
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
  Answer(o, n.a.asked[0], auth::OcspVerdict::kGood);
  n.Collect(n.a, n.a.sa->RevocationAnswered(), true);
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished) << (n.a.failures.empty() ? "" : n.a.details[0]);
  EXPECT_EQ(n.a.installed.size(), 1u);
}

TEST(IkeSaCertificates, IdentityNotInTheCertificateIsRefused) {
  auto pa = A(), pb = B();
  UseCertificate(*pa, "rsa-hub");
  UseCertificate(*pb, "rsa-spoke");
  pa->local_id = FqdnIdentity("spoke.example.net");  // the hub claims the spoke's name
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.b.failures.size(), 1u);
  EXPECT_EQ(n.b.failures[0], "ID_MISMATCH");
  EXPECT_EQ(n.a.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_TRUE(n.b.installed.empty());
}

TEST(IkeSaCertificates, SignatureWithoutTrustpointIsRefused) {
  auto pa = A();
  UseCertificate(*pa, "rsa-hub");
  Net n(pa, B());  // B has only its pre-shared key
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.b.failures[0], "AUTHENTICATION_FAILED");
  EXPECT_NE(n.b.details[0].find("no trustpoint"), std::string::npos);
}

TEST(IkeSa, NoCommonProposal) {
  auto pb = B();
  pb->ike_proposals = {IkeProp(cv1::ENCRYPTION_AES_CBC_256, cv1::PRF_HMAC_SHA2_512,
                               cv1::DH_GROUP_MODP_4096)};
  Net n(A(), pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "NO_PROPOSAL_CHOSEN");
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
}

TEST(IkeSa, InvalidKeRetryWithTheResponderGroup) {
  auto pa = A(), pb = B();
  pa->ike_proposals = {IkeProp(cv1::ENCRYPTION_AES_GCM_128, cv1::PRF_HMAC_SHA2_256,
                               cv1::DH_GROUP_CURVE25519),
                       IkeProp(cv1::ENCRYPTION_AES_GCM_128, cv1::PRF_HMAC_SHA2_256,
                               cv1::DH_GROUP_ECP_256)};
  pb->ike_proposals = {IkeProp(cv1::ENCRYPTION_AES_GCM_128, cv1::PRF_HMAC_SHA2_256,
                               cv1::DH_GROUP_ECP_256)};
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.ToB();  // KE for group 31; B wants 19 and keeps no state
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  n.b.sa.reset();  // what the manager does with a dead responder
  n.ToA();  // A retries with group 19
  EXPECT_EQ(n.a.sa->state(), IkeState::kInitSent);
  n.Run();
  EXPECT_EQ(n.a.sa->stats().dropped, 0u);
  for (auto& f : n.a.failures) ADD_FAILURE() << f;
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.a.sa->suite().dh, 19);
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
}

TEST(IkeSa, LostRequestIsRetransmittedAndDuplicateAnsweredFromCache) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.ToB(/*drop=*/true);
  n.clock.Advance(absl::Seconds(2));
  n.Tick();
  EXPECT_EQ(n.a.sa->stats().retransmits, 1u);
  n.ToB();
  n.ToA();
  // IKE_AUTH reaches B, its answer is lost; A retransmits; B answers from
  // its cache without processing the request twice.
  n.ToB();
  ASSERT_EQ(n.b.installed.size(), 1u);
  n.ToA(/*drop=*/true);
  n.clock.Advance(absl::Seconds(2));
  n.Tick();
  n.ToB();
  EXPECT_EQ(n.b.installed.size(), 1u);
  EXPECT_EQ(n.b.sa->stats().retransmits, 1u);
  n.ToA();
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  ASSERT_EQ(n.a.installed.size(), 1u);
  ExpectPaired(n.a.installed[0].child, n.b.installed[0].child);
}

TEST(IkeSa, TamperedMessageIsDroppedAndChangesNothing) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.ToB();
  n.ToA();
  ASSERT_FALSE(n.a_to_b.empty());
  action::Send auth = n.a_to_b.front();
  n.a_to_b.front().datagram[auth.datagram.size() - 5] ^= 0x01;
  n.ToB();
  EXPECT_EQ(n.b.sa->state(), IkeState::kInitDone);
  EXPECT_EQ(n.b.sa->stats().dropped, 1u);
  EXPECT_TRUE(n.b_to_a.empty());
  n.a_to_b.push_back(auth);  // the genuine one still works
  n.Run();
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
}

TEST(IkeSa, PeersGiveUpAfterRetransmitsWithBackoff) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  absl::Duration waited;
  for (int i = 0; i < 10 && n.a.sa->state() != IkeState::kDead; ++i) {
    const absl::Duration step = n.a.sa->NextDeadline() - n.clock.Now();
    waited += step;
    n.clock.Advance(step);
    n.Tick();
  }
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.a.sa->stats().retransmits, 4u);
  EXPECT_EQ(waited, absl::Seconds(2 + 4 + 8 + 16 + 32));
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "TIMEOUT");
}

TEST(IkeSa, NatIsDetectedAndIkeMovesTo4500WithUdpEncapsulatedChildren) {
  auto pb = B();
  pb->psks[0].address = *net::ParseCidr("203.0.113.0/24");
  Net n(A(), pb);
  n.nat_a = Ep("203.0.113.7");
  n.Start(Ep("192.168.1.2"), Ep("198.51.100.2"));
  n.ToB();
  n.ToA();
  EXPECT_TRUE(n.a.sa->nat_local());
  EXPECT_FALSE(n.a.sa->nat_remote());
  ASSERT_FALSE(n.a_to_b.empty());
  EXPECT_EQ(n.a_to_b.front().local.port, kNatTPort);
  EXPECT_EQ(n.a_to_b.front().remote.port, kNatTPort);
  n.Run();
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished);
  EXPECT_TRUE(n.b.sa->nat_remote());
  EXPECT_EQ(n.b.sa->remote().port, 31001);
  ASSERT_EQ(n.a.installed.size(), 1u);
  EXPECT_TRUE(n.a.installed[0].child.udp_encap);
  EXPECT_TRUE(n.b.installed[0].child.udp_encap);
  EXPECT_EQ(n.b.installed[0].child.remote.port, 31001);
  // A keeps its NAT mapping open.
  n.clock.Advance(absl::Seconds(21));
  n.Tick();
  bool keepalive = false;
  for (const auto& m : n.a_to_b) keepalive |= m.nat_keepalive && m.datagram == "\xff";
  EXPECT_TRUE(keepalive);
}

TEST(IkeSa, ResponderNarrowsSelectors) {
  auto pa = A();
  pa->children[0].local_ts = {Ts("10.1.0.0/16")};
  pa->children[0].remote_ts = {Ts("10.2.0.0/16")};
  Net n(pa, B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  EXPECT_EQ(ToString(n.a.installed[0].child.local_ts), "10.1.0.0/24");
  EXPECT_EQ(ToString(n.a.installed[0].child.remote_ts), "10.2.0.0/24");
}

TEST(IkeSa, DisjointSelectorsLeaveTheIkeSaUpWithoutChild) {
  auto pa = A();
  pa->children[0].remote_ts = {Ts("10.9.0.0/24")};
  Net n(pa, B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_TRUE(n.a.installed.empty());
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "CHILD_SA TS_UNACCEPTABLE");
}

TEST(IkeSa, CreateChildSaWithPfsAndRekeyThenDelete) {
  auto pa = A(), pb = B();
  for (auto* p : {pa.get(), pb.get()}) {
    ChildPolicy c = p->children[0];
    c.sequence = 20;
    c.reqid = 2;
    c.pfs_group = 19;
    c.proposals = {EspProp(cv1::ENCRYPTION_AES_CBC_256, cv1::INTEGRITY_HMAC_SHA2_256_128, 19)};
    std::swap(c.local_ts, c.remote_ts);
    p->children.push_back(c);
  }
  // Second entry: 10.1.1.0/24 <-> 10.2.1.0/24.
  pa->children[1].local_ts = {Ts("10.1.1.0/24")};
  pa->children[1].remote_ts = {Ts("10.2.1.0/24")};
  pb->children[1].local_ts = {Ts("10.2.1.0/24")};
  pb->children[1].remote_ts = {Ts("10.1.1.0/24")};
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  n.Collect(n.a, n.a.sa->AddChild(1, std::nullopt), true);
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 2u);
  ASSERT_EQ(n.b.installed.size(), 2u);
  const ChildSa& second = n.a.installed[1].child;
  EXPECT_EQ(second.suite.dh, 19);
  EXPECT_EQ(second.sequence, 20u);
  ExpectPaired(second, n.b.installed[1].child);

  // Rekey the second child: a new pair with fresh keys, the old one deleted
  // on both sides.
  const uint32_t old_in = second.spi_in;
  n.Collect(n.a, n.a.sa->RekeyChild(old_in), true);
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 3u);
  ASSERT_EQ(n.b.installed.size(), 3u);
  EXPECT_EQ(n.a.installed[2].replaces_spi_in, old_in);
  EXPECT_FALSE(n.a.installed[2].defer_outbound);
  EXPECT_TRUE(n.b.installed[2].defer_outbound);  // B answered: it waits for A's Delete
  ExpectPaired(n.a.installed[2].child, n.b.installed[2].child);
  EXPECT_NE(n.a.installed[2].child.encr_out.view(), second.encr_out.view());
  ASSERT_EQ(n.a.deleted.size(), 1u);
  EXPECT_EQ(n.a.deleted[0].spi_in, old_in);
  ASSERT_EQ(n.b.deleted.size(), 1u);
  EXPECT_EQ(n.b.deleted[0].spi_out, old_in);
  EXPECT_EQ(n.a.sa->children().size(), 2u);
  EXPECT_EQ(n.b.sa->children().size(), 2u);
  EXPECT_EQ(n.a.sa->stats().rekeys, 1u);

  // B deletes the first child; then A deletes the IKE SA.
  n.Collect(n.b, n.b.sa->CloseChild(n.b.installed[0].child.spi_in, "operator"), false);
  n.Run();
  EXPECT_EQ(n.a.sa->children().size(), 1u);
  EXPECT_EQ(n.b.sa->children().size(), 1u);
  n.Collect(n.a, n.a.sa->Close("clear crypto session"), true);
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  EXPECT_TRUE(n.b.sa->children().empty());
  EXPECT_EQ(n.b.deleted.size(), 3u);
}

// §2.18: after an IKE rekey both sides run one successor with new SPIs,
// the same children (nothing re-installed), and the old SA is gone.
void ExpectRekeyed(Net& n, uint64_t old_spi_i, uint64_t old_spi_r) {
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished);
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.a.sa->spi_i(), n.b.sa->spi_i());
  EXPECT_EQ(n.a.sa->spi_r(), n.b.sa->spi_r());
  EXPECT_NE(n.a.sa->spi_i(), old_spi_i);
  EXPECT_NE(n.a.sa->spi_r(), old_spi_r);
  EXPECT_EQ(n.a.sa->children().size(), 1u);
  EXPECT_EQ(n.b.sa->children().size(), 1u);
  EXPECT_EQ(n.a.installed.size(), 1u);  // nothing new in the dataplane
  EXPECT_TRUE(n.a.deleted.empty());
  EXPECT_TRUE(n.b.deleted.empty());
  for (Side* s : {&n.a, &n.b}) {
    for (auto& o : s->others) EXPECT_EQ(o->state(), IkeState::kDead);
  }
  // The new keys work both ways: a CHILD rekey over the successor.
  const uint32_t in = n.a.sa->children()[0].spi_in;
  n.Collect(n.a, n.a.sa->RekeyChild(in), true);
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 2u);
  ASSERT_EQ(n.b.installed.size(), 2u);
  ExpectPaired(n.a.installed[1].child, n.b.installed[1].child);
}

TEST(IkeSaRekey, InitiatorRekeysTheIkeSa) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  const uint64_t spi_i = n.a.sa->spi_i(), spi_r = n.a.sa->spi_r();
  n.Collect(n.a, n.a.sa->RekeyIke(), true);
  n.Run();
  EXPECT_EQ(n.a.rekeyed, 1);
  EXPECT_EQ(n.b.rekeyed, 1);
  EXPECT_TRUE(n.a.sa->initiator());
  ExpectRekeyed(n, spi_i, spi_r);
}

TEST(IkeSaRekey, ResponderRekeysAndBecomesTheNewInitiator) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  const uint64_t spi_i = n.a.sa->spi_i(), spi_r = n.a.sa->spi_r();
  n.Collect(n.b, n.b.sa->RekeyIke(), false);
  n.Run();
  EXPECT_TRUE(n.b.sa->initiator());
  EXPECT_FALSE(n.a.sa->initiator());
  // The SPIs swap sides: B's new SPI is the initiator's.
  EXPECT_EQ(n.a.sa->spi_i(), n.b.sa->spi_i());
  ASSERT_EQ(n.a.sa->state(), IkeState::kEstablished);
  ASSERT_EQ(n.b.sa->state(), IkeState::kEstablished);
  EXPECT_NE(n.a.sa->spi_i(), spi_i);
  EXPECT_NE(n.a.sa->spi_r(), spi_r);
  // Delete over the successor reaches the peer.
  n.Collect(n.a, n.a.sa->Close("operator"), true);
  n.Run();
  EXPECT_EQ(n.b.sa->state(), IkeState::kDead);
  EXPECT_EQ(n.b.deleted.size(), 1u);
}

TEST(IkeSaRekey, SoftLifetimeStartsTheRekeyBeforeTheHardOne) {
  auto pa = A(), pb = B();
  pa->ike_lifetime = absl::Hours(1);
  pb->ike_lifetime = absl::Hours(8);
  pa->children[0].lifetime_seconds = pb->children[0].lifetime_seconds = 8 * 3600;
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  const uint64_t spi_i = n.a.sa->spi_i(), spi_r = n.a.sa->spi_r();
  // 90% of A's jittered lifetime is at most 54 minutes.
  for (int i = 0; i < 55; ++i) {
    n.clock.Advance(absl::Minutes(1));
    n.Tick();
    n.Run();
  }
  EXPECT_EQ(n.a.rekeyed, 1);
  EXPECT_TRUE(n.a.failures.empty());
  EXPECT_GT(n.a.sa->expires_at(), n.clock.Now() + absl::Minutes(50));
  ExpectRekeyed(n, spi_i, spi_r);
}

TEST(IkeSaRekey, SimultaneousRekeysLeaveOneSaOnBothSides) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  const uint64_t spi_i = n.a.sa->spi_i(), spi_r = n.a.sa->spi_r();
  // Both requests cross on the wire.
  n.Collect(n.a, n.a.sa->RekeyIke(), true);
  n.Collect(n.b, n.b.sa->RekeyIke(), false);
  n.Run();
  for (int i = 0; i < 20; ++i) {  // a refused side retries after a few seconds
    n.clock.Advance(absl::Seconds(1));
    n.Tick();
    n.Run();
  }
  ExpectRekeyed(n, spi_i, spi_r);
  EXPECT_TRUE(n.a.failures.empty());
  EXPECT_TRUE(n.b.failures.empty());
}

TEST(IkeSaRekey, LostRekeyRequestIsRetransmitted) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  const uint64_t spi_i = n.a.sa->spi_i(), spi_r = n.a.sa->spi_r();
  n.Collect(n.a, n.a.sa->RekeyIke(), true);
  n.ToB(/*drop=*/true);
  n.clock.Advance(absl::Seconds(2));
  n.Tick();
  n.Run();
  ExpectRekeyed(n, spi_i, spi_r);
}

TEST(IkeSa, InvalidSpiNotifyDropsTheDeadPair) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  const uint32_t a_out = n.a.installed[0].child.spi_out;
  // B's dataplane saw ESP from A on an SPI it does not know; an unknown
  // SPI is ignored by A, the real one drops that pair on A only.
  n.Collect(n.b, n.b.sa->NotifyInvalidSpi(0x12345678), false);
  n.Run();
  EXPECT_TRUE(n.a.deleted.empty());
  n.Collect(n.b, n.b.sa->NotifyInvalidSpi(a_out), false);
  n.Run();
  ASSERT_EQ(n.a.deleted.size(), 1u);
  EXPECT_EQ(n.a.deleted[0].spi_out, a_out);
  EXPECT_TRUE(n.a.sa->children().empty());
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  EXPECT_EQ(n.b.sa->state(), IkeState::kEstablished);
}

TEST(IkeSa, SimultaneousChildRekeysLeaveOnePair) {
  Net n(A(), B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  const uint32_t a_in = n.a.installed[0].child.spi_in, b_in = n.b.installed[0].child.spi_in;
  // Both requests cross on the wire.
  n.Collect(n.a, n.a.sa->RekeyChild(a_in), true);
  n.Collect(n.b, n.b.sa->RekeyChild(b_in), false);
  n.Run();
  for (int i = 0; i < 15; ++i) {
    n.clock.Advance(absl::Seconds(1));
    n.Tick();
    n.Run();
  }
  ASSERT_EQ(n.a.sa->children().size(), 1u);
  ASSERT_EQ(n.b.sa->children().size(), 1u);
  const ChildSa& ca = n.a.sa->children()[0];
  const ChildSa& cb = n.b.sa->children()[0];
  EXPECT_NE(ca.spi_in, a_in);  // re-keyed once, by the winner
  ExpectPaired(ca, cb);
  EXPECT_TRUE(n.a.failures.empty()) << n.a.failures[0];
  EXPECT_TRUE(n.b.failures.empty()) << n.b.failures[0];
  EXPECT_EQ(n.a.installed.size(), 2u);
  EXPECT_EQ(n.b.installed.size(), 2u);
}

TEST(IkeSa, ChildRekeyIsScheduledBeforeLifetimeEnds) {
  auto pa = A(), pb = B();
  pa->children[0].lifetime_seconds = 1000;
  pb->children[0].lifetime_seconds = 1000;
  Net n(pa, pb);
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  const absl::Time rekey_at = n.a.installed[0].child.rekey_at;
  EXPECT_GE(rekey_at - n.clock.Now(), absl::Seconds(850));
  EXPECT_LE(rekey_at - n.clock.Now(), absl::Seconds(900));
  n.clock.Advance(rekey_at - n.clock.Now());
  n.Tick();
  n.Run();
  EXPECT_EQ(n.a.installed.size(), 2u);
  EXPECT_EQ(n.b.installed.size(), 2u);
  EXPECT_EQ(n.b.sa->children().size(), 1u);
}

TEST(IkeSa, DeadPeerDetection) {
  auto pa = A();
  pa->dpd_interval = absl::Seconds(10);  // crypto isakmp keepalive 10 2 periodic
  pa->dpd_retry = absl::Seconds(2);
  pa->dpd_on_demand = false;
  Net n(pa, B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  n.clock.Advance(absl::Seconds(10));
  n.Tick();
  EXPECT_EQ(n.a.sa->stats().dpd_sent, 1u);
  n.Run();  // B answers: alive
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
  // Now B is gone: every request is lost.
  n.clock.Advance(absl::Seconds(10));
  const absl::Time gone_at = n.clock.Now();
  for (int i = 0; i < 10; ++i) {
    n.Tick();
    while (n.ToB(/*drop=*/true)) {
    }
    if (n.a.sa->state() == IkeState::kDead) break;
    n.clock.Advance(n.a.sa->NextDeadline() - n.clock.Now());
  }
  EXPECT_EQ(n.a.sa->state(), IkeState::kDead);
  // Five keepalives two seconds apart, then dead: no backoff for DPD.
  EXPECT_EQ(n.clock.Now() - gone_at, absl::Seconds(10));
  ASSERT_EQ(n.a.failures.size(), 1u);
  EXPECT_EQ(n.a.failures[0], "DPD_TIMEOUT");
  ASSERT_EQ(n.a.deleted.size(), 1u);
}

TEST(IkeSa, OnDemandDpdChecksOnlyAPeerWeSendToAndDoNotHear) {
  auto pa = A();
  pa->dpd_interval = absl::Seconds(10);  // crypto isakmp keepalive 10 2 (on-demand)
  pa->dpd_retry = absl::Seconds(2);
  Net n(pa, B());
  n.Start(Ep("198.51.100.1"), Ep("198.51.100.2"));
  n.Run();
  // Idle both ways: nothing to ask.
  for (int i = 0; i < 6; ++i) {
    n.clock.Advance(absl::Seconds(10));
    n.Tick();
    n.Run();
  }
  EXPECT_EQ(n.a.sa->stats().dpd_sent, 0u);
  // Traffic both ways proves the peer alive.
  n.a.sa->NoteOutbound(n.clock.Now());
  n.a.sa->NoteTraffic(n.clock.Now());
  n.clock.Advance(absl::Seconds(5));
  n.Tick();
  EXPECT_EQ(n.a.sa->stats().dpd_sent, 0u);
  // We keep sending and hear nothing for the interval: ask.
  n.a.sa->NoteOutbound(n.clock.Now());
  n.clock.Advance(n.a.sa->NextDeadline() - n.clock.Now());
  EXPECT_TRUE(n.a.sa->DpdCheckDue(n.clock.Now()));
  n.Tick();
  EXPECT_EQ(n.a.sa->stats().dpd_sent, 1u);
  n.Run();
  EXPECT_EQ(n.a.sa->state(), IkeState::kEstablished);
}

TEST(IkeSa, TriggeringFlowGoesFirstInSelectors) {
  Net n(A(), B());
  n.a.sa = IkeSa::NewInitiator({&n.clock, &n.rng_a}, A(), Ep("198.51.100.1"),
                               Ep("198.51.100.2"), 0,
                               std::make_pair(Ts("10.1.0.5/32"), Ts("10.2.0.9/32")));
  n.Collect(n.a, n.a.sa->Start(), true);
  n.Run();
  ASSERT_EQ(n.b.installed.size(), 1u);
  // B narrows the offer [10.1.0.5/32, 10.1.0.0/24] to what it allows: both.
  EXPECT_EQ(ToString(n.b.installed[0].child.remote_ts), "10.1.0.5/32 10.1.0.0/24");
}

// `set security-association level per-host`: each host pair its own SA
// pair, asked for with the packet's addresses alone; a second packet of the
// same pair asks for nothing more, another pair gets its own.
TEST(IkeSa, PerHostLevelAsksForTheHostPairAlone) {
  auto pa = A();
  pa->children[0].per_host = true;
  const auto flow1 = std::make_pair(Ts("10.1.0.5/32"), Ts("10.2.0.9/32"));
  const auto flow2 = std::make_pair(Ts("10.1.0.6/32"), Ts("10.2.0.9/32"));
  Net n(pa, B());
  n.a.sa = IkeSa::NewInitiator({&n.clock, &n.rng_a}, pa, Ep("198.51.100.1"), Ep("198.51.100.2"),
                               0, flow1);
  EXPECT_TRUE(n.a.sa->HasChildFor(0, flow1));   // on its way
  EXPECT_FALSE(n.a.sa->HasChildFor(0, flow2));
  n.Collect(n.a, n.a.sa->Start(), true);
  n.Run();
  ASSERT_EQ(n.b.installed.size(), 1u);
  EXPECT_EQ(ToString(n.b.installed[0].child.remote_ts), "10.1.0.5/32");
  EXPECT_EQ(ToString(n.b.installed[0].child.local_ts), "10.2.0.9/32");
  EXPECT_TRUE(n.a.sa->HasChildFor(0, flow1));
  EXPECT_FALSE(n.a.sa->HasChildFor(0, flow2));
  n.Collect(n.a, n.a.sa->AddChild(0, flow2), true);
  EXPECT_TRUE(n.a.sa->HasChildFor(0, flow2));  // in flight
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 2u);
  EXPECT_EQ(ToString(n.a.installed[1].child.local_ts), "10.1.0.6/32");
  EXPECT_NE(n.a.installed[0].child.spi_out, n.a.installed[1].child.spi_out);
}

TEST(IkeSa, WithoutPerHostOneChildServesTheWholeLine) {
  Net n(A(), B());
  n.a.sa = IkeSa::NewInitiator({&n.clock, &n.rng_a}, A(), Ep("198.51.100.1"), Ep("198.51.100.2"),
                               0, std::make_pair(Ts("10.1.0.5/32"), Ts("10.2.0.9/32")));
  n.Collect(n.a, n.a.sa->Start(), true);
  n.Run();
  ASSERT_EQ(n.a.installed.size(), 1u);
  EXPECT_TRUE(n.a.sa->HasChildFor(0, std::make_pair(Ts("10.1.0.6/32"), Ts("10.2.0.7/32"))));
}

}  // namespace
}  // namespace vpnfleet::ike
