// The ESP nodes of the forwarder: encrypt a frame of inner packets for one
// outbound SA, decrypt a frame of ESP packets for one inbound SA.
//
// Per-SA hot state (SaRuntime) is owned by one worker, so nodes take no
// locks; they allocate nothing and log nothing: every drop is a counter by
// reason, and the SA counters are those of `show crypto ipsec sa`.
#ifndef VPNFLEET_SERVICES_DATAPLANE_NODES_ESP_NODES_H_
#define VPNFLEET_SERVICES_DATAPLANE_NODES_ESP_NODES_H_

#include <cstdint>

#include "services/dataplane/nodes/frame.h"
#include "services/dataplane/nodes/sa_runtime.h"

namespace vpnfleet::dataplane {

// Wraps each inner packet (the whole IP packet, tunnel mode; next header 4
// or 41) in ESP: header and IV in front, trailer and ICV behind.
void EspEncrypt(SaRuntime& sa, Frame& frame, uint8_t next_header) noexcept;

// Opens each ESP packet (starting at the SPI) in place; afterwards a packet
// that was not dropped is its inner payload, and `next_headers[i]` says what
// it is.
void EspDecrypt(SaRuntime& sa, Frame& frame, uint8_t* next_headers) noexcept;

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_NODES_ESP_NODES_H_
