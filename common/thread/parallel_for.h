// Runs fn(0), ..., fn(n - 1) on up to `workers` threads, the caller's
// included; returns when all are done. Indices are handed out one at a
// time, so uneven items (a hub among spokes) do not leave a thread idle.
#ifndef VPNFLEET_COMMON_THREAD_PARALLEL_FOR_H_
#define VPNFLEET_COMMON_THREAD_PARALLEL_FOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

namespace vpnfleet {

inline void ParallelFor(size_t n, size_t workers, const std::function<void(size_t)>& fn) {
  workers = std::max<size_t>(1, std::min(workers, n));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

}  // namespace vpnfleet

#endif  // VPNFLEET_COMMON_THREAD_PARALLEL_FOR_H_
