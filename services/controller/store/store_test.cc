// The Store contract, held by both backends: SQLite and a real etcd started
// on loopback from Debian's package. Then what only the etcd store has to
// show: writers on several replicas, fencing, and a member going down.
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/random/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/controller/etcd/etcd_client.h"
#include "services/controller/etcd/local_etcd.h"
#include "services/controller/store/change_queue.h"
#include "services/controller/store/etcd_store.h"
#include "services/controller/store/sqlite_store.h"
#include "services/controller/store/test_stores.h"

namespace vpnfleet::controller {
namespace {

using ::testing::ElementsAre;

enum class Backend { kSqlite, kEtcd };

std::string BackendName(const testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Etcd";
}

std::vector<std::string> Names(const std::vector<StoreRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.name);
  return out;
}

std::shared_ptr<EtcdClient> Client(const std::string& endpoints) {
  EtcdClientOptions options;
  options.endpoints = *ParseEtcdEndpoints(endpoints);
  options.call_timeout = absl::Seconds(5);
  return std::shared_ptr<EtcdClient>(*EtcdClient::Connect(options));
}

class StoreTest : public testing::TestWithParam<Backend> {
 protected:
  // One etcd for the whole suite; every test has a prefix of its own.
  static void SetUpTestSuite() { TestStores::StartEtcd(); }
  static void TearDownTestSuite() { TestStores::StopEtcd(); }

  void SetUp() override {
    if (GetParam() == Backend::kEtcd && !TestStores::etcd()) GTEST_SKIP() << "etcd is not installed (apt install etcd-server)";
    static int next = 0;
    prefix_ = absl::StrCat("/store-test-", ++next, "/");
    path_ = absl::StrCat(testing::TempDir(), "/store-test-", getpid(), "-", next, ".db");
    store_ = Open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }

