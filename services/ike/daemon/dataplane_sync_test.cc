// DataplaneSync against the in-memory dataplane: the test thread plays the
// engine (it runs what the sync posts), the fake plays a dataplane that is
// slow, refuses, goes away and restarts empty.
#include "services/ike/daemon/dataplane_sync.h"

#include <chrono>
#include <deque>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/ike/dataplane/fake_dataplane_client.h"
#include "services/ike/sa/test_selectors.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace dv1 = vpnfleet::dataplane::v1;

ChildSa Child(uint32_t spi_in, uint32_t spi_out, uint32_t reqid) {
  ChildSa c;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.suite.encr = 20;  // ENCR_AES_GCM_16
  c.suite.key_bits = 128;
  c.encr_in = SecretBytes(std::string(20, 'i'));
  c.encr_out = SecretBytes(std::string(20, 'o'));
  c.local = Endpoint{*net::ParseAddress("192.0.2.1"), kIkePort};
  c.remote = Endpoint{*net::ParseAddress("198.51.100.2"), kIkePort};
  c.local_ts = {Ts("10.1.0.0/24")};
  c.remote_ts = {Ts("10.2.0.0/24")};
  c.crypto_map = "VPN";
  c.sequence = 10;
  c.reqid = reqid;
  c.lifetime_seconds = 3600;
  return c;
}

dv1::SpdPolicy StaticPolicy(const char* map) {
  dv1::SpdPolicy p;
  p.set_priority(100);
  p.set_action(dv1::POLICY_ACTION_PROTECT);
  p.set_direction(cv1::DIRECTION_OUTBOUND);
  p.set_reqid(1);
  p.set_crypto_map(map);
  p.set_crypto_map_sequence(10);
  return p;
}

class DataplaneSyncTest : public ::testing::Test {
 protected:
  DataplaneSyncTest() {
    DataplaneSync::Hooks hooks;
    hooks.post = [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> lock(mu_);
      posted_.push_back(std::move(fn));
    };
    hooks.on_event = [this](const dv1::DataplaneEvent& ev) { events_.push_back(ev); };
    hooks.for_each_child = [this](const std::function<void(const ChildSa&)>& fn) {
      for (const ChildSa& c : children_) fn(c);
    };
    sync_ = std::make_unique<DataplaneSync>(fake_, &reqids_, std::move(hooks), registry_);
    sync_->Start();
  }
  ~DataplaneSyncTest() override { sync_->Stop(); }

  // Runs what was posted to the "engine" until `done` holds (or 5 s pass).
  bool RunUntil(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      std::deque<std::function<void()>> run;
      {
        std::lock_guard<std::mutex> lock(mu_);
        run.swap(posted_);
      }
      for (auto& f : run) f();
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }
  bool Drained() {
    return RunUntil([this] { return sync_->queued() == 0; }) &&
           // the call taken off the queue has finished too
           RunUntil([this] {
             std::this_thread::sleep_for(std::chrono::milliseconds(20));
             return sync_->queued() == 0;
           });
  }
  void Install(const ChildSa& c, uint32_t replaces = 0, bool defer = false) {
    children_.push_back(c);
    sync_->Install(action::InstallChild{c, replaces, defer});
  }
  void Remove(const ChildSa& c) {
    for (auto it = children_.begin(); it != children_.end(); ++it) {
      if (it->spi_in == c.spi_in) {
        children_.erase(it);
        break;
      }
    }
    sync_->Remove(c.spi_in, c.spi_out);
  }
  double Metric(const std::string& name) {
    for (const auto& f : registry_.Collect()) {
      if (f.name == name && !f.metric.empty()) return f.metric[0].counter.value;
    }
    return -1;
  }

  std::shared_ptr<FakeDataplaneClient> fake_ = std::make_shared<FakeDataplaneClient>();
  prometheus::Registry registry_;
  ReqidAllocator reqids_;
  std::mutex mu_;
  std::deque<std::function<void()>> posted_;
  std::vector<dv1::DataplaneEvent> events_;
  std::vector<ChildSa> children_;
  std::unique_ptr<DataplaneSync> sync_;
};

TEST_F(DataplaneSyncTest, InstallReturnsBeforeASlowDataplaneAnswers) {
  fake_->SetCallDelay(absl::Milliseconds(300));
  const auto t0 = std::chrono::steady_clock::now();
  Install(Child(0x1001, 0x2001, 7));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
  EXPECT_EQ(sync_->pairs(), 1u);
  ASSERT_TRUE(RunUntil([&] { return fake_->sa_count() == 2; }));
  auto in = fake_->Sa(0x1001, "192.0.2.1");
  auto out = fake_->Sa(0x2001, "198.51.100.2");
  ASSERT_TRUE(in && out);
  EXPECT_EQ(in->direction(), cv1::DIRECTION_INBOUND);
  EXPECT_EQ(in->encryption_key(), std::string(20, 'i'));
  EXPECT_EQ(out->encryption_key(), std::string(20, 'o'));
  EXPECT_EQ(in->reqid(), 7u);
  EXPECT_EQ(out->tunnel_destination(), "198.51.100.2");
  EXPECT_TRUE(fake_->policies().empty());  // a static line's policies come with the configuration
}

