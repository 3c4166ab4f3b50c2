// Packets and frames, VPP style: a node processes a frame of up to 256
// packets at a time. A packet is a window [offset, offset + len) into a
// buffer the I/O layer owns, with headroom in front (for the outer headers a
// node prepends) and tailroom behind (for trailer and ICV).
#ifndef VPNFLEET_SERVICES_DATAPLANE_NODES_FRAME_H_
#define VPNFLEET_SERVICES_DATAPLANE_NODES_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace vpnfleet::dataplane {

struct Packet {
  uint8_t* buffer = nullptr;
  uint32_t capacity = 0;
  uint32_t offset = 0;  // where the packet starts in buffer
  uint32_t len = 0;
  bool dropped = false;  // set by a node; later nodes skip it
  // Outer side: the addresses (IPv4, host order) and UDP ports of a received
  // ESP packet, or where an outgoing one goes; ports 0 mean raw ESP.
  uint32_t outer_src = 0, outer_dst = 0;
  uint16_t outer_sport = 0, outer_dport = 0;
  uint8_t outer_tos = 0;
  // The outer packet's protocol: 50 (ESP, raw or in UDP; data() starts at
  // the SPI) or 51 (AH; data() starts at the IPv4 header, which AH covers).
  uint8_t outer_proto = 50;

  uint8_t* data() const { return buffer + offset; }
  uint32_t headroom() const { return offset; }
  uint32_t tailroom() const { return capacity - offset - len; }
};

struct Frame {
  static constexpr size_t kMaxPackets = 256;
  std::array<Packet*, kMaxPackets> packets{};
  size_t size = 0;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_NODES_FRAME_H_
