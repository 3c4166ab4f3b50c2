// The engine through the in-memory dataplane: a real SaManager on loopback
// UDP answers an initiator that the test steps by hand (an IkeSa of its
// own), and everything the engine puts into the dataplane is looked at in
// FakeDataplaneClient: the install, a CHILD SA rekey's switchover, the
// tables rebuilt after the dataplane restarts, an expiry event, counters,
// and a configuration the dataplane refuses.
#include "services/ike/daemon/sa_manager.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/ike/dataplane/fake_dataplane_client.h"
#include "services/ike/sa/ikev1_sa.h"
#include "services/ike/sa/test_selectors.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace dv1 = vpnfleet::dataplane::v1;
namespace iv1 = vpnfleet::ike::v1;

constexpr char kPsk[] = "sa-manager-test-psk";

// The engine's configuration: a dynamic map that takes any peer with the
// key, and a static line whose SPD policies go in with the configuration.
iv1::IkeConfig EngineConfig(const std::string& peer = "127.0.0.1") {
  iv1::IkeConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_GCM_256 hash: PRF_HMAC_SHA2_256
                      group: DH_GROUP_CURVE25519 authentication: AUTH_METHOD_PRE_SHARE }
    isakmp_policies { priority: 20 encryption: ENCRYPTION_AES_CBC_256 hash: PRF_HMAC_SHA2_256
                      group: DH_GROUP_MODP_2048 authentication: AUTH_METHOD_PRE_SHARE
                      version: IKE_VERSION_1 }
    transform_sets { name: "GCM" esp_encryption: ENCRYPTION_AES_GCM_128 }
    access_lists { name: "A" entries { sequence: 10 action: ACL_ACTION_PERMIT
        match { source { address: "10.1.0.0" length: 24 }
                destination { address: "10.2.0.0" length: 24 } } } }
    access_lists { name: "B" entries { sequence: 10 action: ACL_ACTION_PERMIT
        match { source { address: "10.8.0.0" length: 24 }
                destination { address: "10.9.0.0" length: 24 } } } }
    crypto_maps { name: "DYN" dynamic: true
        entries { sequence: 10 match_address: "B" transform_sets: "GCM" } }
    crypto_maps { name: "VPN" interfaces: "wan0"
        entries { sequence: 10 match_address: "A" peers: "127.0.0.9" transform_sets: "GCM" }
        entries { sequence: 65535 kind: CRYPTO_MAP_KIND_DYNAMIC dynamic_map: "DYN" } }
    pre_shared_keys { address { address: "127.0.0.9" length: 32 } key: "sa-manager-test-psk" }
  )pb", &c));
  auto* key = c.add_pre_shared_keys();
  key->mutable_address()->set_address(peer);
  key->mutable_address()->set_length(peer.find(':') == std::string::npos ? 32 : 128);
  key->set_key(kPsk);
  return c;
}

// The peer the test plays.
std::shared_ptr<SaPolicy> PeerPolicy(const std::string& address) {
  auto p = std::make_shared<SaPolicy>();
  iv1::IsakmpPolicy ike;
  ike.set_priority(10);
  ike.set_encryption(cv1::ENCRYPTION_AES_GCM_256);
  ike.set_hash(cv1::PRF_HMAC_SHA2_256);
  ike.set_group(cv1::DH_GROUP_CURVE25519);
  p->ike_proposals = {*IkeProposalOf(ike)};
  p->local_id = AddressIdentity(*net::ParseAddress(address));
  PskEntry k;
  k.address = *net::ParseCidr(address + (address.find(':') == std::string::npos ? "/32" : "/128"));
  k.key = SecretBytes(kPsk);
  p->psks.push_back(k);
  iv1::TransformSet t;
  t.set_name("GCM");
  t.set_esp_encryption(cv1::ENCRYPTION_AES_GCM_128);
  ChildPolicy c;
  c.crypto_map = "SPOKE";
  c.sequence = 10;
  c.local_ts = {Ts("10.9.0.0/24")};
  c.remote_ts = {Ts("10.8.0.0/24")};
  c.proposals = {*EspProposalOf(t, 0)};
  c.transform_sets = {"GCM"};
  c.reqid = 1;
  p->children.push_back(c);
  return p;
}

