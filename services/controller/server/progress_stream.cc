#include "services/controller/server/progress_stream.h"

#include <utility>

#include "common/log/log.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace vpnfleet::controller {
namespace {

bool AboutOneDevice(const v1::RolloutProgress& p) { return p.rollout().devices_size() > 0; }

}  // namespace

ProgressStream::ProgressStream(WriteFn write, size_t max_queued_device_updates)
    : write_(std::move(write)), max_device_updates_(max_queued_device_updates), thread_([this] { Run(); }) {}

ProgressStream::~ProgressStream() { Finish(); }

void ProgressStream::Push(v1::RolloutProgress p) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (broken_ || finishing_) return;
    if (AboutOneDevice(p)) {
      if (queued_device_updates_ >= max_device_updates_) {
        ++skipped_;
        return;
      }
      ++queued_device_updates_;
    }
    queue_.push_back(std::move(p));
  }
  wake_.notify_one();
}

void ProgressStream::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

uint64_t ProgressStream::skipped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_;
}

void ProgressStream::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return !queue_.empty() || finishing_; });
    if (queue_.empty()) return;  // finishing, all sent
    v1::RolloutProgress p = std::move(queue_.front());
    queue_.pop_front();
    if (AboutOneDevice(p)) --queued_device_updates_;
    const bool more = !queue_.empty();
    if (broken_) continue;
    lock.unlock();
    const bool sent = write_(p, more);
    lock.lock();
    if (!sent) {
      broken_ = true;  // the client went away; the rollout goes on
      queue_.clear();
      queued_device_updates_ = 0;
    }
  }
}

StreamedProgress::StreamedProgress(grpc::ServerWriter<v1::RolloutProgress>* writer)
    : stream_([writer](const v1::RolloutProgress& p, bool more_follow) {
        grpc::WriteOptions options;
        if (more_follow) options.set_buffer_hint();
        return writer->Write(p, options);
      }) {}

ProgressFn StreamedProgress::fn() {
  return [this](const v1::RolloutProgress& p) { stream_.Push(p); };
}

StreamedProgress::~StreamedProgress() {
  stream_.Finish();
  if (stream_.skipped() > 0) {
    log::Info("rollout progress: device updates skipped for a slow client",
              {{"skipped", static_cast<int64_t>(stream_.skipped())}});
  }
}

}  // namespace vpnfleet::controller
