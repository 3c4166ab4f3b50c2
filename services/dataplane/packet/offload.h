// TUN offloads: the virtio-net header that a TUN opened with IFF_VNET_HDR
// puts in front of every packet, segmentation of the TCP and UDP
// super-packets the kernel hands over when TSO/USO are enabled
// (TUNSETOFFLOAD), and coalescing of a flow's decrypted TCP segments into one
// super-packet written back in one call (what the kernel's GRO does for a
// NIC). The same technique made wireguard-go pass 10 Gbit/s on Linux.
//
// Segmentation and coalescing parse lengths that the kernel (segmenting) or
// the far peer's senders (coalescing) chose: every length is checked, errors
// are values, nothing allocates. Checksums of segments are computed whole;
// a segment whose checksum is wrong is never coalesced (the kernel, which
// would otherwise trust our partial checksum, sees it as sent and drops it).
#ifndef VPNFLEET_SERVICES_DATAPLANE_PACKET_OFFLOAD_H_
#define VPNFLEET_SERVICES_DATAPLANE_PACKET_OFFLOAD_H_

#include <cstddef>
#include <cstdint>

namespace vpnfleet::dataplane {

// struct virtio_net_hdr (legacy, 10 bytes), little-endian fields (the TUN is
// set to little-endian with TUNSETVNETLE).
constexpr size_t kVnetHeaderSize = 10;

struct VnetHeader {
  static constexpr uint8_t kNeedsCsum = 1;   // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kDataValid = 2;   // VIRTIO_NET_HDR_F_DATA_VALID
  static constexpr uint8_t kGsoNone = 0;
  static constexpr uint8_t kGsoTcpV4 = 1;
  static constexpr uint8_t kGsoUdp = 3;      // UFO (IP fragmentation): not offered
  static constexpr uint8_t kGsoTcpV6 = 4;
  static constexpr uint8_t kGsoUdpL4 = 5;    // USO: UDP segments of gso_size
  static constexpr uint8_t kGsoEcn = 0x80;

  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};

VnetHeader ReadVnetHeader(const uint8_t* in);
void WriteVnetHeader(const VnetHeader& h, uint8_t* out);

enum class OffloadError : uint8_t {
  kOk = 0,
  kTruncated,        // shorter than its headers say
  kBadHeader,        // not IPv4/IPv6 with TCP/UDP as the GSO type says
  kBadChecksumSpan,  // csum_start/csum_offset outside the packet, or odd
  kUnsupportedGso,   // UFO or an unknown type
  kTooManySegments,  // gso_size 0 or so small that it makes over kMaxSegments
  kSegmentTooLarge,  // a segment does not fit the caller's buffer
};

const char* OffloadErrorName(OffloadError e);

// The ones' complement sum of `size` bytes folded to 16 bits, in network
// byte order semantics (RFC 1071), added to `initial` (also folded).
uint16_t OnesSum(const uint8_t* data, size_t size, uint32_t initial = 0);

// Splits what one TUN read returned (the virtio-net header already parsed)
// into wire-ready packets: a super-packet into segments of gso_size payload
// bytes (IPv4 IDs incremented, TCP sequence numbers advanced, FIN/PSH only on
// the last, CWR only on the first, every checksum complete); a plain packet
// with NEEDS_CSUM into itself with its checksum completed; any other packet
// into itself unchanged.
class Segmenter {
 public:
  static constexpr size_t kMaxSegments = 512;

  // `packet` must stay valid until the last Next().
  OffloadError Init(const VnetHeader& h, const uint8_t* packet, size_t size);
  bool done() const { return next_ >= count_; }
  size_t count() const { return count_; }
  // Writes the next packet to `out` (room for `capacity` bytes) and returns
  // its size; kSegmentTooLarge (and nothing written) if it does not fit.
  OffloadError Next(uint8_t* out, size_t capacity, size_t* size);

 private:
  const uint8_t* packet_ = nullptr;
  size_t size_ = 0;
  bool v6_ = false;
  bool tcp_ = false;
  bool gso_ = false;
  bool complete_csum_ = false;  // a plain packet whose checksum the kernel left to us
  uint16_t csum_start_ = 0, csum_offset_ = 0;
  uint32_t ip_header_ = 0;      // IPv4 header with options, or the 40-byte IPv6 header
  uint32_t headers_ = 0;        // IP + TCP/UDP header
  uint32_t gso_size_ = 0;
  size_t count_ = 0, next_ = 0;
};

// Coalesces consecutive in-order TCP segments of one flow (IPv4 or IPv6
// without extension headers) into a super-packet, as Linux's tcp_gro_receive
// does: same addresses, ports, TOS/traffic class, TTL, ACK number, window and
// options; sequence numbers contiguous; no flags but ACK (PSH ends the
// super-packet); every segment but the last exactly the first one's size; a
// valid TCP checksum on each. The caller keeps the segments' bytes alive
// until it has written the result; the coalescer only remembers where they
// are (no copies): the first segment's headers are rewritten in place and
// the payloads of the others are gathered by the caller.
class TcpCoalescer {
 public:
  static constexpr size_t kMaxSegments = 64;  // what one writev gathers

  // Offers a packet (data() of an inner IPv4/IPv6 packet, `size` bytes).
  // kAppended: it joined the pending super-packet. kFlushFirst: the pending
  // one must be written first (Finish), then Offer again. kNotCandidate:
  // write it on its own (after the pending one, to keep order).
  enum class Result : uint8_t { kAppended, kFlushFirst, kNotCandidate };
  Result Offer(uint8_t* packet, size_t size);

  bool pending() const { return segments_ > 0; }
  size_t segments() const { return segments_; }
  // Makes the pending super-packet writable: fills `vnet` (a GSO header, or
  // an empty one when there is a single segment, left untouched), rewrites
  // the first segment's IP length and checksums, and lists the pieces to
  // write: first the whole first segment, then each later payload. Returns
  // how many pieces (at most kMaxSegments) and resets the coalescer.
  size_t Finish(VnetHeader* vnet, const uint8_t** pieces, size_t* piece_sizes);

 private:
  bool Fits(const uint8_t* p, size_t size, uint32_t ip_header, uint32_t tcp_header,
            uint32_t payload) const;

  size_t segments_ = 0;
  uint8_t* first_ = nullptr;
  size_t first_size_ = 0;
  bool v6_ = false;
  uint32_t headers_ = 0;     // IP + TCP header of the first segment
  uint32_t mss_ = 0;         // the first segment's payload
  uint32_t total_ = 0;       // bytes of the super-packet so far
  uint32_t next_seq_ = 0;
  uint16_t next_ip_id_ = 0;
  bool last_short_ = false;  // a segment shorter than mss_ (or PSH) closed it
  const uint8_t* payloads_[kMaxSegments] = {};
  uint32_t payload_sizes_[kMaxSegments] = {};
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_PACKET_OFFLOAD_H_