// The same peer speaking IKEv1 (`crypto isakmp policy` with pre-share).
std::shared_ptr<SaPolicy> PeerPolicyV1(const std::string& address) {
  auto p = PeerPolicy(address);
  iv1::IsakmpPolicy ike;
  ike.set_priority(20);
  ike.set_encryption(cv1::ENCRYPTION_AES_CBC_256);
  ike.set_hash(cv1::PRF_HMAC_SHA2_256);
  ike.set_group(cv1::DH_GROUP_MODP_2048);
  ike.set_authentication(iv1::AUTH_METHOD_PRE_SHARE);
  p->ikev1_policies = {*ikev1::Phase1PolicyOf(ike)};
  p->children[0].ike_version = 1;
  return p;
}

uint16_t PortOf(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port);
  return ntohs(reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port);
}

// Each case runs with the peer over IPv4 (127.0.0.1) and over IPv6 (::1),
// with every step on the engine thread and with two crypto workers.
class SaManagerTest : public ::testing::TestWithParam<std::tuple<bool, size_t>> {
 protected:
  void SetUp() override {
    SocketOptions so;
    so.port = 0;
    so.natt_port = 0;
    auto sockets = IkeSockets::Open(so);
    ASSERT_TRUE(sockets.ok()) << sockets.status();
    engine_port_ = (*sockets)->port();
    ManagerOptions mo;
    mo.reconcile_interval = absl::Hours(1);  // only the stream break reconciles here
    mo.crypto_workers = workers_;
    // Workers draw nonces and keys on their own threads: a thread-safe RNG.
    Rng* rng = workers_ > 0 ? static_cast<Rng*>(SystemRng::Get()) : &engine_rng_;
    manager_ = std::make_unique<SaManager>(SystemClock::Get(), rng, *std::move(sockets),
                                           fake_, registry_, mo);
    manager_->Start();
    ASSERT_TRUE(manager_->ApplyConfigAndWait(EngineConfig(loop_)).ok());
    if (v6_) {
      peer_fd_ = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct sockaddr_in6 sin6;
      std::memset(&sin6, 0, sizeof sin6);
      sin6.sin6_family = AF_INET6;
      sin6.sin6_addr = in6addr_loopback;
      ASSERT_EQ(bind(peer_fd_, reinterpret_cast<struct sockaddr*>(&sin6), sizeof sin6), 0);
    } else {
      peer_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      struct sockaddr_in sin;
      std::memset(&sin, 0, sizeof sin);
      sin.sin_family = AF_INET;
      sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ASSERT_EQ(bind(peer_fd_, reinterpret_cast<struct sockaddr*>(&sin), sizeof sin), 0);
    }
    peer_ = Endpoint{*net::ParseAddress(loop_), PortOf(peer_fd_)};
    engine_ = Endpoint{*net::ParseAddress(loop_), engine_port_};
  }
  void TearDown() override {
    manager_->Stop();
    if (peer_fd_ >= 0) close(peer_fd_);
  }

