#include "services/controller/rollout/rollout_engine.h"

#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/testing/testdata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/ios/ios_writer.h"
#include "services/controller/store/sqlite_store.h"
#include "services/controller/store/test_stores.h"

namespace vpnfleet::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
namespace ike = vpnfleet::ike::v1;

// Edges in memory. A CHILD SA comes up on Initiate when the peer runs a
// policy with an entry back to us, as real IKE would need.
class FakeEdges : public EdgeClient {
 public:
  absl::StatusOr<ike::IkeConfig> GetConfig(const v1::Device& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++get_configs_;
    ike::IkeConfig c = configs_[d.name()];
    for (auto& k : *c.mutable_pre_shared_keys()) {
      k.set_key_set(true);
      k.clear_key();
    }
    c.mutable_revision()->set_number(revision_[d.name()]);
    return c;
  }
  absl::StatusOr<uint64_t> ReplaceConfig(const v1::Device& d, const ike::IkeConfig& c, bool validate_only,
                                         uint64_t expected_revision) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (expected_revision != 0 && expected_revision != revision_[d.name()]) {
      return absl::FailedPreconditionError(absl::StrCat("configuration is at revision ", revision_[d.name()],
                                                        ", not ", expected_revision));
    }
    if (refuse_.count(d.name())) return absl::InvalidArgumentError("crypto map FLEET 10: no such transform set");
    if (validate_only) return 0;
    if (hang_.count(d.name())) {
      // It applied, but its answer never came back, and then nothing does.
      configs_[d.name()] = c;
      hang_.erase(d.name());
      unreachable_.insert(d.name());
      return absl::DeadlineExceededError("Deadline Exceeded");
    }
    if (unreachable_.count(d.name())) return absl::DeadlineExceededError("Deadline Exceeded");
    if (refuse_apply_.count(d.name())) return absl::FailedPreconditionError("the dataplane refused the policies");
    ++applies_;
    configs_[d.name()] = c;
    sas_[d.name()].clear();
    return ++revision_[d.name()];
  }
  absl::Status Initiate(const v1::Device& d, const std::string& map, uint32_t, const std::string& peer) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_.count(d.name())) return absl::OkStatus();  // never comes up
    const std::string peer_name = by_wan_[peer];
    for (const auto& m : configs_[peer_name].crypto_maps()) {
      for (const auto& e : m.entries()) {
        for (const auto& p : e.peers()) {
          if (p == wan_[d.name()]) {
            ike::ChildSa sa;
            sa.set_crypto_map(map);
            sa.set_remote_endpoint(peer);
            sas_[d.name()].push_back(sa);
            return absl::OkStatus();
          }
        }
      }
    }
    return absl::OkStatus();
  }
  absl::StatusOr<ike::ListChildSasResponse> ListChildSas(const v1::Device& d) override {
    std::lock_guard<std::mutex> lock(mu_);
    ike::ListChildSasResponse r;
    for (const auto& sa : sas_[d.name()]) *r.add_child_sas() = sa;
    return r;
  }
  absl::StatusOr<ike::ListIkeSasResponse> ListIkeSas(const v1::Device&) override {
    return ike::ListIkeSasResponse();
  }

  std::mutex mu_;
  std::map<std::string, ike::IkeConfig> configs_;
  std::map<std::string, std::vector<ike::ChildSa>> sas_;
  std::map<std::string, uint64_t> revision_;
  std::map<std::string, std::string> by_wan_, wan_;
  std::set<std::string> broken_, refuse_, hang_, unreachable_, refuse_apply_;
  int applies_ = 0;
  int get_configs_ = 0;
};

