// The forwarding graph of one worker, without I/O (sans-I/O): frames of
// packets come in from the inner side (cleartext IPv4 read from the site's
// TUN device) or from the outer side (ESP received on UDP/4500 or as IP
// protocol 50), and every packet leaves through the PacketSink: to the outer
// side encrypted, to the inner side decrypted or passed, handed off to the
// worker that owns its SA, or dropped with a counter.
//
//   inner:  parse IPv4 -> outbound SPD (first match) -> PROTECT: SA by reqid
//           (per-host: by flow) -> MTU/DF check -> ESP encrypt (batched per
//           SA) -> outer output.   No SA: acquire event, drop.
//           No outbound match: inbound SPD; cleartext matching an inbound
//           PROTECT policy is dropped (it was not sent IPsec-protected).
//   outer:  SPI -> SA (last-SA cache) -> replay pre-check, batched decrypt,
//           replay update (EspDecrypt) -> inner IPv4 must match the SA's
//           selectors -> inner output.   Unknown SPI: event, drop.
//   AH (RFC 4302) the same way with AhProtect/AhVerify; an ESP+AH bundle
//   is ESP first, then AH over it with the outer header (and AH first,
//   then ESP, inbound; the ESP SA must belong to the AH SA's bundle).
//
// Nothing here allocates, locks or logs; the clock is passed in per frame.
#ifndef VPNFLEET_SERVICES_DATAPLANE_FORWARDER_FORWARDER_H_
#define VPNFLEET_SERVICES_DATAPLANE_FORWARDER_FORWARDER_H_

#include <array>
#include <cstdint>

#include "services/dataplane/forwarder/tables.h"
#include "services/dataplane/nodes/esp_nodes.h"
#include "services/dataplane/nodes/frame.h"

namespace vpnfleet::dataplane {

// Drops that are not an SA's (those are DropReason, per SA).
enum class ForwardDrop : uint8_t {
  kBadInner,           // not a well-formed IPv4 packet (IPv6 inner: not yet)
  kNoSa,               // PROTECT policy without an SA: acquire sent
  kPolicyDiscard,      // DISCARD policy
  kClearOnProtected,   // cleartext that an inbound PROTECT policy covers
  kUnknownSpi,
  kSelectorMismatch,   // decapsulated packet outside its SA's selectors
  kFragNeeded,         // DF set and too big after ESP: ICMP sent back
  kNotEsp,             // IKE or NAT keepalive on the encapsulation port
  kSaDrop,             // dropped by an SA node (see the SA's reasons)
  kHandoffFull,        // the owning worker's queue was full
  kSendError,
  kBundleMismatch,     // ESP without the AH its bundle requires, or AH over a foreign ESP SA
  kOversize,           // a datagram larger than a packet buffer that is not IKE
  kBadOffload,         // a TUN super-packet that cannot be segmented (see offload.h)
  kSocketOverflow,     // dropped by the kernel: an outer socket's receive buffer was full
  kCount,
};

const char* ForwardDropName(ForwardDrop d);

struct ForwarderCounters {
  std::array<Counter, static_cast<size_t>(ForwardDrop::kCount)> drops{};
  Counter inner_rx, inner_tx, outer_rx, outer_tx;
  Counter udp_rx, udp_tx, raw_rx, raw_tx;  // outer side, by socket (the worker counts)
  Counter handoffs, acquires, unknown_spi_events, icmp_sent;
  // TUN offloads: super-packets read and segmented, written after coalescing.
  Counter tun_gso_rx, tun_gro_tx;
  // UDP offloads: sends of a run of datagrams, receives that held a run.
  Counter udp_gso_tx, udp_gro_rx;
  // Frames by size: bucket i counts frames of at most 2^i packets (1..256).
  static constexpr size_t kFrameBuckets = 9;
  std::array<Counter, kFrameBuckets> frame_sizes{};
  Counter frame_packets;  // sum of frame sizes
  Counter busy_ns;        // time spent processing frames
};

// The counters of all workers added up (what the API and metrics report).
struct ForwarderTotals {
  std::array<uint64_t, static_cast<size_t>(ForwardDrop::kCount)> drops{};
  uint64_t inner_rx = 0, inner_tx = 0, udp_rx = 0, udp_tx = 0, raw_rx = 0, raw_tx = 0;
  uint64_t acquires = 0, unknown_spi_events = 0;
  uint64_t tun_gso_rx = 0, tun_gro_tx = 0, udp_gso_tx = 0, udp_gro_rx = 0;
  std::array<uint64_t, ForwarderCounters::kFrameBuckets> frame_sizes{};
  uint64_t frame_packets = 0;

