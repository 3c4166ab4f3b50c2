// The threads that do an IKE SA's expensive steps (Diffie-Hellman, signing
// and verifying) for the engine. The engine hands over one SA at a time with
// the datagram it is to read; a worker runs the SA's sans-I/O Receive and
// hands the actions back through `post` (SaManager::Post), so the SA tables
// stay the engine thread's alone and need no lock. While a worker holds an
// SA, the engine does not touch it (SaManager marks its entry busy).
//
// With zero threads, Submit runs the job on the caller's thread: the
// engine then works as it did before there were workers (tests use that to
// stay deterministic).
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_CRYPTO_WORKERS_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_CRYPTO_WORKERS_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vpnfleet::ike {

class CryptoWorkers {
 public:
  explicit CryptoWorkers(size_t threads);
  ~CryptoWorkers();
  CryptoWorkers(const CryptoWorkers&) = delete;
  CryptoWorkers& operator=(const CryptoWorkers&) = delete;

  // Runs `job` on a worker (or at once, with no workers). Jobs start in the
  // order given; with several workers they may finish in another.
  void Submit(std::function<void()> job);
  // Finishes the jobs already given, then joins the threads. Submit after
  // Stop runs the job on the caller's thread.
  void Stop();
  size_t threads() const { return threads_.size(); }
  // Jobs given and not finished (any thread; for the queue-depth gauge).
  size_t pending() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_CRYPTO_WORKERS_H_