  // A new store object over the same data (a restart).
  std::unique_ptr<Store> Open() {
    if (GetParam() == Backend::kSqlite) {
      auto s = SqliteStore::Open(path_);
      EXPECT_TRUE(s.ok()) << s.status();
      return s.ok() ? std::move(*s) : nullptr;
    }
    auto s = EtcdStore::Open(Client(TestStores::etcd()->endpoints()), prefix_, &rng_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  SeededRng rng_{7};
  std::string prefix_, path_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, AnEmptyStoreIsAtRevisionZero) {
  EXPECT_EQ(*store_->Revision(), 0u);
  EXPECT_TRUE(store_->List("device")->empty());
  EXPECT_FALSE(store_->Get("device", "a")->has_value());
  EXPECT_TRUE(store_->History(0, 100)->empty());
}

TEST_P(StoreTest, DesiredCommitsTakeTheNextRevisionAndAreKeptInHistory) {
  ASSERT_EQ(*store_->Commit({{"device", "a", "A1"}, {"template", "t", "T1"}}, true, 100), 1u);
  ASSERT_EQ(*store_->Commit({{"device", "a", std::nullopt}}, true, 200), 2u);
  // Operational commits change records, not the revision, and leave no history.
  ASSERT_EQ(*store_->Commit({{"rollout", "r1", "R"}}, false, 300), 2u);
  EXPECT_EQ(*store_->Revision(), 2u);
  EXPECT_FALSE(store_->Get("device", "a")->has_value());
  EXPECT_EQ(**store_->Get("template", "t"), "T1");
  EXPECT_EQ(**store_->Get("rollout", "r1"), "R");

  auto history = *store_->History(0, 100);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].revision, 1u);
  EXPECT_EQ(history[0].changed_unix_seconds, 100);
  EXPECT_EQ(history[0].kind, "device");
  EXPECT_FALSE(history[0].deleted);
  EXPECT_EQ(history[1].revision, 1u);
  EXPECT_EQ(history[1].name, "t");
  EXPECT_EQ(history[2].revision, 2u);
  EXPECT_TRUE(history[2].deleted);
  EXPECT_EQ(store_->History(1, 100)->size(), 1u);
  EXPECT_EQ(store_->History(0, 1)->size(), 1u);
  EXPECT_TRUE(store_->History(2, 100)->empty());
  EXPECT_TRUE(store_->History(0, 0)->empty());
}

TEST_P(StoreTest, ListIsOneKindOrderedByNameWithValuesByteForByte) {
  const std::string binary("\0\x01\xff", 3);
  ASSERT_TRUE(store_->Commit({{"device", "b", "2"},
                              {"device", "a/x", binary},
                              {"device", "a", "1"},
                              {"device-summary", "a", "other kind"},
                              {"dev", "a", "other kind"}},
                             true, 1)
                  .ok());
  auto devices = *store_->List("device");
  EXPECT_THAT(Names(devices), ElementsAre("a", "a/x", "b"));
  EXPECT_EQ(devices[1].value, binary);
  EXPECT_EQ(devices[1].kind, "device");
  EXPECT_THAT(Names(*store_->List("dev")), ElementsAre("a"));
}

TEST_P(StoreTest, TheLastWriteOfARecordInACommitCounts) {
  ASSERT_TRUE(store_->Commit({{"device", "a", "first"}, {"device", "a", "second"}}, true, 1).ok());
  EXPECT_EQ(**store_->Get("device", "a"), "second");
  ASSERT_TRUE(store_->Commit({{"device", "a", "x"}, {"device", "a", std::nullopt}}, false, 1).ok());
  EXPECT_FALSE(store_->Get("device", "a")->has_value());
}

TEST_P(StoreTest, EverythingCommittedIsThereAfterARestart) {
  ASSERT_TRUE(store_->Commit({{"device", "a", "A"}}, true, 1).ok());
  ASSERT_TRUE(store_->Commit({{"pair-key", "a|b", "sealed"}}, false, 1).ok());
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(*store_->Revision(), 1u);
  EXPECT_EQ(**store_->Get("device", "a"), "A");
  EXPECT_EQ(**store_->Get("pair-key", "a|b"), "sealed");
  EXPECT_EQ(store_->History(0, 10)->size(), 1u);
}

TEST_P(StoreTest, ACommitOfTwentyThousandRecordsIsWholeAndListsInPages) {
  std::vector<StoreWrite> writes;
  for (int i = 0; i < 20000; ++i) {
    writes.push_back({"rollout-target", absl::StrFormat("edge-%05d", i), std::string(200, 'v')});
  }
  ASSERT_TRUE(store_->Commit(writes, false, 1).ok());
  auto listed = *store_->List("rollout-target");
  ASSERT_EQ(listed.size(), 20000u);
  EXPECT_EQ(listed.front().name, "edge-00000");
  EXPECT_EQ(listed.back().name, "edge-19999");
}

TEST_P(StoreTest, GetManyAnswersInTheOrderAskedAcrossBatchesWithAbsentOnesEmpty) {
  std::vector<StoreWrite> writes;
  for (int i = 0; i < 300; i += 2) {  // the odd ones do not exist
    writes.push_back({"applied", absl::StrFormat("edge-%03d", i), absl::StrCat(std::string("\0\xff", 2), i)});
  }
  writes.push_back({"applied-other", "edge-001", "another kind"});
  ASSERT_TRUE(store_->Commit(writes, false, 1).ok());
  std::vector<std::string> names;
  for (int i = 299; i >= 0; --i) names.push_back(absl::StrFormat("edge-%03d", i));  // 300 names: three batches on etcd
  names.push_back("edge-010");                                                     // asked twice
  names.push_back("");
  auto got = store_->GetMany("applied", names);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), names.size());
  for (int i = 299; i >= 0; --i) {
    const auto& value = (*got)[static_cast<size_t>(299 - i)];
    if (i % 2 == 1) {
      EXPECT_FALSE(value.has_value()) << i;
    } else {
      ASSERT_TRUE(value.has_value()) << i;
      EXPECT_EQ(*value, absl::StrCat(std::string("\0\xff", 2), i));
    }
  }
  EXPECT_EQ((*got)[300], absl::StrCat(std::string("\0\xff", 2), 10));
  EXPECT_FALSE((*got)[301].has_value());
  EXPECT_TRUE(store_->GetMany("applied", {})->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, testing::Values(Backend::kSqlite, Backend::kEtcd), BackendName);