  // Carries out the test peer's actions: datagrams to the engine.
  void Do(Actions actions) {
    for (Action& a : actions) {
      if (auto* s = std::get_if<action::Send>(&a)) {
        if (v6_) {
          struct sockaddr_in6 to;
          std::memset(&to, 0, sizeof to);
          to.sin6_family = AF_INET6;
          to.sin6_addr = in6addr_loopback;
          to.sin6_port = htons(engine_port_);
          sendto(peer_fd_, s->datagram.data(), s->datagram.size(), 0,
                 reinterpret_cast<struct sockaddr*>(&to), sizeof to);
        } else {
          struct sockaddr_in to;
          std::memset(&to, 0, sizeof to);
          to.sin_family = AF_INET;
          to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          to.sin_port = htons(engine_port_);
          sendto(peer_fd_, s->datagram.data(), s->datagram.size(), 0,
                 reinterpret_cast<struct sockaddr*>(&to), sizeof to);
        }
      } else if (auto* in = std::get_if<action::InstallChild>(&a)) {
        peer_children_.push_back(in->child);
      } else if (auto* d = std::get_if<action::DeleteChild>(&a)) {
        peer_deleted_.push_back(d->spi_in);
      }
    }
  }
  // Feeds the engine's answers to the test peer until `done` (or 5 s).
  bool Pump(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > until) return false;
      struct pollfd p = {peer_fd_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      char buf[65536];
      const ssize_t n = recv(peer_fd_, buf, sizeof buf, 0);
      if (n > 0) Do(peer_sa_->Receive(peer_, engine_, std::string(buf, static_cast<size_t>(n))));
    }
    return true;
  }
  void Connect() {
    peer_sa_ = IkeSa::NewInitiator({SystemClock::Get(), &peer_rng_}, PeerPolicy(loop_), peer_, engine_, 0,
                                  std::nullopt);
    Do(peer_sa_->Start());
    ASSERT_TRUE(Pump([&] { return peer_sa_->state() == IkeState::kEstablished; }));
    ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 2; }));
  }
  iv1::ListChildSasResponse Children() {
    iv1::ListChildSasResponse out;
    manager_->Call([&] { manager_->ListChildSas(iv1::ListChildSasRequest(), &out); });
    manager_->AddChildCounters(&out);
    return out;
  }
  // The engine's inbound SPI is the peer's outbound one.
  uint32_t EngineSpiIn() const { return peer_sa_->children().front().spi_out; }
  uint32_t EngineSpiOut() const { return peer_sa_->children().front().spi_in; }

  const bool v6_ = std::get<0>(GetParam());
  const size_t workers_ = std::get<1>(GetParam());
  const std::string loop_ = v6_ ? "::1" : "127.0.0.1";
  std::shared_ptr<FakeDataplaneClient> fake_ = std::make_shared<FakeDataplaneClient>();
  prometheus::Registry registry_;
  SeededRng engine_rng_{11}, peer_rng_{12};
  std::unique_ptr<SaManager> manager_;
  uint16_t engine_port_ = 0;
  int peer_fd_ = -1;
  Endpoint peer_, engine_;
  std::shared_ptr<IkeSession> peer_sa_;
  std::vector<ChildSa> peer_children_;
  std::vector<uint32_t> peer_deleted_;
};

TEST_P(SaManagerTest, Ikev1PeerIsAnsweredOnTheSameSocketAndInstalled) {
  peer_sa_ = Ikev1Sa::NewInitiator({SystemClock::Get(), &peer_rng_}, PeerPolicyV1(loop_), peer_,
                                   engine_, 0, std::nullopt);
  Do(peer_sa_->Start());
  ASSERT_TRUE(Pump([&] { return peer_sa_->state() == IkeState::kEstablished; }));
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 2; }));
  auto in = fake_->Sa(EngineSpiIn(), loop_);
  auto out = fake_->Sa(EngineSpiOut(), loop_);
  ASSERT_TRUE(in && out);
  EXPECT_EQ(in->encryption_key(), std::string(peer_sa_->children().front().encr_out.view()));
  EXPECT_EQ(out->encryption_key(), std::string(peer_sa_->children().front().encr_in.view()));
  iv1::ListIkeSasResponse sas;
  manager_->Call([&] { manager_->ListIkeSas(iv1::ListIkeSasRequest(), &sas); });
  ASSERT_EQ(sas.ike_sas_size(), 1);
  EXPECT_EQ(sas.ike_sas(0).version(), iv1::IKE_VERSION_1);
  EXPECT_EQ(sas.ike_sas(0).state(), iv1::IKE_SA_STATE_QM_IDLE);
  EXPECT_EQ(sas.ike_sas(0).encryption(), cv1::ENCRYPTION_AES_CBC_256);
  EXPECT_EQ(sas.ike_sas(0).group(), cv1::DH_GROUP_MODP_2048);
  // The peer deletes the pair: the engine empties the SAD.
  Do(peer_sa_->CloseChild(peer_sa_->children().front().spi_in, "test"));
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 0; }));
}

