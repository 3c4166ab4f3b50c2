// The AH nodes of the forwarder (RFC 4302): protect a frame of packets for
// one outbound AH SA, verify a frame of AH packets for one inbound AH SA.
// Same rules as the ESP nodes: one owner per SA, no locks, no allocation,
// no logging, drops counted by reason.
#ifndef VPNFLEET_SERVICES_DATAPLANE_NODES_AH_NODES_H_
#define VPNFLEET_SERVICES_DATAPLANE_NODES_AH_NODES_H_

#include <cstdint>

#include "services/dataplane/nodes/frame.h"
#include "services/dataplane/nodes/sa_runtime.h"

namespace vpnfleet::dataplane {

// Puts an IPv4 header (protocol 51; addresses and TOS from the packet's
// outer_* fields) and AH in front of each packet, whose payload is of type
// `next_header` (4: an inner IP packet, tunnel mode; 50: an ESP packet of
// the same bundle; else the upper-layer protocol, transport mode). The
// result is a whole IPv4 packet, sent as is.
void AhProtect(SaRuntime& sa, Frame& frame, uint8_t next_header) noexcept;

// Verifies each packet (starting at its IPv4 header) and strips the IP
// header and AH; afterwards a packet that was not dropped is its payload,
// and `next_headers[i]` says what it is. The IP header's addresses and TOS
// stay in the packet's outer_* fields.
void AhVerify(SaRuntime& sa, Frame& frame, uint8_t* next_headers) noexcept;

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_NODES_AH_NODES_H_