// Changes a watch hands out, read until `n` came or 5 s passed, as
// "kind/name=value" ("kind/name deleted").
std::vector<std::string> Drain(StoreWatch& watch, size_t n) {
  std::vector<std::string> out;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (out.size() < n && absl::Now() < deadline) {
    auto changes = watch.Next(absl::Milliseconds(200));
    if (!changes.ok()) {
      out.push_back(absl::StrCat("error: ", changes.status().message()));
      break;
    }
    for (const auto& c : *changes) {
      out.push_back(c.value ? absl::StrCat(c.kind, "/", c.name, "=", *c.value)
                            : absl::StrCat(c.kind, "/", c.name, " deleted"));
    }
  }
  return out;
}

TEST_P(StoreTest, AWatchSeesEveryCommitAfterItOpensInOrder) {
  ASSERT_TRUE(store_->Commit({{"device", "before", "0"}}, true, 1).ok());
  auto watch = store_->Watch();
  ASSERT_TRUE(watch.ok()) << watch.status();
  auto idle = (*watch)->Next(absl::Milliseconds(50));
  ASSERT_TRUE(idle.ok());
  EXPECT_TRUE(idle->empty()) << "what came before the watch is not replayed";
  ASSERT_TRUE(store_->Commit({{"device", "a", "A1"}, {"template", "t/1", "T1"}}, true, 2).ok());
  ASSERT_TRUE(store_->Commit({{"rollout", "r1", "R"}}, false, 3).ok());
  ASSERT_TRUE(store_->Commit({{"device", "a", std::nullopt}, {"device", "before", "1"}}, true, 4).ok());
  EXPECT_THAT(Drain(**watch, 5), ElementsAre("device/a=A1", "template/t/1=T1", "rollout/r1=R", "device/a deleted",
                                             "device/before=1"));
  // A watch dropped by its reader costs the store nothing.
  watch->reset();
  ASSERT_TRUE(store_->Commit({{"device", "c", "C"}}, true, 5).ok());
}

TEST_P(StoreTest, WatchedChangesCarryTheRevisionTheirCommitMade) {
  ASSERT_TRUE(store_->Commit({{"device", "before", "0"}}, true, 1).ok());  // revision 1
  auto watch = store_->Watch();
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(store_->Commit({{"device", "a", "A"}, {"template", "t", "T"}}, true, 2).ok());  // 2
  ASSERT_TRUE(store_->Commit({{"rollout", "r1", "R"}}, false, 3).ok());                       // operational
  ASSERT_TRUE(store_->Commit({{"device", "a", std::nullopt}}, true, 4).ok());                 // 3
  std::vector<std::string> seen;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (seen.size() < 4 && absl::Now() < deadline) {
    auto changes = (*watch)->Next(absl::Milliseconds(200));
    ASSERT_TRUE(changes.ok()) << changes.status();
    for (const auto& c : *changes) seen.push_back(absl::StrCat(c.kind, "/", c.name, "@", c.revision));
  }
  EXPECT_THAT(seen, ElementsAre("device/a@2", "template/t@2", "rollout/r1@0", "device/a@3"));
}

