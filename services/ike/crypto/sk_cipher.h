// Protection of the Encrypted payload (RFC 7296 §3.14, RFC 5282 for AEAD,
// RFC 7634 for ChaCha20-Poly1305): sealing an inner payload chain into a
// whole IKE message and opening one. Classic ciphers (AES-CBC) pair with an
// HMAC whose ICV covers the message from the IKE header to the end of the
// ciphertext; AEAD ciphers authenticate the IKE header and the SK payload
// header as associated data, with a 4-octet salt from the key material and
// an 8-octet IV in the message. The IV comes from the caller (its RNG), so
// sealing is deterministic under test.
#ifndef VPNFLEET_SERVICES_IKE_CRYPTO_SK_CIPHER_H_
#define VPNFLEET_SERVICES_IKE_CRYPTO_SK_CIPHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/keymat/prf.h"

namespace vpnfleet::ike {

// IKEv2 Transform Type 1 and 3 IDs we protect IKE SAs with.
inline constexpr uint16_t kEncrAesCbc = 12;
inline constexpr uint16_t kEncrAesGcm16 = 20;
inline constexpr uint16_t kEncrChaCha20Poly1305 = 28;
inline constexpr uint16_t kIntegHmacSha1_96 = 2;
inline constexpr uint16_t kIntegHmacSha2_256_128 = 12;
inline constexpr uint16_t kIntegHmacSha2_384_192 = 13;
inline constexpr uint16_t kIntegHmacSha2_512_256 = 14;

class SkCipher {
 public:
  // Key sizes the key schedule must produce for a suite (SK_e with salt
  // for AEAD; SK_a 0 for AEAD). Errors for unknown or mismatched suites.
  static absl::StatusOr<IkeKeyLengths> KeyLengths(uint16_t encr_id, uint16_t key_bits,
                                                  uint16_t integ_id);
  // One direction's protection: SK_ei/SK_ai to send as initiator, etc.
  static absl::StatusOr<SkCipher> Create(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id,
                                         SecretBytes encr_key, SecretBytes integ_key);

  size_t iv_size() const { return aead_ ? 8 : 16; }
  size_t icv_size() const { return icv_size_; }

  // The datagram: `header` and an SK payload naming `first_inner`, holding
  // `inner` (an encoded payload chain) encrypted under `iv`. With `total`
  // set, an SKF payload instead (RFC 7383 §2.5): fragment `fragment` of
  // `total`, protected on its own the same way (`first_inner` only in
  // fragment 1).
  absl::StatusOr<std::string> Seal(const v2::Header& header, uint8_t first_inner,
                                   absl::string_view inner, absl::string_view iv,
                                   uint16_t fragment = 0, uint16_t total = 0) const;

  // The octets Seal adds around `inner` at most: IKE header, (SKF) payload
  // header, IV, padding and pad length, ICV.
  size_t Overhead(bool fragment) const;

  struct Opened {
    v2::Header header;
    uint8_t first_inner = 0;
    std::string inner;  // the decrypted payload chain, padding removed
    uint16_t fragment_number = 0, total_fragments = 0;  // an SKF payload: nonzero
  };
  // Checks the ICV first, then decrypts; any failure is one
  // UNAUTHENTICATED/INVALID_ARGUMENT status with nothing decrypted. Takes
  // an SK payload or one SKF fragment.
  absl::StatusOr<Opened> Open(absl::string_view datagram) const;

 private:
  SkCipher() = default;
  absl::StatusOr<std::string> Icv(absl::string_view covered) const;

  uint16_t encr_id_ = 0;
  bool aead_ = false;
  const char* cipher_ = nullptr;  // OpenSSL name
  const char* digest_ = nullptr;  // HMAC digest for classic suites
  size_t icv_size_ = 0;
  SecretBytes key_, salt_, integ_key_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_CRYPTO_SK_CIPHER_H_
