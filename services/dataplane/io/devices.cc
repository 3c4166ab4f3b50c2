#include "services/dataplane/io/devices.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace vpnfleet::dataplane {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status SetInt(int fd, int level, int opt, int value, absl::string_view what) {
  if (setsockopt(fd, level, opt, &value, sizeof value) != 0) return Errno(what);
  return absl::OkStatus();
}

// Socket buffers for bursts of a few milliseconds at 10 Gbit/s. The FORCE
// options pass net.core.[rw]mem_max (we have CAP_NET_ADMIN); without that
// capability the plain option gets what the system allows.
constexpr int kSocketBuffer = 8 << 20;

absl::Status SetBuffer(int fd, int force, int plain, int bytes, absl::string_view what) {
  if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0) return absl::OkStatus();
  return SetInt(fd, SOL_SOCKET, plain, bytes, what);
}

}  // namespace

SocketBuffers GetSocketBuffers(int fd) {
  SocketBuffers b;
  socklen_t len = sizeof b.receive;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b.receive, &len) != 0) b.receive = 0;
  len = sizeof b.send;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b.send, &len) != 0) b.send = 0;
  return b;
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<Tun> OpenTun(const std::string& name, const TunOptions& options) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("TUN name '", name, "': 1 to ",
                                                   IFNAMSIZ - 1, " characters"));
  }
  const uint32_t queues = options.queues;
  Tun tun;
  tun.vnet_hdr = options.offload;
  for (uint32_t q = 0; q < queues; ++q) {
    Fd fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (fd.get() < 0) return Errno("open /dev/net/tun");
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (queues > 1 ? IFF_MULTI_QUEUE : 0) |
                    (tun.vnet_hdr ? IFF_VNET_HDR : 0);
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return Errno(absl::StrCat("TUNSETIFF ", name));
    if (tun.vnet_hdr) {
      int size = 10;  // struct virtio_net_hdr
      int little_endian = 1;
      if (ioctl(fd.get(), TUNSETVNETHDRSZ, &size) != 0) return Errno("TUNSETVNETHDRSZ");
      if (ioctl(fd.get(), TUNSETVNETLE, &little_endian) != 0) return Errno("TUNSETVNETLE");
    }
    tun.queues.push_back(std::move(fd));
  }
  if (tun.vnet_hdr) {
    // UDP segmentation offload arrived in Linux 6.2; try with, then without.
    const unsigned long base = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
#ifdef TUN_F_USO4
    const unsigned long with_uso = base | TUN_F_USO4 | TUN_F_USO6;
#else
    const unsigned long with_uso = base | 0x20 | 0x40;
#endif
    if (ioctl(tun.queues[0].get(), TUNSETOFFLOAD, with_uso) == 0) {
      tun.tso = tun.uso = true;
    } else if (ioctl(tun.queues[0].get(), TUNSETOFFLOAD, base) == 0) {
      tun.tso = true;
    }
  }
  Fd ctl(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (ctl.get() < 0) return Errno("socket");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_mtu = static_cast<int>(options.mtu);
  if (ioctl(ctl.get(), SIOCSIFMTU, &ifr) != 0) return Errno(absl::StrCat("MTU of ", name));
  if (ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) != 0) return Errno(absl::StrCat("flags of ", name));
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0) return Errno(absl::StrCat("bring up ", name));
  return tun;
}

absl::StatusOr<Fd> OpenUdpEncap(uint16_t port, uint32_t mark, bool offload, UdpOffload* got) {
  Fd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Errno("UDP socket");
  absl::Status st = SetInt(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
  if (st.ok()) st = SetInt(fd.get(), IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
  // Large outer packets are fragmented by the kernel (DF clear on the outer
  // header, IOS `crypto ipsec df-bit clear`); inner DF is honoured before.
  if (st.ok()) st = SetInt(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT, "IP_MTU_DISCOVER");
  if (st.ok() && mark != 0) st = SetInt(fd.get(), SOL_SOCKET, SO_MARK, static_cast<int>(mark), "SO_MARK");
  if (st.ok()) st = SetBuffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, kSocketBuffer, "SO_RCVBUF");
  if (st.ok()) st = SetBuffer(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, kSocketBuffer, "SO_SNDBUF");
  // Each receive tells how many datagrams the socket dropped so far (full
  // receive buffer): counted beside the forwarder's own drops.
  if (st.ok()) st = SetInt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
  if (!st.ok()) return st;
  UdpOffload offloads;
  if (offload) {
    // A kernel without them refuses the options: the socket then works
    // datagram by datagram.
    int segment = 0;
    socklen_t len = sizeof segment;
    offloads.gso = getsockopt(fd.get(), SOL_UDP, UDP_SEGMENT, &segment, &len) == 0;
    offloads.gro = SetInt(fd.get(), SOL_UDP, UDP_GRO, 1, "UDP_GRO").ok();
  }
  if (got != nullptr) *got = offloads;
  struct sockaddr_in sin;
  std::memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sin), sizeof sin) != 0) {
    return Errno(absl::StrCat("bind UDP port ", port));
  }
  return fd;
}

absl::Status SteerUdpBySpi(int fd, uint32_t workers) {
  if (workers < 2) return absl::OkStatus();
  // Classic BPF run on the UDP payload (the kernel pulls the UDP header
  // first); an index past the group makes the kernel use its hash.
  struct sock_filter steer[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 8, 1, 0),  // SPI + sequence number at least
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),         // the SPI (big-endian load)
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),  // 0: the non-ESP marker (IKE)
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, workers),
      BPF_STMT(BPF_RET | BPF_A, 0),
  };
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof steer / sizeof steer[0]), steer};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0) {
    return Errno("SO_ATTACH_REUSEPORT_CBPF");
  }
  return absl::OkStatus();
}

absl::StatusOr<Fd> OpenRawIpsec(uint8_t protocol, uint32_t mark, bool receive) {
  if (protocol != IPPROTO_ESP && protocol != IPPROTO_AH) {
    return absl::InvalidArgumentError("raw IPsec sockets are for protocols 50 and 51");
  }
  Fd fd(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (fd.get() < 0) return Errno(protocol == IPPROTO_AH ? "raw AH socket" : "raw ESP socket");
  absl::Status st = SetInt(fd.get(), IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
  // AH covers the IP header, so we write it (the kernel fills in only the
  // checksum and length).
  if (st.ok() && protocol == IPPROTO_AH) st = SetInt(fd.get(), IPPROTO_IP, IP_HDRINCL, 1, "IP_HDRINCL");
  if (st.ok()) st = SetInt(fd.get(), IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT, "IP_MTU_DISCOVER");
  if (st.ok() && mark != 0) st = SetInt(fd.get(), SOL_SOCKET, SO_MARK, static_cast<int>(mark), "SO_MARK");
  if (st.ok() && receive) {
    st = SetBuffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, kSocketBuffer, "SO_RCVBUF");
  }
  if (st.ok() && receive) st = SetInt(fd.get(), SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
  if (!st.ok()) return st;
  if (!receive) {
    struct sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_fprog prog = {1, drop_all};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
      return Errno("SO_ATTACH_FILTER");
    }
  }
  return fd;
}

absl::StatusOr<Fd> OpenEventFd() {
  Fd fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (fd.get() < 0) return Errno("eventfd");
  return fd;
}

}  // namespace vpnfleet::dataplane