TEST(ChangeQueueTest, AReaderTooFarBehindLosesItsWatchAfterWhatWasQueued) {
  ChangeQueue queue(3);
  queue.Push({{"device", "a", "1"}, {"device", "b", "1"}});
  queue.Push({{"device", "c", "1"}, {"device", "d", "1"}});  // over capacity: fails the watch
  queue.Push({{"device", "e", "1"}});
  auto first = queue.Next(absl::ZeroDuration());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 2u);
  auto then = queue.Next(absl::ZeroDuration());
  EXPECT_EQ(then.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.Next(absl::ZeroDuration()).status().code(), absl::StatusCode::kResourceExhausted);
}

// What only the etcd store has to show.
class EtcdStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdInstalled()) GTEST_SKIP() << "etcd is not installed (apt install etcd-server)";
  }
  void Start(int members) {
    auto started = LocalEtcd::Start(members);
    ASSERT_TRUE(started.ok()) << started.status();
    etcd_ = std::move(*started);
  }
  std::unique_ptr<EtcdStore> OpenStore(const std::string& prefix = "/vpnfleet/") {
    auto s = EtcdStore::Open(Client(etcd_->endpoints()), prefix, &rng_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  SystemRng rng_;
  std::unique_ptr<LocalEtcd> etcd_;
};

TEST_F(EtcdStoreTest, ReplicasWritingAtOnceNeverShareARevision) {
  Start(1);
  constexpr int kReplicas = 4, kCommits = 25;
  std::vector<std::unique_ptr<EtcdStore>> replicas;
  for (int i = 0; i < kReplicas; ++i) replicas.push_back(OpenStore());
  std::vector<std::vector<uint64_t>> got(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      for (int c = 0; c < kCommits; ++c) {
        auto rev = replicas[i]->Commit({{"device", absl::StrCat("r", i, "-", c), "v"}}, true, 1);
        if (rev.ok()) got[i].push_back(*rev);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> revisions;
  for (const auto& g : got) {
    EXPECT_EQ(g.size(), static_cast<size_t>(kCommits));
    revisions.insert(g.begin(), g.end());
  }
  EXPECT_EQ(revisions.size(), static_cast<size_t>(kReplicas * kCommits));
  EXPECT_EQ(*revisions.rbegin(), static_cast<uint64_t>(kReplicas * kCommits));
  auto history = *replicas[0]->History(0, 1000);
  ASSERT_EQ(history.size(), static_cast<size_t>(kReplicas * kCommits));
  for (size_t i = 0; i < history.size(); ++i) EXPECT_EQ(history[i].revision, i + 1);
}

TEST_F(EtcdStoreTest, AWriterWhoseElectionKeyIsGoneCannotWrite) {
  Start(1);
  auto client = Client(etcd_->endpoints());
  auto store = *EtcdStore::Open(client, "/vpnfleet/", &rng_);
  auto put_key = [&] {
    etcdserverpb::TxnRequest txn;
    txn.add_success()->mutable_request_put()->set_key("/vpnfleet/leader");
    auto r = client->Txn(txn);
    return r->header().revision();
  };
  const int64_t created = put_key();
  store->SetFence(EtcdFence{"/vpnfleet/leader", created});
  ASSERT_TRUE(store->Commit({{"device", "a", "1"}}, true, 1).ok());
  ASSERT_TRUE(store->Commit({{"rollout", "r", "1"}}, false, 1).ok());

  etcdserverpb::TxnRequest del;
  del.add_success()->mutable_request_delete_range()->set_key("/vpnfleet/leader");
  ASSERT_TRUE(client->Txn(del).ok());
  auto refused = store->Commit({{"device", "b", "1"}}, true, 1);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  EXPECT_EQ(store->Commit({{"rollout", "r", "2"}}, false, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  // Another replica's key under the same name is not ours either.
  put_key();
  EXPECT_EQ(store->Commit({{"device", "b", "1"}}, true, 1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(store->Get("device", "b")->has_value());
  EXPECT_EQ(**store->Get("rollout", "r"), "1");
  EXPECT_EQ(*store->Revision(), 1u);
}

TEST_F(EtcdStoreTest, PrefixesKeepControllersApartAndKindsAreChecked) {
  Start(1);
  auto a = OpenStore("/fleet-a/"), b = OpenStore("/fleet-b/");
  ASSERT_TRUE(a->Commit({{"device", "x", "a"}}, true, 1).ok());
  EXPECT_EQ(*b->Revision(), 0u);
  EXPECT_TRUE(b->List("device")->empty());
  EXPECT_EQ(a->Commit({{"dev/ice", "x", "a"}}, true, 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(EtcdStore::Open(Client(etcd_->endpoints()), "no-slash", &rng_).ok());
}

TEST_F(EtcdStoreTest, AnUnreachableEtcdFailsAtOpenWithTheEndpoint) {
  Start(1);
  const std::string endpoint = etcd_->endpoint(0);
  etcd_->Kill(0);
  EtcdClientOptions options;
  options.endpoints = {endpoint};
  options.call_timeout = absl::Seconds(1);
  auto opened = EtcdStore::Open(std::shared_ptr<EtcdClient>(*EtcdClient::Connect(options)), "/vpnfleet/", &rng_);
  ASSERT_FALSE(opened.ok());
  EXPECT_THAT(std::string(opened.status().message()), ::testing::HasSubstr(endpoint));
}

TEST_F(EtcdStoreTest, TheStoreKeepsWorkingWithTwoOfThreeMembers) {
  Start(3);
  auto store = OpenStore();
  ASSERT_TRUE(store->Commit({{"device", "a", "1"}}, true, 1).ok());
  etcd_->Kill(0);  // the member the client talks to first
  auto rev = store->Commit({{"device", "b", "1"}}, true, 1);
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(*rev, 2u);
  EXPECT_THAT(Names(*store->List("device")), ElementsAre("a", "b"));
}

TEST_F(EtcdStoreTest, AWatchSeesOtherReplicasCommitsAndEndsWhenItsMemberDies) {
  Start(3);
  auto writer = OpenStore(), reader = OpenStore();
  auto watch = reader->Watch();
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(writer->Commit({{"device", "a", "1"}, {"device", "b", "1"}}, true, 1).ok());
  ASSERT_TRUE(OpenStore("/other/")->Commit({{"device", "x", "1"}}, true, 1).ok());  // another fleet's prefix
  ASSERT_TRUE(writer->Commit({{"rollout-summary", "rollout-1", "S"}}, false, 1).ok());
  EXPECT_THAT(Drain(**watch, 3), ElementsAre("device/a=1", "device/b=1", "rollout-summary/rollout-1=S"));
  // The reader's client talks to member 0 first: the watch ends with an
  // error (the reader reloads and watches again, on a member still up).
  etcd_->Kill(0);
  auto ended = Drain(**watch, 1);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_THAT(ended[0], ::testing::StartsWith("error: "));
  auto again = reader->Watch();
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(writer->Commit({{"device", "c", "1"}}, true, 1).ok());
  EXPECT_THAT(Drain(**again, 1), ElementsAre("device/c=1"));
}

TEST(EtcdEndpointsTest, ParsesTheStoreFlag) {
  EXPECT_THAT(*ParseEtcdEndpoints("etcd:10.0.0.1:2379, https://etcd-1.etcd:2379"),
              ElementsAre("10.0.0.1:2379", "etcd-1.etcd:2379"));
  EXPECT_FALSE(ParseEtcdEndpoints("etcd:").ok());
  EXPECT_FALSE(ParseEtcdEndpoints("etcd:host").ok());
  EXPECT_FALSE(ParseEtcdEndpoints("etcd:host:0").ok());
  EXPECT_FALSE(ParseEtcdEndpoints("etcd:host:99999").ok());
  EXPECT_EQ(EtcdPrefixEnd("/a/"), "/a0");
  EXPECT_EQ(EtcdPrefixEnd(std::string("a\xff", 2)), "b");
}

}  // namespace
}  // namespace vpnfleet::controller