TEST_F(DataplaneSyncTest, DynamicChildBringsItsOwnPoliciesAndTakesThemAway) {
  const ChildSa c = Child(0x1001, 0x2001, 0);
  Install(c);
  ASSERT_TRUE(Drained());
  auto policies = fake_->policies();
  ASSERT_EQ(policies.size(), 2u);  // outbound and inbound
  const uint32_t reqid = fake_->Sa(0x1001, "192.0.2.1")->reqid();
  EXPECT_NE(reqid, 0u);
  for (const auto& p : policies) {
    EXPECT_EQ(p.reqid(), reqid);
    EXPECT_EQ(p.peer(), "198.51.100.2");
  }
  Remove(c);
  ASSERT_TRUE(Drained());
  EXPECT_EQ(fake_->sa_count(), 0u);
  EXPECT_TRUE(fake_->policies().empty());
  EXPECT_EQ(sync_->pairs(), 0u);
}

TEST_F(DataplaneSyncTest, RekeyKeepsTheBundleAndSendsOnTheNewPairOnlyOnceTheOldOneIsGone) {
  const ChildSa old_pair = Child(0x1001, 0x2001, 0);
  Install(old_pair);
  ASSERT_TRUE(Drained());
  const uint32_t reqid = fake_->Sa(0x1001, "192.0.2.1")->reqid();
  // We answered the rekey: our outbound half waits (RFC 7296 §2.8).
  const ChildSa new_pair = Child(0x1002, 0x2002, 0);
  Install(new_pair, old_pair.spi_in, /*defer=*/true);
  ASSERT_TRUE(Drained());
  EXPECT_TRUE(fake_->HasSa(0x1002, "192.0.2.1"));
  EXPECT_FALSE(fake_->HasSa(0x2002, "198.51.100.2"));
  EXPECT_TRUE(fake_->HasSa(0x2001, "198.51.100.2"));
  Remove(old_pair);
  ASSERT_TRUE(Drained());
  EXPECT_TRUE(fake_->HasSa(0x2002, "198.51.100.2"));
  EXPECT_EQ(fake_->sa_count(), 2u);
  EXPECT_EQ(fake_->Sa(0x1002, "192.0.2.1")->reqid(), reqid);
  EXPECT_EQ(fake_->Sa(0x2002, "198.51.100.2")->reqid(), reqid);
  // The SPD entries stay with the bundle, not with the pair that went.
  EXPECT_EQ(fake_->policies().size(), 2u);
  // No gap for outbound traffic: the new outbound SA is in before the old
  // one is deleted (the dataplane sends on the newest SA of a reqid).
  const auto log = fake_->log();
  auto at = [&](const std::string& entry) {
    return std::find(log.begin(), log.end(), entry) - log.begin();
  };
  EXPECT_LT(at("AddSa 8194@198.51.100.2"), at("DeleteSa 8193@198.51.100.2"));
  EXPECT_LT(at("DeleteSa 8193@198.51.100.2"), static_cast<long>(log.size()));
  Remove(new_pair);
  ASSERT_TRUE(Drained());
  EXPECT_EQ(fake_->sa_count(), 0u);
  EXPECT_TRUE(fake_->policies().empty());
}

TEST_F(DataplaneSyncTest, RefusedStaticPoliciesAreAnErrorUnreachableOnesAreNot) {
  fake_->RefusePolicies("SPD full");
  auto refused = sync_->ReplaceStaticPolicies({StaticPolicy("VPN")});
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.get())) << refused.get();
  EXPECT_NE(refused.get().message().find("crypto map VPN 10: SPD full"), std::string::npos);
  fake_->RefusePolicies("");
  fake_->SetUnreachable(true);
  auto later = sync_->ReplaceStaticPolicies({StaticPolicy("VPN")});
  ASSERT_EQ(later.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(later.get().ok()) << later.get();
  EXPECT_TRUE(fake_->policies().empty());
  // It comes back: reconcile puts the policy in.
  fake_->SetUnreachable(false);
  ASSERT_TRUE(RunUntil([&] { return fake_->policies().size() == 1; }));
}

TEST_F(DataplaneSyncTest, AReplacedConfigurationTakesItsPoliciesAway) {
  auto first = sync_->ReplaceStaticPolicies({StaticPolicy("A"), StaticPolicy("A")});
  ASSERT_TRUE(first.get().ok());
  auto second = sync_->ReplaceStaticPolicies({StaticPolicy("B")});
  ASSERT_TRUE(second.get().ok());
  auto policies = fake_->policies();
  ASSERT_EQ(policies.size(), 1u);
  EXPECT_EQ(policies[0].crypto_map(), "B");
}