// An IKEv1 peer sets up a new phase 1 (as strongSwan does on an IKEv1
// reauthentication, moving its pairs over): the engine's new ISAKMP SA
// takes over the pairs, the old one goes without removing them from the
// dataplane, and the pair re-keys through the new one.
TEST_P(SaManagerTest, Ikev1NewPhase1FromThePeerTakesOverThePairs) {
  std::shared_ptr<Ikev1Sa> first = Ikev1Sa::NewInitiator({SystemClock::Get(), &peer_rng_}, PeerPolicyV1(loop_), peer_,
                                     engine_, 0, std::nullopt);
  peer_sa_ = first;
  Do(peer_sa_->Start());
  ASSERT_TRUE(Pump([&] { return !peer_sa_->children().empty(); }));
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 2; }));
  const uint32_t old_in = EngineSpiIn();
  auto ike_sas = [&] {
    iv1::ListIkeSasResponse sas;
    manager_->Call([&] { manager_->ListIkeSas(iv1::ListIkeSasRequest(), &sas); });
    return sas;
  };
  const uint64_t old_conn = ike_sas().ike_sas(0).conn_id();

  std::shared_ptr<Ikev1Sa> second = Ikev1Sa::NewInitiator({SystemClock::Get(), &peer_rng_}, PeerPolicyV1(loop_),
                                      peer_, engine_, Ikev1Sa::kPhase1Only, std::nullopt);
  peer_sa_ = second;
  Do(second->Start());
  ASSERT_TRUE(Pump([&] { return second->state() == IkeState::kEstablished; }));
  ASSERT_TRUE(Pump([&] {
    auto sas = ike_sas();
    return sas.ike_sas_size() == 1 && sas.ike_sas(0).conn_id() != old_conn;
  }));
  EXPECT_EQ(fake_->sa_count(), 2u);  // the pair stayed in the dataplane
  auto kids = Children();
  ASSERT_EQ(kids.child_sas_size(), 1);
  EXPECT_EQ(kids.child_sas(0).inbound_spi(), old_in);
  EXPECT_NE(kids.child_sas(0).ike_conn_id(), old_conn);

  // The peer moves its pair over too and re-keys it through the new SA;
  // then the old pair goes, by the peer's Delete.
  Do(second->AdoptChildren(first->ReleaseChildren()));
  Do(second->RekeyChild(second->children().front().spi_in));
  ASSERT_TRUE(Pump([&] { return second->children().size() == 2; }));
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 4; }));
  // The peer deletes the replaced pair after its grace time (2 s).
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  Do(second->Tick());
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 2 && !fake_->Sa(old_in, loop_); }));
  ASSERT_EQ(second->children().size(), 1u);
  EXPECT_TRUE(fake_->Sa(EngineSpiIn(), loop_));
}

TEST_P(SaManagerTest, ConfigurationPutsTheStaticLinesPoliciesIn) {
  auto policies = fake_->policies();
  ASSERT_EQ(policies.size(), 2u);  // VPN 10, outbound and inbound
  for (const auto& p : policies) {
    EXPECT_EQ(p.crypto_map(), "VPN");
    EXPECT_EQ(p.peer(), "127.0.0.9");
    EXPECT_EQ(p.action(), dv1::POLICY_ACTION_PROTECT);
  }
}

TEST_P(SaManagerTest, AnsweredChildIsInstalledWithItsOwnPolicies) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  auto in = fake_->Sa(EngineSpiIn(), loop_);
  auto out = fake_->Sa(EngineSpiOut(), loop_);
  ASSERT_TRUE(in && out);
  EXPECT_EQ(in->direction(), cv1::DIRECTION_INBOUND);
  EXPECT_EQ(in->encryption_key(), std::string(peer_sa_->children().front().encr_out.view()));
  EXPECT_EQ(out->encryption_key(), std::string(peer_sa_->children().front().encr_in.view()));
  // Dynamic-map child: two SPD entries of its own beside VPN 10's two.
  ASSERT_TRUE(Pump([&] { return fake_->policies().size() == 4; }));
  size_t dynamic = 0;
  for (const auto& p : fake_->policies()) dynamic += p.crypto_map() == "VPN/DYN";
  EXPECT_EQ(dynamic, 2u);
}