// Every rollout test runs on both stores: SQLite, and a real etcd started
// on loopback (one for the suite, a key prefix per test).
class RolloutTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  static void SetUpTestSuite() { TestStores::StartEtcd(); }
  static void TearDownTestSuite() { TestStores::StopEtcd(); }

  void SetUp() override {
    if (TestStores::Skip(GetParam())) GTEST_SKIP() << "etcd is not installed";
    ASSERT_TRUE(inv_.Load().ok());
    v1::Template t;
    t.set_name("hub-and-spoke");
    t.set_output(v1::TEMPLATE_OUTPUT_POLICY);
    t.set_body(vpnfleet::testing::ReadTestData("deploy/templates/hub-and-spoke.mustache"));
    ASSERT_FALSE(t.body().empty());
    t.mutable_topology()->set_kind(v1::TOPOLOGY_KIND_HUB_AND_SPOKE);
    t.mutable_topology()->set_auth(v1::PEER_AUTH_PRE_SHARED_KEY);
    for (auto [name, def] : std::vector<std::pair<std::string, std::string>>{
             {"trustpoint", "fleet"}, {"scep_url", "http://x/scep"}, {"ike_encryption", "aes-gcm-256"},
             {"ike_hash", "sha384"}, {"dh_group", "19"}, {"signature", "ecdsa-sig"}, {"ike_lifetime", "86400"},
             {"dpd_seconds", "10"}, {"esp_transform", "esp-gcm 256"}, {"sa_lifetime", "3600"},
             {"wan_interface", "wan0"}, {"auto_enroll", "70"}}) {
      auto* v = t.add_variables();
      v->set_name(name);
      v->set_default_value(def);
    }
    ASSERT_TRUE(inv_.PutTemplate(t).ok());
    int n = 0;
    for (const char* name : {"hub", "spoke1", "spoke2", "spoke3"}) {
      v1::Device d;
      d.set_name(name);
      d.set_kind(v1::DEVICE_KIND_VPNFLEET);
      d.set_wan_address(absl::StrCat("198.51.100.", ++n));
      d.set_management_endpoint("unix:/nonexistent");
      d.set_role(n == 1 ? "hub" : "spoke");
      auto* p = d.add_inner_prefixes();
      p->set_address(absl::StrCat("10.", n, ".0.0"));
      p->set_length(24);
      ASSERT_TRUE(inv_.PutDevice(d, false).ok());
      edges_.by_wan_[d.wan_address()] = name;
      edges_.wan_[name] = d.wan_address();
      v1::DataSet ds;
      ds.set_name(absl::StrCat(name, "-vpn"));
      ds.set_template_("hub-and-spoke");
      ds.set_device(name);
      ASSERT_TRUE(inv_.PutDataSet(ds).ok());
    }
  }

  v1::StartRolloutRequest Request(bool auto_rollback = true) {
    v1::StartRolloutRequest req;
    req.mutable_strategy()->set_canary_devices(1);
    req.mutable_strategy()->set_batch_size(2);
    req.mutable_strategy()->set_max_unavailable(2);
    req.mutable_strategy()->set_health_timeout_seconds(5);
    req.mutable_strategy()->set_auto_rollback(auto_rollback);
    return req;
  }

  RolloutOptions Options() {
    RolloutOptions o;
    o.health_poll = absl::Seconds(1);
    o.sleep = [this](absl::Duration d) { clock_.Advance(d); };
    return o;
  }

  FakeClock clock_;
  SeededRng rng_{3};
  std::unique_ptr<Store> store_ = TestStores::Open(GetParam(), "rollout-test");
  SecretBox box_ = *SecretBox::FromKey(std::string(32, 's'), &rng_);
  Inventory inv_{&clock_, store_.get()};
  PairKeys keys_{store_.get(), &box_, &rng_, &clock_};
  FakeEdges edges_;
  RolloutEngine engine_{&inv_, &keys_, store_.get(), &box_, &edges_, &clock_, Options()};
  std::vector<std::string> progress_;
  ProgressFn Collect() {
    return [this](const v1::RolloutProgress& p) { progress_.push_back(p.message()); };
  }
};