  void Add(const ForwarderCounters& c);
};

struct ForwarderEvent {
  enum class Kind : uint8_t { kAcquire, kUnknownSpi };
  Kind kind = Kind::kAcquire;
  int64_t unix_nanos = 0;
  uint64_t policy_id = 0;
  uint32_t reqid = 0;
  FlowKey flow;           // acquire: the packet's selectors
  uint32_t spi = 0;       // unknown SPI
  uint8_t protocol = 50;  // of the unknown SPI: 50 ESP, 51 AH
  uint32_t src = 0, dst = 0;
};

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Protected: outer_proto 50, data() starts at the SPI and outer_* say
  // where it goes; outer_proto 51, data() is the whole IPv4 packet.
  virtual void ToOuter(Packet& p) noexcept = 0;
  // data() starts at an IPv4 header.
  virtual void ToInner(Packet& p) noexcept = 0;
  // The packet's SA belongs to `worker`; it runs the same path there.
  virtual void Handoff(uint32_t worker, Packet& p, bool from_inner) noexcept = 0;
  virtual void Emit(const ForwarderEvent& e) noexcept = 0;
};

struct ForwarderOptions {
  uint32_t worker = 0;
  uint32_t outer_mtu = 1500;
  // At most one acquire per policy and one unknown-SPI event per SPI in
  // this interval, per worker.
  int64_t event_interval_ns = 1'000'000'000;
};

class Forwarder {
 public:
  Forwarder(ForwarderOptions options, ForwarderCounters* counters);

  void FromInner(const ForwardingTables& t, Frame& frame, int64_t now_ns,
                 PacketSink& sink) noexcept;
  void FromOuter(const ForwardingTables& t, Frame& frame, int64_t now_ns,
                 PacketSink& sink) noexcept;

 private:
  void Drop(Packet& p, ForwardDrop d) noexcept;
  bool RateLimited(uint64_t key, int64_t now_ns) noexcept;
  void FlushEncrypt(Frame& batch, const SaEntry* sa, uint8_t next_header,
                    PacketSink& sink) noexcept;
  void FlushDecrypt(Frame& batch, const SaEntry* sa, bool via_ah, PacketSink& sink) noexcept;
  void FlushInbound(const ForwardingTables& t, const SaEntry* sa, PacketSink& sink) noexcept;
  void FlushAhVerify(Frame& batch, const SaEntry* sa, const ForwardingTables& t,
                     PacketSink& sink) noexcept;
  // A decapsulated payload of type `nh` of `sa`: to the inner side if it is
  // what the SA's mode and selectors allow.
  void Deliver(Packet& p, const SaEntry& sa, uint8_t nh, PacketSink& sink) noexcept;
  void SendFragNeeded(Packet& p, const SaEntry& sa, PacketSink& sink) noexcept;
  void CountFrame(size_t n) noexcept;

  ForwarderOptions options_;
  ForwarderCounters* counters_;
  Frame batch_;
  Frame bundle_;  // ESP packets found inside AH, per ESP SA
  std::array<uint8_t, Frame::kMaxPackets> bundle_headers_{};
  std::array<uint8_t, Frame::kMaxPackets> next_headers_{};
  // Direct-mapped rate limiter for events: key -> last time.
  static constexpr size_t kLimiterSlots = 256;
  std::array<uint64_t, kLimiterSlots> limiter_keys_{};
  std::array<int64_t, kLimiterSlots> limiter_times_{};
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_FORWARDER_FORWARDER_H_
