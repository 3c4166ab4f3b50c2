// What the workers read while forwarding: an immutable snapshot of the SPD
// (compiled, per direction) and of the SAD (outbound SAs by reqid, inbound
// SAs by SPI and protocol), rebuilt by the control side on every change and swapped in
// whole, RCU style. The per-SA hot state (SaRuntime: sequence numbers,
// replay window, counters) is shared between snapshots, so a swap loses no
// count and never rewinds a sequence number.
#ifndef VPNFLEET_SERVICES_DATAPLANE_FORWARDER_TABLES_H_
#define VPNFLEET_SERVICES_DATAPLANE_FORWARDER_TABLES_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "services/dataplane/nodes/esp_nodes.h"
#include "services/dataplane/spd/classifier.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::dataplane {

// One SA as the packet path needs it. Addresses are IPv4 in host order.
struct SaEntry {
  std::shared_ptr<SaRuntime> runtime;
  v1::SaKey key;
  bool ah = false;  // AH; otherwise ESP
  uint32_t reqid = 0;
  bool tunnel = true;
  uint32_t tunnel_src = 0, tunnel_dst = 0;
  uint32_t key_dst = 0;  // the SA's destination (ours, inbound)
  bool udp = false;  // RFC 3948 encapsulation
  uint16_t udp_src_port = 0, udp_dst_port = 0;
  bool copy_dscp = false;
  std::vector<CompiledSelector> selectors;  // empty: any
  uint32_t owner = 0;  // the worker that owns the runtime
  // ESP+AH bundles (RFC 4301 §4.5): outbound ESP, the AH SA applied on top
  // (same reqid and destination, same owner); inbound ESP, whether the
  // bundle has an AH SA, so that ESP arriving without it is refused.
  const SaEntry* ah_outer = nullptr;
  bool needs_ah = false;
  // Bytes IPsec adds around an inner packet of a given size: a new IPv4
  // header, UDP, ESP header, IV, trailer, ICV, AH.
  uint32_t Overhead(uint32_t inner_size) const noexcept;
  // The largest inner packet (tunnel mode) or payload (transport) whose
  // protected packet fits in `outer_mtu`.
  uint32_t MaxInner(uint32_t outer_mtu) const noexcept;
  bool SelectorsMatch(const FlowKey& flow) const noexcept;
};

// What the control side keeps for one installed SA.
struct InstalledSa {
  v1::SecurityAssociation sa;  // keys removed
  std::shared_ptr<SaRuntime> runtime;
};

class ForwardingTables {
 public:
  // `policies` from PolicyTable::List (both directions, in order); `sas` the
  // installed SAs. Owners are spread over `workers` by SPI.
  static absl::StatusOr<std::shared_ptr<const ForwardingTables>> Build(
      const std::vector<v1::SpdPolicy>& policies, const std::vector<InstalledSa>& sas,
      uint32_t workers);

  const SpdSnapshot& outbound_spd() const { return outbound_spd_; }
  const SpdSnapshot& inbound_spd() const { return inbound_spd_; }

  // The outbound SA for a packet of `flow` that matched PROTECT `policy`:
  // the newest SA of the reqid whose selectors cover the flow (after a
  // rekey the new SA carries the traffic; several narrowed SAs of one
  // bundle each carry their own flows); with per-host level only such an
  // SA (one SA pair per host pair), otherwise the newest of the reqid when
  // none covers it. nullptr: acquire.
  const SaEntry* OutboundFor(const CompiledPolicy& policy, const FlowKey& flow) const noexcept;
  const SaEntry* Inbound(uint32_t spi, uint8_t protocol) const noexcept;

  uint64_t generation = 0;

 private:
  SpdSnapshot outbound_spd_, inbound_spd_;
  std::vector<std::unique_ptr<SaEntry>> entries_;
  absl::flat_hash_map<uint32_t, std::vector<const SaEntry*>> outbound_by_reqid_;  // newest first
  absl::flat_hash_map<uint32_t, const SaEntry*> inbound_esp_, inbound_ah_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_FORWARDER_TABLES_H_