TEST_P(SaManagerTest, RekeyedChildSwitchesOverWithoutAGap) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  const uint32_t old_in = EngineSpiIn(), old_out = EngineSpiOut();
  const uint32_t reqid = fake_->Sa(old_in, loop_)->reqid();
  Do(peer_sa_->RekeyChild(peer_sa_->children().front().spi_in));
  // The peer installs the new pair and deletes the old one (§2.8).
  ASSERT_TRUE(Pump([&] {
    return peer_sa_->children().size() == 1 && peer_sa_->children().front().spi_out != old_in &&
           !fake_->HasSa(old_in, loop_) && fake_->sa_count() == 2;
  }));
  const uint32_t new_in = EngineSpiIn(), new_out = EngineSpiOut();
  EXPECT_EQ(fake_->Sa(new_in, loop_)->reqid(), reqid);
  EXPECT_EQ(fake_->Sa(new_out, loop_)->reqid(), reqid);
  const auto log = fake_->log();
  auto at = [&](const std::string& e) { return std::find(log.begin(), log.end(), e) - log.begin(); };
  const std::string add_new_out = "AddSa " + std::to_string(new_out) + "@" + loop_;
  ASSERT_LT(at(add_new_out), static_cast<long>(log.size()));
  // In first, then out (our answer's outbound half waits for the peer's
  // Delete of the old pair, §2.8), then the old pair goes: no moment
  // without an outbound SA.
  EXPECT_LT(at("AddSa " + std::to_string(new_in) + "@" + loop_), at(add_new_out));
  EXPECT_LT(at(add_new_out), at("DeleteSa " + std::to_string(old_out) + "@" + loop_));
  EXPECT_LT(at("DeleteSa " + std::to_string(old_in) + "@" + loop_), static_cast<long>(log.size()));
  EXPECT_EQ(fake_->policies().size(), 4u);  // the bundle keeps its SPD entries
}

TEST_P(SaManagerTest, RestartedDataplaneIsGivenItsTablesBack) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  ASSERT_TRUE(Pump([&] { return fake_->policies().size() == 4 && fake_->watching(); }));
  fake_->Restart();
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 2 && fake_->policies().size() == 4; }));
  EXPECT_TRUE(fake_->HasSa(EngineSpiIn(), loop_));
  EXPECT_TRUE(fake_->HasSa(EngineSpiOut(), loop_));
}

TEST_P(SaManagerTest, HardExpiryFromTheDataplaneDeletesTheChild) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  ASSERT_TRUE(Pump([&] { return fake_->watching(); }));
  dv1::DataplaneEvent ev;
  ev.mutable_expire()->mutable_key()->set_spi(EngineSpiIn());
  ev.mutable_expire()->mutable_key()->set_destination(loop_);
  ev.mutable_expire()->set_hard(true);
  fake_->Emit(ev);
  // The engine tells the peer (INFORMATIONAL Delete) and empties the SAD.
  ASSERT_TRUE(Pump([&] { return peer_sa_->children().empty() && fake_->sa_count() == 0; }));
  EXPECT_TRUE(Children().child_sas().empty());
}

TEST_P(SaManagerTest, ChildCountersComeFromTheDataplaneOffTheEngineThread) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  cv1::IpsecSaCounters in, out;
  in.set_pkts_decaps(10);
  in.set_bytes_in(5 * 1024);
  out.set_pkts_encaps(20);
  out.set_bytes_out(7 * 1024);
  fake_->SetCounters(EngineSpiIn(), loop_, in);
  fake_->SetCounters(EngineSpiOut(), loop_, out);
  auto list = Children();
  ASSERT_EQ(list.child_sas_size(), 1);
  const auto& c = list.child_sas(0);
  EXPECT_EQ(c.inbound_spi(), EngineSpiIn());
  EXPECT_EQ(c.counters().pkts_decaps(), 10u);
  EXPECT_EQ(c.counters().pkts_encaps(), 20u);
  EXPECT_EQ(c.counters().bytes_out(), 7u * 1024);
  EXPECT_EQ(c.crypto_map(), "VPN/DYN");
}

TEST_P(SaManagerTest, ASlowDataplaneDoesNotHoldUpTheEngine) {
  fake_->SetCallDelay(absl::Milliseconds(400));
  peer_sa_ = IkeSa::NewInitiator({SystemClock::Get(), &peer_rng_}, PeerPolicy(loop_), peer_, engine_, 0,
                                std::nullopt);
  Do(peer_sa_->Start());
  // Our IKE_AUTH answer waits for the inbound SA (two policies and an SA
  // at 400 ms each); meanwhile the engine answers status at once.
  ASSERT_TRUE(Pump([&] { return peer_sa_->state() == IkeState::kAuthSent; }));
  bool established = false;
  for (int i = 0; i < 50 && !established; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto t0 = std::chrono::steady_clock::now();
    iv1::ListIkeSasResponse sas;
    manager_->Call([&] { manager_->ListIkeSas(iv1::ListIkeSasRequest(), &sas); });
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
    established = sas.ike_sas_size() == 1 &&
                  sas.ike_sas(0).state() == iv1::IKE_SA_STATE_ESTABLISHED;
  }
  EXPECT_TRUE(established);
  EXPECT_LT(fake_->sa_count(), 2u);  // still on their way
  fake_->SetCallDelay(absl::ZeroDuration());
  ASSERT_TRUE(Pump([&] { return fake_->sa_count() == 2; }));
}

