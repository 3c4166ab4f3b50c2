// The forwarder's file descriptors: the inner TUN device (one queue per
// worker) and the outer sockets, ESP in UDP (RFC 3948) and raw ESP and AH
// (IP protocols 50 and 51). Opened once at start-up; everything returned is
// non-blocking and owned by the caller.
//
// Routing is the operator's (or the lab's): routes to protected prefixes
// point at the TUN device, and packets the forwarder sends carry `mark`
// (SO_MARK) so that a rule can keep them off those routes, as strongSwan
// does with its table 220.
#ifndef VPNFLEET_SERVICES_DATAPLANE_IO_DEVICES_H_
#define VPNFLEET_SERVICES_DATAPLANE_IO_DEVICES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vpnfleet::dataplane {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};

struct TunOptions {
  uint32_t queues = 1;  // IFF_MULTI_QUEUE when more than one
  uint32_t mtu = 1500;
  // IFF_VNET_HDR with checksum, TSO (v4, v6) and, where the kernel has it
  // (Linux 6.2+), USO offloads: reads may be super-packets, writes may be.
  bool offload = true;
};

struct Tun {
  std::vector<Fd> queues;
  bool vnet_hdr = false;  // every read and write starts with a virtio-net header
  bool tso = false;
  bool uso = false;
};

// Creates (or attaches to) TUN device `name` without packet information
// headers, sets its MTU and brings it up. Offloads the kernel refuses are
// left off (the TUN still works, packet by packet).
absl::StatusOr<Tun> OpenTun(const std::string& name, const TunOptions& options);

struct UdpOffload {
  bool gso = false;  // UDP_SEGMENT: a run of equal-sized datagrams in one send
  bool gro = false;  // UDP_GRO: a run of a flow's datagrams in one receive
};

// A UDP socket on `port` (all addresses) that reports each datagram's local
// address (IP_PKTINFO). Sockets of one process share the port with
// SO_REUSEPORT, the kernel spreading flows over them. With `offload`, UDP
// GSO and GRO where the kernel has them (Linux 4.18 and 5.0); `*got` says
// which.
absl::StatusOr<Fd> OpenUdpEncap(uint16_t port, uint32_t mark, bool offload = false,
                                UdpOffload* got = nullptr);

// Steers ESP-in-UDP among the `workers` sockets of one port (SO_REUSEPORT
// group, joined in worker order) by SPI: a datagram whose first four bytes
// are SPI s goes to socket s mod workers, the worker owning that inbound SA
// (Engine). IKE (a zero non-ESP marker) and keepalives keep the kernel's
// hash. Set on any one socket of the group.
absl::Status SteerUdpBySpi(int fd, uint32_t workers);

// A raw socket for IP protocol 50 (ESP) or 51 (AH): receives every such
// packet with its IP header; sends ESP with the kernel writing the header,
// AH with ours (IP_HDRINCL: AH covers the header). Every raw socket gets a
// copy of every packet of its protocol, so only one worker receives: the
// others (`receive` false) get a filter that drops all input and only send.
absl::StatusOr<Fd> OpenRawIpsec(uint8_t protocol, uint32_t mark, bool receive);

absl::StatusOr<Fd> OpenEventFd();

// What the kernel granted (it doubles what was asked, for its own overhead).
struct SocketBuffers {
  int receive = 0, send = 0;
};
SocketBuffers GetSocketBuffers(int fd);

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_IO_DEVICES_H_