TEST_P(RolloutTest, CanaryThenBatchesThenNothingLeftToDo) {
  auto plan = engine_.Plan({});
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->devices_size(), 4);
  EXPECT_EQ(plan->devices(0).change(), v1::DEVICE_CHANGE_CREATE);
  EXPECT_THAT(absl::StrJoin(plan->devices(0).changes(), "\n"),
              HasSubstr("+ crypto map FLEET 10 ipsec-isakmp: set peer 198.51.100.2"));
  EXPECT_THAT(absl::StrJoin(plan->devices(0).changes(), "\n"), HasSubstr("+ crypto ikev2 keyring vpnfleet: peer 198.51.100.2: pre-shared-key <hidden>"));

  auto r = engine_.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_SUCCEEDED);
  ASSERT_EQ(r->devices_size(), 4);
  EXPECT_EQ(r->devices(0).device(), "hub");
  EXPECT_EQ(r->devices(0).stage(), 0u);
  EXPECT_EQ(r->devices(1).stage(), 1u);
  EXPECT_EQ(r->devices(3).stage(), 2u);
  for (const auto& d : r->devices()) {
    EXPECT_EQ(d.state(), v1::DEVICE_ROLLOUT_STATE_DONE) << d.device() << ": " << d.message();
  }
  EXPECT_THAT(r->devices(1).message(), HasSubstr("healthy"));
  EXPECT_EQ(edges_.applies_, 4);
  // The keys reached both ends of each pair.
  EXPECT_EQ(edges_.configs_["hub"].pre_shared_keys(0).key(), edges_.configs_["spoke1"].pre_shared_keys(0).key());

  auto again = engine_.Plan({});
  ASSERT_TRUE(again.ok());
  for (const auto& d : again->devices()) {
    EXPECT_EQ(d.change(), v1::DEVICE_CHANGE_NONE) << d.device() << " " << absl::StrJoin(d.changes(), "\n");
  }
  auto second = engine_.Start(Request(), Collect());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->devices_size(), 0);
  EXPECT_EQ(edges_.applies_, 4);
  EXPECT_THAT(progress_, ::testing::Contains(HasSubstr("already runs the desired policy")));
}

TEST_P(RolloutTest, TheRenderedFleetIsReusedOnlyWhileTheRevisionStands) {
  auto first = engine_.ComputeDesired();
  EXPECT_EQ(engine_.ComputeDesired(), first);  // nothing changed: the same render
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  EXPECT_EQ(engine_.ComputeDesired(), first);  // a rollout changes no desired state

  auto t = *inv_.GetTemplate("hub-and-spoke");
  for (auto& v : *t.mutable_variables()) {
    if (v.name() == "sa_lifetime") v.set_default_value("1800");
  }
  ASSERT_TRUE(inv_.PutTemplate(t).ok());
  auto second = engine_.ComputeDesired();
  EXPECT_NE(second, first);
  EXPECT_EQ(second->snapshot.revision, first->snapshot.revision + 1);
  auto plan = engine_.Plan({});
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const auto& d : plan->devices()) {
    EXPECT_EQ(d.change(), v1::DEVICE_CHANGE_UPDATE) << d.device();
    EXPECT_THAT(absl::StrJoin(d.changes(), "\n"), HasSubstr("1800")) << d.device();
  }
  // The same pair keys in both renders: only the lifetime changed.
  EXPECT_EQ(first->policies.at("hub").policy.pre_shared_keys(0).key(),
            second->policies.at("hub").policy.pre_shared_keys(0).key());
}

TEST_P(RolloutTest, ListingReadsSummariesWithCounts) {
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  auto summaries = engine_.List();
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), 1u);
  const v1::Rollout& s = (*summaries)[0];
  EXPECT_EQ(s.id(), "rollout-1");
  EXPECT_EQ(s.state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(s.devices_size(), 0);
  EXPECT_EQ(s.devices_total(), 4u);
  EXPECT_EQ(s.devices_done(), 4u);
  EXPECT_EQ(s.devices_failed(), 0u);
  auto full = engine_.List(/*with_devices=*/true);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->size(), 1u);
  EXPECT_EQ((*full)[0].devices_size(), 4);
  EXPECT_EQ(engine_.Get("rollout-1")->devices_done(), 4u);

  // A store written before summaries existed: the rollout alone. Resuming
  // writes its summary, and the next rollout is numbered after it.
  v1::Rollout old = (*full)[0];
  old.set_id("rollout-2");
  old.clear_devices_done();
  ASSERT_TRUE(store_->Commit({{RolloutEngine::kRolloutKind, "rollout-2", old.SerializeAsString()}}, false, 0).ok());
  ASSERT_EQ(engine_.List()->size(), 1u);
  ASSERT_TRUE(engine_.ResumeAll(nullptr).ok());
  auto after = *engine_.List();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[1].id(), "rollout-2");
  EXPECT_EQ(after[1].devices_done(), 4u);
  auto next = engine_.Start(Request(), nullptr);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id(), "rollout-3");
}

