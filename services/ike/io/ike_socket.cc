#include "services/ike/io/ike_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/bytes/big_endian.h"
#include "common/net/udp_source.h"
#include "common/punt/punt_format.h"

namespace vpnfleet::ike {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// The wildcard address and `port`, telling each datagram's destination
// address (IP_PKTINFO, IPV6_RECVPKTINFO); IPv6 sockets take IPv6 only
// (IPv4 has its own socket).
absl::StatusOr<int> OpenUdp(uint16_t port, bool v6) {
  const char* family = v6 ? "UDP/IPv6" : "UDP";
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno(absl::StrCat(family, " socket"));
  int one = 1;
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
  } else {
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  static constexpr uint8_t kAny[16] = {};  // INADDR_ANY and in6addr_any alike
  struct sockaddr_storage ss;
  const socklen_t len = net::SockaddrOf(kAny, v6, port, &ss);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&ss), len) != 0) {
    close(fd);
    return Errno(absl::StrCat("bind ", family, " port ", port));
  }
  return fd;
}

net::IpAddress FromV6(const struct in6_addr& in) {
  net::IpAddress a;
  a.family = net::Family::kV6;
  std::memcpy(a.bytes.data(), in.s6_addr, 16);
  return a;
}

uint32_t V4(const net::IpAddress& a) { return bytes::LoadBe32(a.bytes.data()); }

net::IpAddress FromV4(uint32_t v) {
  net::IpAddress a;
  a.family = net::Family::kV4;
  bytes::StoreBe32(a.bytes.data(), v);
  return a;
}

uint16_t BoundPort(int fd) {
  struct sockaddr_in sin;
  socklen_t len = sizeof sin;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&sin), &len) != 0) return 0;
  return ntohs(sin.sin_port);
}

bool FillSun(const std::string& path, struct sockaddr_un* sun) {
  std::memset(sun, 0, sizeof *sun);
  if (path.empty() || path.size() >= sizeof sun->sun_path) return false;
  sun->sun_family = AF_UNIX;
  std::memcpy(sun->sun_path, path.data(), path.size());
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<IkeSockets>> IkeSockets::Open(const SocketOptions& options) {
  std::unique_ptr<IkeSockets> s(new IkeSockets());
  s->options_ = options;
  auto udp = OpenUdp(options.port, false);
  if (!udp.ok()) return udp.status();
  s->udp_ = *udp;
  // Port 0 (tests): the port the kernel chose is the one messages arrive
  // on, and what NAT detection hashes.
  if (options.port == 0) s->options_.port = BoundPort(s->udp_);
  if (options.dataplane_punt.empty()) {
    if (options.natt_port != 0) {
      auto natt = OpenUdp(options.natt_port, false);
      if (!natt.ok()) return natt.status();
      s->natt_ = *natt;
    }
  } else {
    struct sockaddr_un sun;
    if (!FillSun(options.punt_path, &sun)) {
      return absl::InvalidArgumentError("punt socket path empty or too long");
    }
    s->punt_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->punt_ < 0) return Errno("punt socket");
    unlink(options.punt_path.c_str());
    if (bind(s->punt_, reinterpret_cast<struct sockaddr*>(&sun), sizeof sun) != 0) {
      return Errno(absl::StrCat("bind ", options.punt_path));
    }
    s->Register();
  }
  if (options.ipv6) {
    auto udp6 = OpenUdp(s->options_.port, true);
    if (udp6.ok()) {
      s->udp6_ = *udp6;
      if (options.natt_port != 0) {
        auto natt6 = OpenUdp(options.natt_port, true);
        if (natt6.ok()) s->natt6_ = *natt6;
      }
    } else {
      log::Warn("IKE over IPv6 unavailable", {{"error", std::string(udp6.status().message())}});
    }
  }
  return s;
}

IkeSockets::~IkeSockets() {
  for (int fd : {udp_, natt_, punt_, udp6_, natt6_}) {
    if (fd >= 0) close(fd);
  }
  if (punt_ >= 0) unlink(options_.punt_path.c_str());
}

std::vector<int> IkeSockets::fds() const {
  std::vector<int> out;
  for (int fd : {udp_, natt_, punt_, udp6_, natt6_}) {
    if (fd >= 0) out.push_back(fd);
  }
  return out;
}

void IkeSockets::Register() {
  if (punt_ < 0) return;
  struct sockaddr_un to;
  if (!FillSun(options_.dataplane_punt, &to)) return;
  uint8_t header[punt::kHeaderSize];
  punt::Header h;
  h.kind = punt::Kind::kRegister;
  punt::WriteHeader(h, header);
  sendto(punt_, header, sizeof header, MSG_DONTWAIT, reinterpret_cast<struct sockaddr*>(&to),
         sizeof to);
}

