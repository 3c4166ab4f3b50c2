// The IKE daemon's sockets: UDP/500 of its own (IPv4 and, where the host
// has it, IPv6), and UDP/4500 either through the dataplane's punt channel (common/punt/punt_format.h: the dataplane
// owns port 4500 because ESP in UDP arrives there) or, without a dataplane
// doing NAT-T, a socket of its own. Messages on 4500 carry the non-ESP
// marker on the wire; callers see IKE messages only.
#ifndef VPNFLEET_SERVICES_IKE_IO_IKE_SOCKET_H_
#define VPNFLEET_SERVICES_IKE_IO_IKE_SOCKET_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net/ip.h"
#include "services/ike/sa/endpoint.h"

namespace vpnfleet::ike {

struct Datagram {
  Endpoint local, remote;
  std::string data;  // one IKE message, non-ESP marker removed
};

struct SocketOptions {
  uint16_t port = kIkePort;
  uint16_t natt_port = kNatTPort;
  // The dataplane's punt socket; empty: bind natt_port ourselves.
  std::string dataplane_punt;
  // Our end of the punt channel (a Unix datagram socket path).
  std::string punt_path;
  // IKE over IPv6 too (RFC 7296 §2.23 works the same on both): sockets on
  // [::]:port and, as the punt channel carries IPv4 only, [::]:natt_port of
  // our own. A host without IPv6 keeps IPv4 (with a warning).
  bool ipv6 = true;
};

// Our address towards `peer`: the source the kernel's routing would pick
// (found with a connected UDP socket; nothing is sent).
std::optional<net::IpAddress> LocalAddressToward(const net::IpAddress& peer);

class IkeSockets {
 public:
  static absl::StatusOr<std::unique_ptr<IkeSockets>> Open(const SocketOptions& options);
  ~IkeSockets();

  std::vector<int> fds() const;
  // Reads what is waiting on `fd` (non-blocking).
  void Drain(int fd, std::vector<Datagram>* out);
  // Sends an IKE message (or a NAT keepalive) from `local` to `remote`.
  bool Send(const Endpoint& local, const Endpoint& remote, const std::string& data,
            bool nat_keepalive);
  // Tells the dataplane where to punt to again (it may have restarted).
  void Register();

  uint16_t port() const { return options_.port; }  // the one bound (port 0: the kernel's pick)
  uint64_t received() const { return received_; }
  uint64_t sent() const { return sent_; }
  uint64_t send_errors() const { return send_errors_; }

 private:
  IkeSockets() = default;
  bool IsNatT(int fd) const { return fd == natt_ || fd == natt6_; }
  int udp_ = -1, natt_ = -1, punt_ = -1;
  int udp6_ = -1, natt6_ = -1;
  SocketOptions options_;
  uint64_t received_ = 0, sent_ = 0, send_errors_ = 0;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_IO_IKE_SOCKET_H_