TEST_P(RolloutTest, UnhealthyBatchIsRolledBackAndTheRolloutStops) {
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  // Change the policy; spoke2's tunnels will not come up.
  v1::DataSet ds = *inv_.GetDataSet("spoke1-vpn");
  auto t = *inv_.GetTemplate("hub-and-spoke");
  for (auto& v : *t.mutable_variables()) {
    if (v.name() == "sa_lifetime") v.set_default_value("1800");
  }
  ASSERT_TRUE(inv_.PutTemplate(t).ok());
  const ike::IkeConfig before = edges_.configs_["spoke2"];
  edges_.broken_.insert("spoke2");
  auto r = engine_.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  // The canary went back too: "rolled back" means no device runs the new policy.
  EXPECT_EQ(r->devices(0).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);  // the hub, the canary
  EXPECT_EQ(r->devices(1).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);  // spoke1, same batch
  EXPECT_EQ(r->devices(2).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);  // spoke2
  EXPECT_THAT(r->devices(2).message(), HasSubstr("tunnel to hub (crypto map FLEET 10, peer 198.51.100.1) is not up"));
  EXPECT_EQ(r->devices(3).state(), v1::DEVICE_ROLLOUT_STATE_WAITING);  // never touched
  for (const auto& d : r->devices()) {
    EXPECT_EQ(d.running(), v1::DEVICE_RUNNING_PREVIOUS) << d.device();
    EXPECT_EQ(d.running_revision(), r->desired_revision() - 1) << d.device();
  }
  EXPECT_EQ(r->devices_rollback_failed(), 0u);
  EXPECT_EQ(r->operator_action(), "");
  EXPECT_EQ(edges_.configs_["spoke2"].SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(edges_.configs_["spoke2"].crypto_maps(0).entries(0).lifetime().seconds(), 3600u);
  EXPECT_EQ(edges_.configs_["hub"].crypto_maps(0).entries(0).lifetime().seconds(), 3600u);
  EXPECT_THAT(progress_, ::testing::Contains(HasSubstr("every device it changed was rolled back")));
}

// The desired state changed after a first rollout: every device will update.
void ChangeLifetime(Inventory& inv, const std::string& seconds) {
  auto t = *inv.GetTemplate("hub-and-spoke");
  for (auto& v : *t.mutable_variables()) {
    if (v.name() == "sa_lifetime") v.set_default_value(seconds);
  }
  ASSERT_TRUE(inv.PutTemplate(t).ok());
}

TEST_P(RolloutTest, StartAppliesThePlanWithoutReadingTheEdgesAgain) {
  ASSERT_TRUE(engine_.Start(Request(), Collect()).ok());  // every edge now at configuration revision 1
  ChangeLifetime(inv_, "1800");
  auto plan = engine_.Plan({});
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const auto& d : plan->devices()) {
    EXPECT_EQ(d.change(), v1::DEVICE_CHANGE_UPDATE) << d.device();
    EXPECT_EQ(d.edge_config_revision(), 1u) << d.device();
  }
  const int reads = edges_.get_configs_;
  auto r = engine_.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(edges_.get_configs_, reads);  // what the plan read served
  EXPECT_EQ(edges_.applies_, 8);
  EXPECT_EQ(edges_.configs_["spoke2"].crypto_maps(0).entries(0).lifetime().seconds(), 1800u);
}

TEST_P(RolloutTest, AnEdgeChangedSinceThePlanStopsTheRolloutBeforeAnythingIsPushed) {
  ASSERT_TRUE(engine_.Start(Request(), Collect()).ok());
  ChangeLifetime(inv_, "1800");
  ASSERT_TRUE(engine_.Plan({}).ok());
  // Someone changes spoke2 on the edge itself after the plan.
  v1::Device spoke2 = *inv_.GetDevice("spoke2");
  ASSERT_TRUE(edges_.ReplaceConfig(spoke2, edges_.configs_["spoke2"], false, 0).ok());
  auto r = engine_.Start(Request(), Collect());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("spoke2: configuration is at revision 2, not 1"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("changed since the plan"));
  EXPECT_EQ(edges_.applies_, 5);  // the first rollout's four and the edge's own
  // A new plan reads it again, and the rollout goes through.
  ASSERT_TRUE(engine_.Plan({}).ok());
  auto again = engine_.Start(Request(), Collect());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(edges_.applies_, 9);
}

TEST_P(RolloutTest, APlanMadeBeforeARollbackIsNotReused) {
  auto first = engine_.Start(Request(), Collect());
  ASSERT_TRUE(first.ok());
  ChangeLifetime(inv_, "1800");
  ASSERT_TRUE(engine_.Plan({}).ok());
  ASSERT_TRUE(engine_.Rollback(first->id(), Collect()).ok());  // every edge changes after the plan
  const int reads = edges_.get_configs_;
  auto r = engine_.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_GT(edges_.get_configs_, reads);
}