void IkeSockets::Drain(int fd, std::vector<Datagram>* out) {
  static thread_local std::string buf(punt::kHeaderSize + punt::kMaxPayload, '\0');
  for (int i = 0; i < 64; ++i) {
    if (fd == punt_) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) return;
      punt::Header h;
      const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
      if (!punt::ReadHeader(p, static_cast<size_t>(n), &h) || h.kind != punt::Kind::kPacket) continue;
      const size_t len = static_cast<size_t>(n) - punt::kHeaderSize;
      if (len <= 4) continue;  // keepalives and markers alone
      Datagram d;
      d.local = Endpoint{FromV4(h.local_address), h.local_port};
      d.remote = Endpoint{FromV4(h.remote_address), h.remote_port};
      d.data.assign(buf.data() + punt::kHeaderSize + 4, len - 4);
      ++received_;
      out->push_back(std::move(d));
      continue;
    }
    struct sockaddr_storage from;
    struct iovec iov = {buf.data(), buf.size()};
    alignas(struct cmsghdr) uint8_t control[128];
    struct msghdr m;
    std::memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n <= 0) return;
    Datagram d;
    if (from.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const struct sockaddr_in6*>(&from);
      d.remote = Endpoint{FromV6(a->sin6_addr), ntohs(a->sin6_port)};
    } else {
      const auto* a = reinterpret_cast<const struct sockaddr_in*>(&from);
      d.remote = Endpoint{FromV4(ntohl(a->sin_addr.s_addr)), ntohs(a->sin_port)};
    }
    d.local.port = IsNatT(fd) ? options_.natt_port : options_.port;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        d.local.address = FromV4(ntohl(info.ipi_addr.s_addr));
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        d.local.address = FromV6(info.ipi6_addr);
      }
    }
    size_t skip = 0;
    if (IsNatT(fd)) {
      // RFC 3948: only messages behind the non-ESP marker are IKE.
      if (n <= 4 || std::memcmp(buf.data(), "\0\0\0\0", 4) != 0) continue;
      skip = 4;
    }
    d.data.assign(buf.data() + skip, static_cast<size_t>(n) - skip);
    ++received_;
    out->push_back(std::move(d));
  }
}

bool IkeSockets::Send(const Endpoint& local, const Endpoint& remote, const std::string& data,
                      bool nat_keepalive) {
  if (local.address.family != remote.address.family) {
    ++send_errors_;
    return false;
  }
  const bool v6 = remote.address.family == net::Family::kV6;
  const bool natt = local.port != options_.port;
  std::string payload;
  if (natt && !nat_keepalive) payload.assign(4, '\0');
  payload += data;
  ssize_t r = -1;
  if (v6) {
    const int fd = natt ? natt6_ : udp6_;
    if (fd >= 0) {
      r = net::SendFrom(fd, payload.data(), payload.size(), remote.address.bytes.data(), true,
                        remote.port, local.address.bytes.data(), MSG_DONTWAIT);
    }
  } else if (natt && punt_ >= 0) {
    std::string msg(punt::kHeaderSize, '\0');
    punt::Header h;
    h.kind = punt::Kind::kPacket;
    h.local_address = V4(local.address);
    h.local_port = local.port;
    h.remote_address = V4(remote.address);
    h.remote_port = remote.port;
    punt::WriteHeader(h, reinterpret_cast<uint8_t*>(msg.data()));
    msg += payload;
    struct sockaddr_un to;
    if (FillSun(options_.dataplane_punt, &to)) {
      r = sendto(punt_, msg.data(), msg.size(), MSG_DONTWAIT,
                 reinterpret_cast<struct sockaddr*>(&to), sizeof to);
    }
  } else {
    const int fd = natt ? natt_ : udp_;
    if (fd >= 0) {
      r = net::SendFrom(fd, payload.data(), payload.size(), V4(remote.address), remote.port,
                        V4(local.address), MSG_DONTWAIT);
    }
  }
  if (r < 0) {
    ++send_errors_;
    return false;
  }
  ++sent_;
  return true;
}

std::optional<net::IpAddress> LocalAddressToward(const net::IpAddress& peer) {
  const bool v6 = peer.family == net::Family::kV6;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  struct sockaddr_storage to, me;
  const socklen_t to_len = net::SockaddrOf(peer.bytes.data(), v6, kIkePort, &to);
  socklen_t len = sizeof me;
  const bool ok = connect(fd, reinterpret_cast<struct sockaddr*>(&to), to_len) == 0 &&
                  getsockname(fd, reinterpret_cast<struct sockaddr*>(&me), &len) == 0;
  close(fd);
  if (!ok) return std::nullopt;
  if (v6) return FromV6(reinterpret_cast<const struct sockaddr_in6*>(&me)->sin6_addr);
  return FromV4(ntohl(reinterpret_cast<const struct sockaddr_in*>(&me)->sin_addr.s_addr));
}

}  // namespace vpnfleet::ike
