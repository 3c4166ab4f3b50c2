// A rollout's progress, from the engine's worker threads to one client
// stream, without the rollout waiting on the client. Writes happen on the
// stream's own thread; Push never blocks on the network. When the client
// reads slower than the rollout runs, per-device updates beyond a bounded
// queue are skipped (each later message still carries devices_done and the
// rollout's state, and GetRollout has every device); rollout-wide messages
// (stages, the outcome) are always delivered, in order. A client that stops
// reading therefore neither stalls the edges' workers nor grows memory.
#ifndef VPNFLEET_SERVICES_CONTROLLER_SERVER_PROGRESS_STREAM_H_
#define VPNFLEET_SERVICES_CONTROLLER_SERVER_PROGRESS_STREAM_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "grpcpp/support/sync_stream.h"
#include "services/controller/rollout/rollout_engine.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {

class ProgressStream {
 public:
  // `write(message, more_follow)` sends one message (more_follow: others are
  // queued behind it, so it may be buffered); false when the client is gone,
  // after which messages are discarded.
  using WriteFn = std::function<bool(const v1::RolloutProgress&, bool more_follow)>;
  static constexpr size_t kMaxQueuedDeviceUpdates = 512;

  explicit ProgressStream(WriteFn write, size_t max_queued_device_updates = kMaxQueuedDeviceUpdates);
  ~ProgressStream();  // Finish()
  ProgressStream(const ProgressStream&) = delete;
  ProgressStream& operator=(const ProgressStream&) = delete;

  // Thread-safe. A message about one device has rollout().devices() set.
  void Push(v1::RolloutProgress p);
  // Sends what is queued, then stops the writer thread. Idempotent.
  void Finish();

  uint64_t skipped() const;  // device updates not sent

 private:
  void Run();

  WriteFn write_;
  const size_t max_device_updates_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<v1::RolloutProgress> queue_;
  size_t queued_device_updates_ = 0;
  uint64_t skipped_ = 0;
  bool finishing_ = false;
  bool broken_ = false;
  std::thread thread_;
};

// The engine's progress into a StartRollout or RollbackRollout stream, on
// the stream's own thread: a slow or stalled client does not hold up the
// rollout, and one that went away does not stop it. Sends what is queued
// when it goes out of scope (before the handler returns).
class StreamedProgress {
 public:
  explicit StreamedProgress(grpc::ServerWriter<v1::RolloutProgress>* writer);
  ~StreamedProgress();
  ProgressFn fn();

 private:
  ProgressStream stream_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_SERVER_PROGRESS_STREAM_H_
