// What a worker writes to its TUN queue. Without offloads, one write per
// packet. With them (IFF_VNET_HDR), every write starts with a virtio-net
// header, and in-order TCP segments of one flow wait in a TcpCoalescer
// (their bytes stay in the frame's buffers) to leave as one super-packet at
// the end of the frame, or as soon as something else must go first.
#ifndef VPNFLEET_SERVICES_DATAPLANE_IO_TUN_WRITER_H_
#define VPNFLEET_SERVICES_DATAPLANE_IO_TUN_WRITER_H_

#include <cstddef>
#include <cstdint>

#include "services/dataplane/forwarder/forwarder.h"
#include "services/dataplane/nodes/frame.h"
#include "services/dataplane/packet/offload.h"

namespace vpnfleet::dataplane {

class TunWriter {
 public:
  // The fd stays the caller's.
  TunWriter(int fd, bool vnet_hdr, ForwarderCounters* counters)
      : fd_(fd), vnet_hdr_(vnet_hdr), counters_(counters) {}

  // p's bytes must stay until Flush() (the end of the frame).
  void Write(const Packet& p) noexcept;
  // Writes what the coalescer holds.
  void Flush() noexcept;

 private:
  // One writev of a virtio-net header and `n` pieces carrying `segments`
  // segments (counted as written or as send errors).
  void WritePieces(const VnetHeader& vnet, const uint8_t* const* pieces, const size_t* sizes,
                   size_t n, size_t segments) noexcept;

  int fd_;
  bool vnet_hdr_;
  ForwarderCounters* counters_;
  TcpCoalescer gro_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_IO_TUN_WRITER_H_