// A router that takes configlets over a fake SSH session: what it was sent,
// and faults (refused before typing, refused half-way, a failed restore).
class FakeIos : public IosPusher {
 public:
  // With `edges`, a router's tunnels come up with vpnfleet peers as real IKE
  // would: per the policy read back from what it was sent.
  explicit FakeIos(FakeEdges* edges = nullptr) : edges_(edges) {}
  absl::StatusOr<std::string> Apply(const v1::Device& d, const std::string& configlet,
                                    const std::string& checkpoint) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (unreachable_.count(d.name())) return absl::UnavailableError("no route to host");
    checkpoints_[d.name()] = checkpoint;
    if (half_.count(d.name())) return absl::AbortedError("refused line 7 of 40");
    running_[d.name()] = configlet;
    if (edges_ != nullptr) {
      // A router that takes the lines but whose map never peers back (an
      // interface without the map, a wrong peer typed by hand).
      auto read = ios::ParseIosConfig(no_tunnels_.count(d.name()) ? "" : configlet);
      std::lock_guard<std::mutex> edges_lock(edges_->mu_);
      edges_->configs_[d.name()] = read.config;
    }
    return std::string("40 commands");
  }
  absl::Status Restore(const v1::Device& d, const std::string& checkpoint) override {
    std::lock_guard<std::mutex> lock(mu_);
    restored_.push_back(d.name());
    if (checkpoints_[d.name()] != checkpoint) return absl::NotFoundError("no such checkpoint");
    if (no_replace_.count(d.name())) return absl::FailedPreconditionError("configure replace: rollback aborted");
    return absl::OkStatus();
  }
  FakeEdges* edges_;
  std::mutex mu_;
  std::map<std::string, std::string> running_, checkpoints_;
  std::set<std::string> unreachable_, half_, no_replace_, no_tunnels_;
  std::vector<std::string> restored_;
};

// A router's health is asked of its vpnfleet peers; a vpnfleet edge's
// tunnels to a router this rollout pushed to are checked too.
TEST_P(RolloutTest, RoutersPassTheHealthGateThroughTheirVpnfleetPeers) {
  auto spoke1 = *inv_.GetDevice("spoke1");
  spoke1.set_kind(v1::DEVICE_KIND_IOS);
  ASSERT_TRUE(inv_.PutDevice(spoke1, false).ok());
  FakeIos routers(&edges_);
  RolloutOptions o = Options();
  o.ios = &routers;
  RolloutEngine engine{&inv_, &keys_, store_.get(), &box_, &edges_, &clock_, o};
  // The hub (vpnfleet) is the canary; spoke1 (a router) and spoke2 follow.
  auto first = engine.Start(Request(), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state(), v1::ROLLOUT_STATE_SUCCEEDED) << first->DebugString();
  EXPECT_THAT(first->devices(1).message(), HasSubstr("healthy"));
  {
    std::lock_guard<std::mutex> lock(edges_.mu_);
    bool hub_to_router = false;
    for (const auto& sa : edges_.sas_["hub"]) hub_to_router |= sa.remote_endpoint() == "198.51.100.2";
    EXPECT_TRUE(hub_to_router) << "the hub was asked to bring up its tunnel to the router";
  }

  // The router takes the new lines but its map does not peer back: its
  // health gate fails from the hub's side, and the rollout puts the router
  // back to its checkpoint and the hub and spoke2 to what they ran.
  ChangeLifetime(inv_, "1800");
  routers.no_tunnels_.insert("spoke1");
  auto r = engine.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(r->devices(1).device(), "spoke1");
  EXPECT_THAT(r->devices(1).message(), HasSubstr("tunnel from hub"));
  EXPECT_THAT(routers.restored_, ::testing::Contains("spoke1"));
  EXPECT_EQ(r->devices(0).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);
}