TEST_P(SaManagerTest, AnswersLeaveOnlyOnceTheDataplaneHoldsTheSaTheyLetThePeerUse) {
  // The peer may send on a CHILD SA as soon as our answer reaches it: that
  // answer must not overtake the SA's install, however slow the dataplane.
  fake_->SetCallDelay(absl::Milliseconds(150));
  peer_sa_ = IkeSa::NewInitiator({SystemClock::Get(), &peer_rng_}, PeerPolicy(loop_), peer_, engine_, 0,
                                std::nullopt);
  Do(peer_sa_->Start());
  ASSERT_TRUE(Pump([&] { return peer_sa_->state() == IkeState::kEstablished; }));
  EXPECT_TRUE(fake_->HasSa(EngineSpiIn(), loop_));
  const uint32_t old_in = EngineSpiIn();
  Do(peer_sa_->RekeyChild(peer_sa_->children().front().spi_in));
  ASSERT_TRUE(Pump([&] {
    for (const ChildSa& c : peer_sa_->children()) {
      if (c.spi_out != old_in) return true;
    }
    return false;
  }));
  uint32_t new_in = 0;
  for (const ChildSa& c : peer_sa_->children()) {
    if (c.spi_out != old_in) new_in = c.spi_out;
  }
  EXPECT_TRUE(fake_->HasSa(new_in, loop_));
  fake_->SetCallDelay(absl::ZeroDuration());
}

TEST_P(SaManagerTest, ConfigurationTheDataplaneRefusesIsAnError) {
  fake_->RefusePolicies("SPD is full");
  absl::Status st = manager_->ApplyConfigAndWait(EngineConfig(loop_));
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_NE(st.message().find("SPD is full"), std::string::npos) << st;
  // Unreachable is not a refusal: the policies go in when it is back.
  fake_->RefusePolicies("");
  fake_->SetUnreachable(true);
  EXPECT_TRUE(manager_->ApplyConfigAndWait(EngineConfig(loop_)).ok());
  fake_->SetUnreachable(false);
  ASSERT_TRUE(Pump([&] { return fake_->policies().size() == 2; }));
}

TEST_P(SaManagerTest, StatusFiltersByPeerAddressNotByItsSpelling) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  auto count = [&](const std::string& peer) {
    iv1::ListIkeSasRequest req;
    req.set_remote_address(peer);
    iv1::ListIkeSasResponse ike;
    manager_->Call([&] { manager_->ListIkeSas(req, &ike); });
    iv1::ListChildSasRequest creq;
    creq.set_remote_address(peer);
    iv1::ListChildSasResponse child;
    manager_->Call([&] { manager_->ListChildSas(creq, &child); });
    return std::make_pair(ike.ike_sas_size(), child.child_sas_size());
  };
  EXPECT_EQ(count(""), std::make_pair(1, 1));
  EXPECT_EQ(count(loop_), std::make_pair(1, 1));
  EXPECT_EQ(count(v6_ ? "0:0:0:0:0:0:0:1" : "127.0.0.1"), std::make_pair(1, 1));
  EXPECT_EQ(count(v6_ ? "2001:db8::1" : "192.0.2.1"), std::make_pair(0, 0));
  EXPECT_EQ(count("not an address"), std::make_pair(0, 0));
}

INSTANTIATE_TEST_SUITE_P(
    FamiliesAndWorkers, SaManagerTest,
    ::testing::Combine(::testing::Bool(), ::testing::Values(size_t{0}, size_t{2})),
    [](const ::testing::TestParamInfo<std::tuple<bool, size_t>>& i) {
      return absl::StrCat(std::get<0>(i.param) ? "Ipv6" : "Ipv4", "_Workers",
                          std::get<1>(i.param));
    });

}  // namespace
}  // namespace vpnfleet::ike
