// The dataplane's end of the IKE punt channel (common/punt/punt_format.h):
// workers hand IKE messages that arrived on UDP/4500 to the registered IKE
// daemon without blocking (dropped and counted when it is not there or
// not keeping up); a thread sends what the daemon gives back from port 4500.
#ifndef VPNFLEET_SERVICES_DATAPLANE_IO_PUNT_H_
#define VPNFLEET_SERVICES_DATAPLANE_IO_PUNT_H_

#include <sys/un.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "services/dataplane/io/devices.h"

namespace vpnfleet::dataplane {

class PuntChannel {
 public:
  // Binds the Unix datagram socket at `path`; `udp_fd` is the UDP/`port`
  // socket replies go out of (it stays owned by the caller).
  static absl::StatusOr<std::unique_ptr<PuntChannel>> Open(const std::string& path, int udp_fd,
                                                           uint16_t port);
  ~PuntChannel();

  // From a worker thread. Returns false if the message was dropped. A
  // message larger than a packet buffer comes in two pieces (`more`).
  bool Punt(uint32_t src, uint16_t sport, uint32_t dst, const uint8_t* data, size_t len,
            const uint8_t* more = nullptr, size_t more_len = 0) noexcept;

  void Start();
  void Stop();

  uint64_t punted() const { return punted_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t injected() const { return injected_.load(std::memory_order_relaxed); }

 private:
  PuntChannel(Fd fd, std::string path, int udp_fd, uint16_t port);
  void Run();

  Fd fd_;
  std::string path_;
  int udp_fd_;
  uint16_t port_;
  std::mutex mu_;  // guards peer_ (written on register, read per IKE message)
  struct sockaddr_un peer_{};
  socklen_t peer_len_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<uint64_t> punted_{0}, dropped_{0}, injected_{0};
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_IO_PUNT_H_
