// Sending a UDP datagram from a chosen local address (IP_PKTINFO's
// ipi_spec_dst, ip(7)): a responder must answer from the address the peer
// sent to, or NAT and the peer's own checks see another host. One copy for
// the IKE socket, the dataplane's punt channel and its ESP-in-UDP worker.
// No allocation: safe on the packet path. IPv4 addresses in host order;
// IPv6 ones as 16 octets (IPV6_PKTINFO's ipi6_addr, ipv6(7)).
#ifndef VPNFLEET_COMMON_NET_UDP_SOURCE_H_
#define VPNFLEET_COMMON_NET_UDP_SOURCE_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <cstring>

namespace vpnfleet::net {

// Room for the IP_PKTINFO control message alone.
inline constexpr size_t kPktinfoSpace = CMSG_SPACE(sizeof(struct in_pktinfo));

// Writes an IP_PKTINFO control message asking for `source` into `c` (a
// cmsghdr inside a zeroed control buffer of a msghdr).
inline void FillPktinfo(struct cmsghdr* c, uint32_t source) {
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
  struct in_pktinfo info;
  std::memset(&info, 0, sizeof info);
  info.ipi_spec_dst.s_addr = htonl(source);
  std::memcpy(CMSG_DATA(c), &info, sizeof info);
}

inline struct sockaddr_in SockaddrV4(uint32_t address, uint16_t port) {
  struct sockaddr_in a;
  std::memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(address);
  a.sin_port = htons(port);
  return a;
}

// `address` (4 octets, or 16 with `v6`, network order) and `port` as a
// socket address; returns its length.
inline socklen_t SockaddrOf(const uint8_t* address, bool v6, uint16_t port,
                            struct sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  if (v6) {
    auto* a = reinterpret_cast<struct sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    std::memcpy(&a->sin6_addr, address, 16);
    a->sin6_port = htons(port);
    return sizeof *a;
  }
  auto* a = reinterpret_cast<struct sockaddr_in*>(out);
  a->sin_family = AF_INET;
  std::memcpy(&a->sin_addr, address, 4);
  a->sin_port = htons(port);
  return sizeof *a;
}

// sendmsg(2) of `len` octets to `destination`:`port` from `source`, both
// 4 octets or (v6) 16 in network order; a null or all-zero `source` lets
// the kernel's routing pick.
inline ssize_t SendFrom(int fd, const void* data, size_t len, const uint8_t* destination, bool v6,
                        uint16_t port, const uint8_t* source, int flags) {
  struct sockaddr_storage to;
  const socklen_t to_len = SockaddrOf(destination, v6, port, &to);
  struct iovec iov = {const_cast<void*>(data), len};
  alignas(struct cmsghdr) uint8_t control[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  std::memset(control, 0, sizeof control);
  struct msghdr m;
  std::memset(&m, 0, sizeof m);
  m.msg_name = &to;
  m.msg_namelen = to_len;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  static constexpr uint8_t kAny[16] = {};
  if (source != nullptr && std::memcmp(source, kAny, v6 ? 16 : 4) != 0) {
    m.msg_control = control;
    m.msg_controllen = v6 ? CMSG_SPACE(sizeof(struct in6_pktinfo)) : kPktinfoSpace;
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    if (v6) {
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
      struct in6_pktinfo info;
      std::memset(&info, 0, sizeof info);
      std::memcpy(&info.ipi6_addr, source, 16);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    } else {
      uint32_t host = 0;
      std::memcpy(&host, source, 4);
      FillPktinfo(c, ntohl(host));
    }
  }
  return sendmsg(fd, &m, flags);
}

// IPv4 with addresses in host order (0: the kernel picks the source).
inline ssize_t SendFrom(int fd, const void* data, size_t len, uint32_t destination, uint16_t port,
                        uint32_t source, int flags) {
  const uint32_t dst = htonl(destination), src = htonl(source);
  return SendFrom(fd, data, len, reinterpret_cast<const uint8_t*>(&dst), false, port,
                  reinterpret_cast<const uint8_t*>(&src), flags);
}

}  // namespace vpnfleet::net

#endif  // VPNFLEET_COMMON_NET_UDP_SOURCE_H_
