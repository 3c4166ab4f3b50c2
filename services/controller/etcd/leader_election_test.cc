// Leader election against a real etcd on loopback.
#include "services/controller/etcd/leader_election.h"

#include <atomic>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/controller/etcd/local_etcd.h"

namespace vpnfleet::controller {
namespace {

class LeaderElectionTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdInstalled()) GTEST_SKIP() << "etcd is not installed (apt install etcd-server)";
    auto started = LocalEtcd::Start(1);
    ASSERT_TRUE(started.ok()) << started.status();
    etcd_ = std::move(*started);
    EtcdClientOptions options;
    options.endpoints = {etcd_->endpoint(0)};
    options.call_timeout = absl::Seconds(2);
    client_ = std::shared_ptr<EtcdClient>(*EtcdClient::Connect(options));
  }

  struct Replica {
    std::atomic<int64_t> elected{0};
    std::atomic<bool> lost{false};
    std::unique_ptr<LeaderElection> election;
  };

  std::unique_ptr<Replica> StartReplica(const std::string& name, absl::Duration lease = absl::Seconds(3)) {
    auto r = std::make_unique<Replica>();
    Replica* raw = r.get();
    r->election = std::make_unique<LeaderElection>(
        client_, LeaderElectionOptions{"/vpnfleet/leader", name, lease},
        LeaderElection::Callbacks{[raw](int64_t rev) { raw->elected = rev; }, [raw] { raw->lost = true; }});
    r->election->Start();
    return r;
  }

  static bool Eventually(const std::function<bool()>& cond, absl::Duration within) {
    const absl::Time end = absl::Now() + within;
    while (absl::Now() < end) {
      if (cond()) return true;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return cond();
  }

  std::unique_ptr<LocalEtcd> etcd_;
  std::shared_ptr<EtcdClient> client_;
};

TEST_F(LeaderElectionTest, OneLeadsTheOtherFollowsAndNamesIt) {
  auto a = StartReplica("a at 10.0.0.1:7405");
  ASSERT_TRUE(Eventually([&] { return a->election->leading(); }, absl::Seconds(5)));
  auto b = StartReplica("b at 10.0.0.2:7405");
  ASSERT_TRUE(Eventually([&] { return b->election->leader() == "a at 10.0.0.1:7405"; }, absl::Seconds(5)));
  EXPECT_FALSE(b->election->leading());
  EXPECT_EQ(b->elected, 0);
  EXPECT_GT(a->elected, 0);
}

TEST_F(LeaderElectionTest, AResigningLeaderIsReplacedAtOnce) {
  auto a = StartReplica("a");
  ASSERT_TRUE(Eventually([&] { return a->election->leading(); }, absl::Seconds(5)));
  auto b = StartReplica("b", absl::Seconds(30));
  ASSERT_TRUE(Eventually([&] { return b->election->leader() == "a"; }, absl::Seconds(5)));
  const absl::Time resigned = absl::Now();
  a->election->Stop();
  ASSERT_TRUE(Eventually([&] { return b->election->leading(); }, absl::Seconds(5)));
  // Well inside a's lease (3 s): the resignation, not the expiry, did it.
  EXPECT_LT(absl::Now() - resigned, absl::Seconds(2));
  EXPECT_FALSE(a->lost);  // stopping is not losing
}

TEST_F(LeaderElectionTest, ALeaderThatCannotReachEtcdStepsDownBeforeItsLeaseEnds) {
  auto a = StartReplica("a", absl::Seconds(4));
  ASSERT_TRUE(Eventually([&] { return a->election->leading(); }, absl::Seconds(5)));
  const absl::Time cut = absl::Now();
  etcd_->Kill(0);
  ASSERT_TRUE(Eventually([&] { return a->lost.load(); }, absl::Seconds(6)));
  // Deposed by its own clock before etcd could have let anyone else in.
  EXPECT_LT(absl::Now() - cut, absl::Seconds(4));
  EXPECT_FALSE(a->election->leading());
}

TEST_F(LeaderElectionTest, ALeaderWhoseKeyIsDeletedStopsLeading) {
  auto a = StartReplica("a");
  ASSERT_TRUE(Eventually([&] { return a->election->leading(); }, absl::Seconds(5)));
  etcdserverpb::TxnRequest del;
  del.add_success()->mutable_request_delete_range()->set_key("/vpnfleet/leader");
  ASSERT_TRUE(client_->Txn(del).ok());
  ASSERT_TRUE(Eventually([&] { return a->lost.load(); }, absl::Seconds(5)));
}

}  // namespace
}  // namespace vpnfleet::controller
