#include "services/controller/server/progress_stream.h"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vpnfleet::controller {
namespace {

v1::RolloutProgress Wide(const std::string& message) {
  v1::RolloutProgress p;
  p.set_message(message);
  return p;
}

v1::RolloutProgress Device(int i) {
  v1::RolloutProgress p;
  p.mutable_rollout()->add_devices()->set_device("spoke" + std::to_string(i));
  p.set_devices_done(static_cast<uint32_t>(i));
  return p;
}

// A client that reads nothing until released: pushes do not wait for it,
// device updates beyond the queue are skipped, every rollout-wide message
// arrives, in order.
TEST(ProgressStream, AStalledClientHoldsUpNothingAndLosesNoRolloutWideMessage) {
  std::mutex gate;
  gate.lock();
  std::vector<std::string> wide;
  int devices = 0;
  ProgressStream stream(
      [&](const v1::RolloutProgress& p, bool) {
        std::lock_guard<std::mutex> wait(gate);
        if (p.rollout().devices_size() > 0) {
          ++devices;
        } else {
          wide.push_back(p.message());
        }
        return true;
      },
      /*max_queued_device_updates=*/8);
  stream.Push(Wide("started"));
  for (int i = 0; i < 10000; ++i) {
    stream.Push(Device(i));
    if (i % 1000 == 999) stream.Push(Wide("batch " + std::to_string(i / 1000 + 1)));
  }
  stream.Push(Wide("succeeded"));
  // All of that returned while the client read nothing.
  EXPECT_GE(stream.skipped(), 10000u - 9u);
  gate.unlock();
  stream.Finish();
  ASSERT_EQ(wide.size(), 12u);
  EXPECT_EQ(wide.front(), "started");
  EXPECT_EQ(wide[5], "batch 5");
  EXPECT_EQ(wide.back(), "succeeded");
  EXPECT_EQ(static_cast<uint64_t>(devices) + stream.skipped(), 10000u);
}

TEST(ProgressStream, AFastClientGetsEveryUpdate) {
  std::atomic<int> got{0};
  std::atomic<int> buffered{0};
  ProgressStream stream([&](const v1::RolloutProgress&, bool more) {
    ++got;
    buffered += more;
    return true;
  });
  for (int i = 0; i < 300; ++i) {
    stream.Push(Device(i));
    std::this_thread::yield();
  }
  stream.Finish();
  // With at most 512 queued, none of 300 is skipped.
  EXPECT_EQ(got.load(), 300);
  EXPECT_EQ(stream.skipped(), 0u);
}

TEST(ProgressStream, AClientThatWentAwayIsNotWrittenToAgain) {
  int writes = 0;
  ProgressStream stream([&](const v1::RolloutProgress&, bool) {
    ++writes;
    return false;
  });
  stream.Push(Wide("one"));
  stream.Finish();
  stream.Push(Wide("after finish"));  // discarded, no crash
  EXPECT_EQ(writes, 1);
}

}  // namespace
}  // namespace vpnfleet::controller
