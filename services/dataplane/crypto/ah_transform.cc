#include "services/dataplane/crypto/ah_transform.h"

#include <openssl/crypto.h>

#include "services/dataplane/packet/byte_order.h"

namespace vpnfleet::dataplane {

absl::StatusOr<std::unique_ptr<AhTransform>> AhTransform::Create(
    vpnfleet::common::v1::IntegrityAlgorithm alg, absl::string_view key, bool esn,
    bool allow_legacy) {
  auto mac = IcvMac::Create(alg, key, allow_legacy);
  if (!mac.ok()) return mac.status();
  return std::unique_ptr<AhTransform>(new AhTransform(*std::move(mac), esn));
}

bool AhTransform::Compute(const uint8_t* packet, const AhView& v, uint64_t seq,
                          uint8_t* icv) noexcept {
  static constexpr uint8_t kZeros[IcvMac::kMaxIcvSize] = {};
  uint8_t header[60];
  if (MaskedIpv4Header(packet, v.ip_header_size, header) != AhError::kOk) return false;
  if (!mac_->Begin() || !mac_->Update(header, v.ip_header_size) ||
      !mac_->Update(packet + v.ah_offset, kAhFixedSize) ||
      !mac_->Update(kZeros, mac_->icv_size()) ||
      !mac_->Update(packet + v.payload_offset, v.total_size - v.payload_offset)) {
    return false;
  }
  if (esn_) {
    uint8_t high[4];
    StoreBe32(high, static_cast<uint32_t>(seq >> 32));
    if (!mac_->Update(high, sizeof high)) return false;
  }
  return mac_->Finish(icv);
}

bool AhTransform::Seal(uint8_t* packet, size_t size, uint64_t seq) noexcept {
  AhView v;
  if (ParseAh(packet, size, mac_->icv_size(), &v) != AhError::kOk) return false;
  return Compute(packet, v, seq, packet + v.ah_offset + kAhFixedSize);
}

bool AhTransform::Verify(const uint8_t* packet, const AhView& v, uint64_t seq) noexcept {
  uint8_t expected[IcvMac::kMaxIcvSize];
  if (!Compute(packet, v, seq, expected)) return false;
  const bool ok =
      CRYPTO_memcmp(expected, packet + v.ah_offset + kAhFixedSize, mac_->icv_size()) == 0;
  OPENSSL_cleanse(expected, sizeof expected);
  return ok;
}

}  // namespace vpnfleet::dataplane
