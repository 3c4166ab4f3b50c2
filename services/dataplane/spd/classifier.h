// SPD lookup for the packet path: policies compiled into an immutable
// snapshot that workers read while the control plane builds the next one.
//
// Semantics are those of a crypto ACL (and RFC 4301 §4.4.1's ordered SPD):
// policies are tried in order, the first whose selector matches the packet
// decides. Matching is a linear scan over compact, pre-parsed selectors, as
// IOS evaluates an ACL; it allocates nothing and never fails.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SPD_CLASSIFIER_H_
#define VPNFLEET_SERVICES_DATAPLANE_SPD_CLASSIFIER_H_

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::dataplane {

// The fields of a packet a selector looks at. Addresses are 16 octets in
// network order; IPv4 uses the first 4. Ports are 0 for protocols without.
struct FlowKey {
  bool v6 = false;
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint8_t protocol = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
};

// A selector with its prefixes as masks, ready for matching.
struct CompiledSelector {
  bool v6 = false;
  std::array<uint8_t, 16> src{}, src_mask{};
  std::array<uint8_t, 16> dst{}, dst_mask{};
  uint8_t protocol = 0;  // 0 = any
  uint16_t src_port_lo = 0, src_port_hi = 65535;
  uint16_t dst_port_lo = 0, dst_port_hi = 65535;

  bool Matches(const FlowKey& flow) const noexcept;
};

absl::StatusOr<CompiledSelector> CompileSelector(const vpnfleet::common::v1::TrafficSelector& sel);

struct CompiledPolicy {
  uint64_t id = 0;
  v1::PolicyAction action = v1::POLICY_ACTION_UNSPECIFIED;
  uint32_t reqid = 0;
  bool per_host = false;
  uint32_t entry = 0;  // the crypto map entry (crypto_map, sequence) as a small number
  CompiledSelector selector;
};

class SpdSnapshot {
 public:
  // `policies` in evaluation order (as PolicyTable::List returns them); only
  // those of `direction` are taken.
  static absl::StatusOr<SpdSnapshot> Build(const std::vector<v1::SpdPolicy>& policies,
                                           vpnfleet::common::v1::Direction direction);

  // The first policy that matches, or nullptr when none does (the caller
  // applies its default: IOS forwards traffic no crypto ACL matches). A
  // matching SKIP_ENTRY policy (an ACL's deny line) passes over the rest of
  // its crypto map entry, never returned itself.
  const CompiledPolicy* Match(const FlowKey& flow) const noexcept;

  size_t size() const { return policies_.size(); }

 private:
  std::vector<CompiledPolicy> policies_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SPD_CLASSIFIER_H_
