// Phase-1 encryption of IKEv1 messages (RFC 2409 §5.3, Appendix B): the
// payload chain after the ISAKMP header in CBC mode under the phase-1
// key. The IV is the caller's: the SA chains it from message to message
// (the last ciphertext block of one is the next one's IV) and keeps one
// per phase-2 or informational exchange. IKEv1 has no integrity check on
// the ciphertext: a message is authentic when its HASH payload is.
#ifndef VPNFLEET_SERVICES_IKE_CRYPTO_IKEV1_CIPHER_H_
#define VPNFLEET_SERVICES_IKE_CRYPTO_IKEV1_CIPHER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/ike/keymat/prf.h"

namespace vpnfleet::ike::ikev1 {

// Phase-1 encryption algorithm attribute values (RFC 2409 Appendix A, RFC 3602).
enum class CipherId : uint16_t {
  kDesCbc = 1,
  kTripleDesCbc = 5,
  kAesCbc = 7,
};
const char* CipherName(uint16_t id, uint16_t key_bits);

class Cipher {
 public:
  // AES takes a key length of 128, 192 or 256 bits (0: 128, RFC 3602 §5);
  // DES and 3DES only with `allow_legacy`.
  static absl::StatusOr<Cipher> Create(uint16_t id, uint16_t key_bits, bool allow_legacy);
  size_t key_size() const { return key_size_; }
  size_t block_size() const { return block_size_; }
  uint16_t id() const { return id_; }

  // `plain` zero-padded to whole blocks (nothing added when it already
  // is: the chain's own lengths tell where it ends), encrypted under `key`
  // and `iv` (block_size octets).
  absl::StatusOr<std::string> Encrypt(const SecretBytes& key, absl::string_view iv,
                                      absl::string_view plain) const;
  // The plaintext, padding included; an error for a ciphertext that is
  // empty or not whole blocks.
  absl::StatusOr<std::string> Decrypt(const SecretBytes& key, absl::string_view iv,
                                      absl::string_view ciphertext) const;

 private:
  Cipher(uint16_t id, size_t key_size, size_t block_size)
      : id_(id), key_size_(key_size), block_size_(block_size) {}
  absl::StatusOr<std::string> Run(bool encrypt, const SecretBytes& key, absl::string_view iv,
                                  absl::string_view in) const;
  uint16_t id_;
  size_t key_size_, block_size_;
};

// The next IV after a message: its last ciphertext block.
std::string LastBlock(absl::string_view ciphertext, size_t block_size);

}  // namespace vpnfleet::ike::ikev1

#endif  // VPNFLEET_SERVICES_IKE_CRYPTO_IKEV1_CIPHER_H_
