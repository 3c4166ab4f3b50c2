// The cryptography of one ESP SA in one direction, through OpenSSL:
//   AES-GCM-128/256 (RFC 4106), ChaCha20-Poly1305 (RFC 7634): AEAD, nonce =
//     4-byte salt || 8-byte explicit IV, AAD = SPI || sequence number (64 bits
//     with ESN, RFC 4106 §5 / RFC 7634 §2.1), 16-byte ICV.
//   AES-CBC (RFC 3602), 3DES/DES (legacy) with HMAC-SHA1-96 (RFC 2404),
//     HMAC-SHA2 (RFC 4868) or HMAC-MD5-96 (legacy): encrypt, then ICV over
//     header, IV and ciphertext, plus the high sequence bits with ESN
//     (RFC 4303 §2.2.1).
//   NULL encryption (RFC 2410) with any HMAC.
//
// Keys go into OpenSSL contexts once, at creation; per packet only the IV
// and AAD change, so Seal/Open allocate nothing. An object belongs to the
// one worker that owns the SA: no locking.
#ifndef VPNFLEET_SERVICES_DATAPLANE_CRYPTO_ESP_TRANSFORM_H_
#define VPNFLEET_SERVICES_DATAPLANE_CRYPTO_ESP_TRANSFORM_H_

#include <cstdint>
#include <memory>
#include <string>

#include <openssl/evp.h>

#include "absl/status/statusor.h"
#include "services/dataplane/crypto/icv_mac.h"
#include "services/dataplane/packet/esp_format.h"
#include "vpnfleet/common/v1/types.pb.h"

namespace vpnfleet::dataplane {

struct EspTransformConfig {
  vpnfleet::common::v1::EncryptionAlgorithm encryption = vpnfleet::common::v1::ENCRYPTION_UNSPECIFIED;
  std::string encryption_key;  // with the 4-byte salt for the AEADs
  vpnfleet::common::v1::IntegrityAlgorithm integrity = vpnfleet::common::v1::INTEGRITY_UNSPECIFIED;
  std::string integrity_key;
  bool esn = false;
  bool allow_legacy = false;
};

class EspTransform {
 public:
  static absl::StatusOr<std::unique_ptr<EspTransform>> Create(const EspTransformConfig& config);
  ~EspTransform();
  EspTransform(const EspTransform&) = delete;
  EspTransform& operator=(const EspTransform&) = delete;

  const EspLayout& layout() const { return layout_; }

  // Outbound. `packet` starts with the 8-byte ESP header (written by the
  // caller), then layout().iv_size bytes for the IV, then `plaintext_size`
  // bytes of payload and trailer, then room for layout().icv_size bytes.
  // Writes the IV, encrypts in place and appends the ICV. Returns the packet
  // size, or 0 if OpenSSL failed.
  size_t Seal(uint8_t* packet, size_t plaintext_size, uint64_t seq) noexcept;

  // Inbound. Verifies the ICV of the packet ParseEsp split into `view`, with
  // the full sequence number `seq`, and decrypts the ciphertext in place.
  // False when the ICV does not match (the buffer is then garbage).
  bool Open(uint8_t* packet, const EspView& view, uint64_t seq) noexcept;

 private:
  EspTransform() = default;
  bool Mac(const uint8_t* data, size_t size, uint64_t seq, uint8_t* icv) noexcept;
  // Fills the 12-byte nonce and the AAD of an AEAD packet; returns the AAD size.
  size_t AeadInputs(const uint8_t* packet, const uint8_t* iv, uint64_t seq, uint8_t* nonce,
                    uint8_t* aad) const noexcept;

  EspLayout layout_{};
  bool aead_ = false;
  bool esn_ = false;
  uint8_t salt_[4] = {};
  const EVP_CIPHER* cipher_ = nullptr;  // nullptr for NULL encryption
  EVP_CIPHER_CTX* enc_ = nullptr;
  EVP_CIPHER_CTX* dec_ = nullptr;
  std::unique_ptr<IcvMac> mac_;  // nullptr for the AEADs
  // CBC IVs come from this pool, refilled by one RAND_bytes call when used
  // up: per-packet RAND_bytes calls cost more than the cipher at 64 bytes.
  bool NextIv(uint8_t* iv) noexcept;
  uint8_t iv_pool_[4096] = {};
  size_t iv_pool_used_ = sizeof iv_pool_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_CRYPTO_ESP_TRANSFORM_H_
