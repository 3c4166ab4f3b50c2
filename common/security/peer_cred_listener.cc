#include "common/security/peer_cred_listener.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/log.h"
#include "common/log/rate_limit.h"
#include "grpcpp/server_posix.h"

namespace vpnfleet::security {

absl::StatusOr<SocketAllow> ParseSocketAllow(const std::vector<std::string>& items) {
  SocketAllow allow;
  allow.uids = {0, getuid()};
  for (const std::string& item : items) {
    if (item.empty()) continue;
    absl::string_view v = item;
    uint32_t n = 0;
    if (absl::ConsumePrefix(&v, "uid:") && absl::SimpleAtoi(v, &n)) {
      allow.uids.insert(n);
    } else if (v = item; absl::ConsumePrefix(&v, "gid:") && absl::SimpleAtoi(v, &n)) {
      allow.gids.insert(n);
    } else if (v = item; absl::ConsumePrefix(&v, "user:")) {
      const struct passwd* pw = getpwnam(std::string(v).c_str());
      if (pw == nullptr) return absl::InvalidArgumentError(absl::StrCat("--socket_allow: no user '", v, "'"));
      allow.uids.insert(pw->pw_uid);
    } else if (v = item; absl::ConsumePrefix(&v, "group:")) {
      const struct group* gr = getgrnam(std::string(v).c_str());
      if (gr == nullptr) return absl::InvalidArgumentError(absl::StrCat("--socket_allow: no group '", v, "'"));
      allow.gids.insert(gr->gr_gid);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--socket_allow: '", item, "' is not uid:N, gid:N, user:NAME or group:NAME"));
    }
  }
  return allow;
}

absl::StatusOr<std::unique_ptr<PeerCredListener>> PeerCredListener::Listen(
    const std::string& path, SocketAllow allow, std::shared_ptr<UnixPeers> peers,
    RefusedFn on_refused) {
  sockaddr_un addr{};
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a socket"));
    }
    unlink(path.c_str());
  }
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), path.size());
  // Created 0660 from the start: no window in which anyone may connect.
  const mode_t old = umask(0117);
  const int b = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (b != 0 || listen(fd, 128) != 0) {
    const std::string why = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", path, ": ", why));
  }
  const int stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd < 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  }
  return std::unique_ptr<PeerCredListener>(new PeerCredListener(
      fd, stop_fd, path, std::move(allow), std::move(peers), std::move(on_refused)));
}

PeerCredListener::PeerCredListener(int fd, int stop_fd, std::string path, SocketAllow allow,
                                   std::shared_ptr<UnixPeers> peers, RefusedFn on_refused)
    : fd_(fd), stop_fd_(stop_fd), path_(std::move(path)), allow_(std::move(allow)),
      peers_(std::move(peers)), on_refused_(std::move(on_refused)) {}

PeerCredListener::~PeerCredListener() {
  Stop();
  close(fd_);
  close(stop_fd_);
  unlink(path_.c_str());
}

void PeerCredListener::Serve(grpc::Server* server) {
  thread_ = std::thread([this, server] { Run(server); });
}

void PeerCredListener::Stop() {
  if (stopped_.exchange(true)) return;
  const uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void PeerCredListener::Run(grpc::Server* server) {
  log::RateLimit limit(absl::Seconds(10), 5);
  pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  while (!stopped_.load()) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::Error("Unix socket accept loop failed", {{"error", strerror(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    const int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      // Out of descriptors, the pending connection stays readable: without a
      // pause this loop would spin a core until one is freed.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        poll(nullptr, 0, 100);
      }
      continue;  // EAGAIN, ECONNABORTED: try the next one
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        !allow_.Allows(cred.uid, cred.gid)) {
      close(conn);
      if (on_refused_) on_refused_();
      uint64_t held = 0;
      if (limit.Allow(absl::Now(), &held)) {
        log::Warn("Unix socket peer refused (--socket_allow)",
                  {{"uid", static_cast<uint64_t>(cred.uid)}, {"gid", static_cast<uint64_t>(cred.gid)},
                   {"pid", static_cast<int64_t>(cred.pid)}, {"suppressed", held}});
      }
      continue;
    }
    // Recorded before gRPC owns the descriptor, so the first RPC finds it.
    peers_->Set(conn, {cred.uid, cred.gid, cred.pid});
    grpc::AddInsecureChannelFromFd(server, conn);
  }
}

}  // namespace vpnfleet::security
