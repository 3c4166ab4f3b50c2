// What a worker sends on one outer socket during a frame, sent in batches
// with sendmmsg when the frame ends (or the batch is full): ESP in UDP
// (source address and TOS per packet; with UDP GSO, runs of equal-sized
// datagrams to one peer grouped into one message), raw ESP (the kernel
// writes the IP header) or raw AH (the packet carries its own header).
#ifndef VPNFLEET_SERVICES_DATAPLANE_IO_OUTER_BATCH_H_
#define VPNFLEET_SERVICES_DATAPLANE_IO_OUTER_BATCH_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "services/dataplane/forwarder/forwarder.h"
#include "services/dataplane/nodes/frame.h"

namespace vpnfleet::dataplane {

class OuterBatch {
 public:
  enum class Kind : uint8_t { kUdp, kRawEsp, kRawAh };
  static constexpr size_t kBatch = Frame::kMaxPackets;

  // `fd` -1: the socket is off (open() false). `gso`: UDP_SEGMENT allowed
  // (kUdp only). The socket stays the caller's.
  OuterBatch(Kind kind, int fd, bool gso, ForwarderCounters* counters)
      : kind_(kind), fd_(fd), gso_(gso && kind == Kind::kUdp), counters_(counters) {}

  bool open() const { return fd_ >= 0; }
  // Queues p (its bytes must stay until Flush); flushes first when full.
  void Add(const Packet& p) noexcept;
  void Flush() noexcept;

 private:
  static constexpr size_t kCmsgSpace =
      CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int));
  static constexpr size_t kGsoCmsgSpace = kCmsgSpace + CMSG_SPACE(sizeof(uint16_t));

  // Sends packets [first, first + count) one message each.
  void SendEach(size_t first, size_t count) noexcept;
  void FlushGso() noexcept;
  bool SameRoute(size_t a, size_t b) const;

  Kind kind_;
  int fd_;
  bool gso_;
  ForwarderCounters* counters_;
  size_t n_ = 0;
  std::array<struct mmsghdr, kBatch> msgs_{};
  std::array<struct iovec, kBatch> iov_{};
  std::array<struct sockaddr_in, kBatch> addr_{};
  std::array<uint32_t, kBatch> src_{};
  std::array<uint8_t, kBatch> tos_{};
  alignas(struct cmsghdr) std::array<std::array<uint8_t, kCmsgSpace>, kBatch> cmsg_{};
  // The same packets grouped for UDP GSO: one message per run of datagrams
  // of one size to one peer from one address with one TOS.
  size_t runs_ = 0;
  std::array<struct mmsghdr, kBatch> run_msgs_{};
  std::array<size_t, kBatch> run_first_{}, run_count_{};
  alignas(struct cmsghdr) std::array<std::array<uint8_t, kGsoCmsgSpace>, kBatch> run_cmsg_{};
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_IO_OUTER_BATCH_H_
