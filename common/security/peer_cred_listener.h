// A gRPC listener on a Unix socket that lets in only the local processes it
// is told to: each connection's credentials (SO_PEERCRED) are checked at
// accept, before gRPC sees a byte, and recorded so that the authorizer knows
// which uid is calling. strongSwan's vici and VPP's API socket rely on file
// modes alone; a socket in a shared /run needs the check.
#ifndef VPNFLEET_COMMON_SECURITY_PEER_CRED_LISTENER_H_
#define VPNFLEET_COMMON_SECURITY_PEER_CRED_LISTENER_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/security/authorizer.h"
#include "grpcpp/server.h"

namespace vpnfleet::security {

struct SocketAllow {
  std::set<uid_t> uids;
  std::set<gid_t> gids;  // the peer's primary group
  bool Allows(uid_t uid, gid_t gid) const { return uids.count(uid) || gids.count(gid); }
};

// "uid:N", "gid:N", "user:NAME", "group:NAME"; the daemon's own uid and root
// are always allowed.
absl::StatusOr<SocketAllow> ParseSocketAllow(const std::vector<std::string>& items);

class PeerCredListener {
 public:
  using RefusedFn = std::function<void()>;

  // Binds and listens (mode 0660); a leftover socket of an earlier run is
  // replaced, anything else at `path` is refused.
  static absl::StatusOr<std::unique_ptr<PeerCredListener>> Listen(
      const std::string& path, SocketAllow allow, std::shared_ptr<UnixPeers> peers,
      RefusedFn on_refused);
  ~PeerCredListener();

  // Accepts connections for `server` (already started) until Stop().
  void Serve(grpc::Server* server);
  void Stop();

 private:
  PeerCredListener(int fd, int stop_fd, std::string path, SocketAllow allow,
                   std::shared_ptr<UnixPeers> peers, RefusedFn on_refused);
  void Run(grpc::Server* server);

  int fd_;
  int stop_fd_;  // eventfd that wakes the accept loop
  std::string path_;
  SocketAllow allow_;
  std::shared_ptr<UnixPeers> peers_;
  RefusedFn on_refused_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace vpnfleet::security

#endif  // VPNFLEET_COMMON_SECURITY_PEER_CRED_LISTENER_H_
