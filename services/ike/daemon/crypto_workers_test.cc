#include "services/ike/daemon/crypto_workers.h"

#include <atomic>
#include <set>
#include <thread>

#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

TEST(CryptoWorkersTest, WithoutThreadsAJobRunsAtOnceOnTheCaller) {
  CryptoWorkers w(0);
  std::thread::id ran_on;
  w.Submit([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(w.pending(), 0u);
}

TEST(CryptoWorkersTest, JobsRunOnTheWorkersAndStopFinishesThem) {
  CryptoWorkers w(2);
  std::atomic<int> done{0};
  std::mutex mu;
  std::set<std::thread::id> threads;
  for (int i = 0; i < 1000; ++i) {
    w.Submit([&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        threads.insert(std::this_thread::get_id());
      }
      done.fetch_add(1);
    });
  }
  w.Stop();  // every job given before Stop has run when it returns
  EXPECT_EQ(done.load(), 1000);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(w.pending(), 0u);
}

TEST(CryptoWorkersTest, AfterStopAJobRunsOnTheCaller) {
  CryptoWorkers w(1);
  w.Stop();
  std::thread::id ran_on;
  w.Submit([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(CryptoWorkersTest, PendingCountsJobsUntilTheyFinish) {
  CryptoWorkers w(1);
  std::mutex gate;
  gate.lock();
  w.Submit([&] { std::lock_guard<std::mutex> lock(gate); });
  w.Submit([] {});
  EXPECT_EQ(w.pending(), 2u);
  gate.unlock();
  w.Stop();
  EXPECT_EQ(w.pending(), 0u);
}

}  // namespace
}  // namespace vpnfleet::ike