TEST_P(RolloutTest, IosRoutersArePushedToAndRolledBackWithTheirCheckpoint) {
  for (const char* name : {"hub", "spoke1", "spoke2", "spoke3"}) {
    auto d = *inv_.GetDevice(name);
    d.set_kind(v1::DEVICE_KIND_IOS);
    ASSERT_TRUE(inv_.PutDevice(d, false).ok());
  }
  FakeIos routers;
  RolloutOptions o = Options();
  o.ios = &routers;
  RolloutEngine engine{&inv_, &keys_, store_.get(), &box_, &edges_, &clock_, o};
  auto first = engine.Start(Request(), nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(first->devices(0).running(), v1::DEVICE_RUNNING_DESIRED);
  ASSERT_EQ(routers.running_.size(), 4u);
  EXPECT_THAT(routers.running_["spoke1"], HasSubstr("crypto map FLEET"));
  EXPECT_THAT(routers.running_["spoke1"], Not(HasSubstr(ios::kHiddenKey)));  // a router needs its keys
  EXPECT_EQ(routers.checkpoints_["hub"], IosCheckpointName(first->id()));
  EXPECT_EQ(edges_.applies_, 0);  // nothing went the vpnfleet way

  // spoke1 refuses half-way: everything the rollout reached goes back to
  // its checkpoint, spoke1 too (it may be half-changed).
  ChangeLifetime(inv_, "1800");
  routers.half_.insert("spoke1");
  auto r = engine.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_THAT(routers.restored_, UnorderedElementsAre("hub", "spoke1", "spoke2"));
  EXPECT_EQ(r->devices(1).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);

  // A router that could not be reached was not changed: nothing to restore
  // there; the hub's configure replace aborts: rollback failed, said so.
  routers.half_.clear();
  routers.restored_.clear();
  routers.unreachable_.insert("spoke2");
  routers.no_replace_.insert("hub");
  r = engine.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_EQ(r->devices(2).running(), v1::DEVICE_RUNNING_PREVIOUS);
  EXPECT_THAT(routers.restored_, UnorderedElementsAre("hub", "spoke1"));
  EXPECT_EQ(r->devices(0).state(), v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_THAT(r->devices(0).message(), HasSubstr("configure replace"));
  EXPECT_THAT(r->operator_action(), HasSubstr("hub"));
}

TEST_P(RolloutTest, AnEdgeThatHangsMidBatchIsReportedAsARollbackThatFailed) {
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  ChangeLifetime(inv_, "1800");
  // spoke2 applies the new policy but never answers, then stays unreachable
  // for the rollback too.
  edges_.hang_.insert("spoke2");
  edges_.broken_.insert("spoke2");
  auto r = engine_.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_EQ(r->devices(0).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);  // hub
  EXPECT_EQ(r->devices(1).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);  // spoke1
  EXPECT_EQ(r->devices(2).state(), v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_EQ(r->devices(2).running(), v1::DEVICE_RUNNING_UNKNOWN);
  EXPECT_EQ(r->devices(2).running_revision(), 0u);
  EXPECT_THAT(r->devices(2).message(), HasSubstr("apply failed: Deadline Exceeded"));
  EXPECT_THAT(r->devices(2).message(), HasSubstr("rollback failed: Deadline Exceeded"));
  EXPECT_EQ(r->devices_rollback_failed(), 1u);
  EXPECT_EQ(r->devices_rolled_back(), 2u);
  EXPECT_THAT(r->operator_action(), HasSubstr("spoke2 did not answer: either policy may be in place"));
  EXPECT_THAT(r->operator_action(), HasSubstr("vpnfleet rollout rollback rollout-2"));
  EXPECT_THAT(progress_, ::testing::Contains(HasSubstr("ROLLBACK FAILED on 1 device(s)")));
  // The truth is what the edge runs: the new policy, not what was reported before.
  EXPECT_EQ(edges_.configs_["spoke2"].crypto_maps(0).entries(0).lifetime().seconds(), 1800u);
  // Stored as such, and its summary says so.
  auto stored = engine_.Get(r->id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state(), v1::ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_EQ((*engine_.List())[1].devices_rollback_failed(), 1u);

  // The edge answers again: the rollback retries only what is left.
  edges_.unreachable_.clear();
  const int applies = edges_.applies_;
  auto again = engine_.Rollback(r->id(), Collect());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(edges_.applies_, applies + 1);
  EXPECT_EQ(again->devices(2).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(again->devices(2).running(), v1::DEVICE_RUNNING_PREVIOUS);
  EXPECT_EQ(again->operator_action(), "");
  EXPECT_EQ(edges_.configs_["spoke2"].crypto_maps(0).entries(0).lifetime().seconds(), 3600u);
}

TEST_P(RolloutTest, ARollbackTheEdgeRefusesLeavesItOnTheNewRevisionAndSaysSo) {
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  ChangeLifetime(inv_, "1800");
  edges_.broken_.insert("spoke2");  // its tunnels will not come up
  auto r = engine_.Start(Request(/*auto_rollback=*/false), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_FAILED);
  EXPECT_EQ(r->devices(0).running(), v1::DEVICE_RUNNING_DESIRED);
  EXPECT_EQ(r->devices(0).running_revision(), r->desired_revision());
  EXPECT_THAT(r->operator_action(), HasSubstr("hub, spoke1, spoke2 run revision"));
  EXPECT_EQ(r->devices(3).running(), v1::DEVICE_RUNNING_PREVIOUS);  // never reached

  // Now the hub refuses to go back.
  edges_.refuse_apply_.insert("hub");
  auto back = engine_.Rollback(r->id(), Collect());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->state(), v1::ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_EQ(back->devices(0).state(), v1::DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED);
  EXPECT_EQ(back->devices(0).running(), v1::DEVICE_RUNNING_DESIRED);  // it answered: no doubt
  EXPECT_EQ(back->devices(0).running_revision(), back->desired_revision());
  EXPECT_THAT(back->operator_action(), HasSubstr("hub still runs revision"));
  EXPECT_EQ(back->devices(1).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(back->devices(3).state(), v1::DEVICE_ROLLOUT_STATE_WAITING);
}

TEST_P(RolloutTest, AnApplyTheEdgeRefusedNeedsNoRollback) {
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  ChangeLifetime(inv_, "1800");
  edges_.refuse_apply_.insert("spoke1");
  auto r = engine_.Start(Request(), Collect());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state(), v1::ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(r->devices(1).state(), v1::DEVICE_ROLLOUT_STATE_FAILED);  // refused: untouched
  EXPECT_EQ(r->devices(1).running(), v1::DEVICE_RUNNING_PREVIOUS);
  EXPECT_EQ(r->devices(2).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);
  EXPECT_EQ(r->devices(0).state(), v1::DEVICE_ROLLOUT_STATE_ROLLED_BACK);
}

TEST_P(RolloutTest, NothingIsPushedWhenAnythingIsWrong) {
  v1::DataSet ds = *inv_.GetDataSet("spoke3-vpn");
  (*ds.mutable_values())["esp_transform"] = "esp-aes 999";
  ASSERT_TRUE(inv_.PutDataSet(ds).ok());
  auto r = engine_.Start(Request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("nothing was pushed"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("unknown transform 'esp-aes 999'"));
  EXPECT_EQ(edges_.applies_, 0);

  (*ds.mutable_values())["esp_transform"] = "esp-gcm 256";
  ASSERT_TRUE(inv_.PutDataSet(ds).ok());
  edges_.refuse_.insert("spoke1");
  r = engine_.Start(Request(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("the edge refused its policy"));
  EXPECT_EQ(edges_.applies_, 0);
}

TEST_P(RolloutTest, AControllerRestartedMidRolloutFinishesIt) {
  auto r = engine_.Start(Request(), nullptr);
  ASSERT_TRUE(r.ok());
  // As if the controller died with the last batch saved as applying and
  // spoke3 never reached: put that state back in the store.
  v1::Rollout crashed = *r;
  crashed.set_state(v1::ROLLOUT_STATE_RUNNING);
  crashed.mutable_devices(2)->set_state(v1::DEVICE_ROLLOUT_STATE_APPLYING);
  crashed.mutable_devices(3)->set_state(v1::DEVICE_ROLLOUT_STATE_APPLYING);
  v1::Rollout summary = crashed;  // both records change in one commit
  summary.clear_devices();
  ASSERT_TRUE(store_
                  ->Commit({{RolloutEngine::kRolloutKind, crashed.id(), crashed.SerializeAsString()},
                            {RolloutEngine::kSummaryKind, crashed.id(), summary.SerializeAsString()}},
                           false, 0)
                  .ok());
  edges_.configs_.erase("spoke3");
  const int applies = edges_.applies_;

  RolloutEngine restarted(&inv_, &keys_, store_.get(), &box_, &edges_, &clock_, Options());
  ASSERT_TRUE(restarted.ResumeAll(Collect()).ok());
  auto after = restarted.Get(r->id());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(edges_.applies_, applies + 2);  // the two unfinished devices, nothing else
  EXPECT_EQ(edges_.configs_["spoke3"].crypto_maps_size(), 1);
  EXPECT_THAT(progress_, ::testing::Contains(HasSubstr("resuming rollout-1")));
}

TEST_P(RolloutTest, ARolloutWhoseTargetIsUnreadableStopsWithDataLossAndPushesNothing) {
  auto r = engine_.Start(Request(), nullptr);
  ASSERT_TRUE(r.ok());
  v1::Rollout crashed = *r;
  crashed.set_state(v1::ROLLOUT_STATE_RUNNING);
  crashed.mutable_devices(3)->set_state(v1::DEVICE_ROLLOUT_STATE_APPLYING);
  v1::Rollout summary = crashed;
  summary.clear_devices();
  const std::string target = absl::StrCat(r->id(), "/", crashed.devices(3).device());
  ASSERT_TRUE(store_
                  ->Commit({{RolloutEngine::kRolloutKind, crashed.id(), crashed.SerializeAsString()},
                            {RolloutEngine::kSummaryKind, crashed.id(), summary.SerializeAsString()},
                            {RolloutEngine::kTargetKind, target, "not sealed by us"}},
                           false, 0)
                  .ok());
  const int applies = edges_.applies_;
  RolloutEngine restarted(&inv_, &keys_, store_.get(), &box_, &edges_, &clock_, Options());
  auto resumed = restarted.ResumeAll(Collect());
  EXPECT_EQ(resumed.code(), absl::StatusCode::kDataLoss) << resumed;
  EXPECT_THAT(std::string(resumed.message()), HasSubstr(target));
  EXPECT_EQ(edges_.applies_, applies);  // no empty policy pushed

  // A target that is gone is as lost as one that does not open.
  ASSERT_TRUE(store_->Commit({{RolloutEngine::kTargetKind, target, std::nullopt}}, false, 0).ok());
  EXPECT_EQ(restarted.ResumeAll(Collect()).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(edges_.applies_, applies);
}

TEST_P(RolloutTest, AnUnreadableRolloutRecordIsReportedNotDropped) {
  ASSERT_TRUE(engine_.Start(Request(), nullptr).ok());
  ASSERT_TRUE(store_->Commit({{RolloutEngine::kSummaryKind, "rollout-9", "\xff\xff"}}, false, 0).ok());
  auto listed = engine_.List(false);
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(listed.status().message()), HasSubstr("rollout-9"));
}

// The devices' statuses live in parts; the rollout's own record does not
// carry them, and a part that is gone is data lost, not an empty rollout.
TEST_P(RolloutTest, DevicesAreStoredInPartsAndAMissingPartIsDataLoss) {
  auto r = engine_.Start(Request(), nullptr);
  ASSERT_TRUE(r.ok());
  auto header = store_->Get(RolloutEngine::kRolloutKind, r->id());
  ASSERT_TRUE(header.ok() && header->has_value());
  v1::Rollout stored;
  ASSERT_TRUE(stored.ParseFromString(**header));
  EXPECT_EQ(stored.devices_size(), 0);
  EXPECT_EQ(stored.devices_total(), 4u);
  const std::string part = RolloutEngine::PartName(r->id(), 0);
  auto part_rec = store_->Get(RolloutEngine::kPartKind, part);
  ASSERT_TRUE(part_rec.ok() && part_rec->has_value());
  auto got = engine_.Get(r->id());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->devices_size(), 4);
  EXPECT_EQ(got->devices(3).state(), v1::DEVICE_ROLLOUT_STATE_DONE);
  EXPECT_EQ(got->devices_done(), 4u);
  auto listed = engine_.List(/*with_devices=*/true);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->at(0).devices_size(), 4);

  ASSERT_TRUE(store_->Commit({{RolloutEngine::kPartKind, part, std::nullopt}}, false, 0).ok());
  auto lost = engine_.Get(r->id());
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(lost.status().message()), HasSubstr("part 0 of its devices is missing"));
  EXPECT_EQ(engine_.List(true).status().code(), absl::StatusCode::kDataLoss);
}

INSTANTIATE_TEST_SUITE_P(Backends, RolloutTest, StoreBackends(), StoreBackendName);

}  // namespace
}  // namespace vpnfleet::controller