TEST_F(DataplaneSyncTest, ARestartedDataplaneGetsEverythingBack) {
  ASSERT_TRUE(sync_->ReplaceStaticPolicies({StaticPolicy("VPN")}).get().ok());
  Install(Child(0x1001, 0x2001, 0));
  Install(Child(0x1003, 0x2003, 1));
  ASSERT_TRUE(Drained());
  ASSERT_EQ(fake_->sa_count(), 4u);
  ASSERT_EQ(fake_->policies().size(), 3u);
  ASSERT_TRUE(RunUntil([&] { return fake_->watching(); }));
  fake_->Restart();  // empty tables, policy ids from 1 again, stream ended
  ASSERT_TRUE(RunUntil([&] { return fake_->sa_count() == 4 && fake_->policies().size() == 3; }));
  EXPECT_TRUE(fake_->HasSa(0x1003, "192.0.2.1"));
  EXPECT_EQ(fake_->Sa(0x1003, "192.0.2.1")->encryption_key(), std::string(20, 'i'));
  EXPECT_EQ(Metric("vpnfleet_ike_dataplane_reconciled_sas_total"), 4);
  EXPECT_EQ(Metric("vpnfleet_ike_dataplane_reconciled_policies_total"), 3);
  // A reconcile with nothing missing changes nothing.
  const size_t changes = fake_->log().size();
  sync_->Reconcile();
  ASSERT_TRUE(Drained());
  EXPECT_EQ(fake_->log().size(), changes);
}

TEST_F(DataplaneSyncTest, DeletesThatFailWhileItIsAwayAreDoneWhenItReturns) {
  const ChildSa c = Child(0x1001, 0x2001, 0);
  Install(c);
  ASSERT_TRUE(Drained());
  fake_->SetUnreachable(true);
  Remove(c);
  ASSERT_TRUE(Drained());
  fake_->SetUnreachable(false);
  sync_->Reconcile();
  ASSERT_TRUE(RunUntil([&] { return fake_->sa_count() == 0 && fake_->policies().empty(); }));
}

TEST_F(DataplaneSyncTest, QueriesAndEventsComeBackOnTheEngineThread) {
  Install(Child(0x1001, 0x2001, 1));
  ASSERT_TRUE(Drained());
  cv1::IpsecSaCounters k;
  k.set_pkts_decaps(42);
  k.set_last_used_unix_seconds(1700000000);
  fake_->SetCounters(0x1001, "192.0.2.1", k);
  std::vector<SaCounterEntry> got;
  bool answered = false;
  dv1::SaKey key;
  key.set_spi(0x1001);
  key.set_destination("192.0.2.1");
  key.set_protocol(cv1::IPSEC_PROTOCOL_ESP);
  dv1::SaKey missing = key;
  missing.set_spi(0x9999);
  sync_->Query({key, missing}, [&](std::vector<SaCounterEntry> c) {
    got = std::move(c);
    answered = true;
  });
  ASSERT_TRUE(RunUntil([&] { return answered; }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].counters().pkts_decaps(), 42u);

  ASSERT_TRUE(RunUntil([&] { return fake_->watching(); }));
  dv1::DataplaneEvent ev;
  ev.mutable_acquire()->set_reqid(5);
  fake_->Emit(ev);
  ASSERT_TRUE(RunUntil([&] { return !events_.empty(); }));
  EXPECT_EQ(events_[0].acquire().reqid(), 5u);
}

TEST(DataplaneSyncWithoutDataplaneTest, TracksPairsAndAnswersAtOnce) {
  prometheus::Registry registry;
  ReqidAllocator reqids;
  DataplaneSync::Hooks hooks;
  std::vector<std::function<void()>> posted;
  hooks.post = [&](std::function<void()> fn) { posted.push_back(std::move(fn)); };
  hooks.on_event = [](const dv1::DataplaneEvent&) {};
  hooks.for_each_child = [](const std::function<void(const ChildSa&)>&) {};
  DataplaneSync sync(nullptr, &reqids, std::move(hooks), registry);
  sync.Start();
  EXPECT_FALSE(sync.connected());
  sync.Install(action::InstallChild{Child(1, 2, 0), 0, false});
  EXPECT_EQ(sync.pairs(), 1u);
  EXPECT_TRUE(sync.ReplaceStaticPolicies({StaticPolicy("VPN")}).get().ok());
  sync.Remove(1, 2);
  EXPECT_EQ(sync.pairs(), 0u);
  EXPECT_FALSE(sync.CountersNow().ok());
}

}  // namespace
}  // namespace vpnfleet::ike
