// The cryptography of one AH SA (RFC 4302 §3.3.3) in one direction: the ICV
// is an HMAC (icv_mac.h) over the IPv4 header with its mutable fields zeroed,
// the AH header with the ICV field zeroed, the payload, and, with extended
// sequence numbers, the high 32 bits appended (RFC 4302 §2.5.1). Belongs to
// the worker that owns the SA; no allocation per packet.
#ifndef VPNFLEET_SERVICES_DATAPLANE_CRYPTO_AH_TRANSFORM_H_
#define VPNFLEET_SERVICES_DATAPLANE_CRYPTO_AH_TRANSFORM_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/dataplane/crypto/icv_mac.h"
#include "services/dataplane/packet/ah_format.h"

namespace vpnfleet::dataplane {

class AhTransform {
 public:
  static absl::StatusOr<std::unique_ptr<AhTransform>> Create(
      vpnfleet::common::v1::IntegrityAlgorithm alg, absl::string_view key, bool esn,
      bool allow_legacy);

  uint8_t icv_size() const { return mac_->icv_size(); }

  // Outbound: `packet` is a whole IPv4 packet whose AH header (ICV field
  // zeroed) follows the IP header. Writes the ICV. False if it does not
  // parse or OpenSSL failed.
  bool Seal(uint8_t* packet, size_t size, uint64_t seq) noexcept;

  // Inbound: true when the ICV of the packet ParseAh split into `view`
  // verifies with the full sequence number `seq`.
  bool Verify(const uint8_t* packet, const AhView& view, uint64_t seq) noexcept;

 private:
  explicit AhTransform(std::unique_ptr<IcvMac> mac, bool esn) : mac_(std::move(mac)), esn_(esn) {}
  bool Compute(const uint8_t* packet, const AhView& view, uint64_t seq, uint8_t* icv) noexcept;

  std::unique_ptr<IcvMac> mac_;
  bool esn_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_CRYPTO_AH_TRANSFORM_H_
