#include "services/dataplane/io/punt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/net/udp_source.h"
#include "common/punt/punt_format.h"

namespace vpnfleet::dataplane {

absl::StatusOr<std::unique_ptr<PuntChannel>> PuntChannel::Open(const std::string& path,
                                                                 int udp_fd, uint16_t port) {
  struct sockaddr_un sun;
  std::memset(&sun, 0, sizeof sun);
  if (path.empty() || path.size() >= sizeof sun.sun_path) {
    return absl::InvalidArgumentError("punt socket path empty or too long");
  }
  Fd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return absl::InternalError(absl::StrCat("punt socket: ", std::strerror(errno)));
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sun), sizeof sun) != 0) {
    return absl::InternalError(absl::StrCat("bind ", path, ": ", std::strerror(errno)));
  }
  int buf = 4 << 20;
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  return std::unique_ptr<PuntChannel>(new PuntChannel(std::move(fd), path, udp_fd, port));
}

PuntChannel::PuntChannel(Fd fd, std::string path, int udp_fd, uint16_t port)
    : fd_(std::move(fd)), path_(std::move(path)), udp_fd_(udp_fd), port_(port) {}

PuntChannel::~PuntChannel() {
  Stop();
  unlink(path_.c_str());
}

bool PuntChannel::Punt(uint32_t src, uint16_t sport, uint32_t dst, const uint8_t* data,
                       size_t len, const uint8_t* more, size_t more_len) noexcept {
  uint8_t header[punt::kHeaderSize];
  punt::Header h;
  h.kind = punt::Kind::kPacket;
  h.local_address = dst;
  h.local_port = port_;
  h.remote_address = src;
  h.remote_port = sport;
  punt::WriteHeader(h, header);
  struct iovec iov[3] = {{header, sizeof header},
                         {const_cast<uint8_t*>(data), len},
                         {const_cast<uint8_t*>(more), more_len}};
  struct msghdr m;
  std::memset(&m, 0, sizeof m);
  m.msg_iov = iov;
  m.msg_iovlen = more_len != 0 ? 3 : 2;
  std::lock_guard<std::mutex> lock(mu_);
  if (peer_len_ == 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  m.msg_name = &peer_;
  m.msg_namelen = peer_len_;
  if (sendmsg(fd_.get(), &m, MSG_DONTWAIT) < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  punted_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void PuntChannel::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PuntChannel::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void PuntChannel::Run() {
  std::vector<uint8_t> buf(punt::kHeaderSize + punt::kMaxPayload);
  while (!stop_.load()) {
    struct pollfd p = {fd_.get(), POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    struct sockaddr_un from;
    socklen_t from_len = sizeof from;
    const ssize_t n = recvfrom(fd_.get(), buf.data(), buf.size(), MSG_DONTWAIT,
                               reinterpret_cast<struct sockaddr*>(&from), &from_len);
    if (n <= 0) continue;
    punt::Header h;
    if (!punt::ReadHeader(buf.data(), static_cast<size_t>(n), &h)) continue;
    if (h.kind == punt::Kind::kRegister) {
      if (from_len <= sizeof(sa_family_t)) continue;  // unnamed sender: nowhere to reply
      std::lock_guard<std::mutex> lock(mu_);
      const bool changed = peer_len_ != from_len || std::memcmp(&peer_, &from, from_len) != 0;
      peer_ = from;
      peer_len_ = from_len;
      // The daemon says hello every few seconds; only news is logged.
      if (changed) log::Info("IKE daemon registered on the punt channel", {{"socket", from.sun_path}});
      continue;
    }
    // A datagram to send from our UDP port, from the local address asked
    // for (IP_PKTINFO), so that replies leave from where the peer sent to.
    if (net::SendFrom(udp_fd_, buf.data() + punt::kHeaderSize,
                      static_cast<size_t>(n) - punt::kHeaderSize, h.remote_address, h.remote_port,
                      h.local_address, 0) >= 0) {
      injected_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace vpnfleet::dataplane
