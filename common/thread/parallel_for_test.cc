#include "common/thread/parallel_for.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vpnfleet {
namespace {

TEST(ParallelFor, EveryIndexExactlyOnce) {
  for (size_t workers : {0, 1, 2, 7, 100}) {
    std::vector<std::atomic<int>> seen(37);
    ParallelFor(seen.size(), workers, [&](size_t i) { ++seen[i]; });
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "index " << i << ", " << workers << " workers";
  }
  ParallelFor(0, 4, [](size_t) { ADD_FAILURE() << "no items, no calls"; });
}

TEST(ParallelFor, OneWorkerIsTheCallersThreadInOrder) {
  std::vector<size_t> order;
  const auto caller = std::this_thread::get_id();
  ParallelFor(5, 1, [&](size_t i) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    order.push_back(i);
  });
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
}

TEST(ParallelFor, UsesAtMostTheWorkersAskedFor) {
  std::mutex mu;
  std::set<std::thread::id> threads;
  std::atomic<int> running{0}, most{0};
  ParallelFor(64, 3, [&](size_t) {
    int now = ++running;
    for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    --running;
  });
  EXPECT_LE(threads.size(), 3u);
  EXPECT_LE(most.load(), 3);
}

}  // namespace
}  // namespace vpnfleet
