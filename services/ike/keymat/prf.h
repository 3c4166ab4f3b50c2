// IKEv2 pseudo-random functions and key schedule (RFC 7296 §2.13, §2.14,
// §2.17, §2.18), through OpenSSL's HMAC. Pure functions of their inputs;
// secrets live in SecretBytes, which wipes itself.
#ifndef VPNFLEET_SERVICES_IKE_KEYMAT_PRF_H_
#define VPNFLEET_SERVICES_IKE_KEYMAT_PRF_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/zeroize.h"

namespace vpnfleet::ike {

// Bytes that are wiped when they go away. Never printed.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string bytes) : bytes_(std::move(bytes)) {}
  SecretBytes(const SecretBytes&) = default;
  SecretBytes& operator=(const SecretBytes& other) {
    if (this != &other) {
      crypto::ZeroizeString(&bytes_);
      bytes_ = other.bytes_;
    }
    return *this;
  }
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {
    crypto::ZeroizeString(&other.bytes_);
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      crypto::ZeroizeString(&bytes_);
      bytes_ = std::move(other.bytes_);
      crypto::ZeroizeString(&other.bytes_);
    }
    return *this;
  }
  ~SecretBytes() { crypto::ZeroizeString(&bytes_); }

  absl::string_view view() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  SecretBytes Sub(size_t at, size_t n) const { return SecretBytes(bytes_.substr(at, n)); }

 private:
  std::string bytes_;
};

// IKEv2 Transform Type 2 IDs (RFC 7296 §3.3.2, RFC 4868).
enum class PrfId : uint16_t {
  kHmacSha1 = 2,
  kHmacSha2_256 = 5,
  kHmacSha2_384 = 6,
  kHmacSha2_512 = 7,
};

class Prf {
 public:
  static absl::StatusOr<Prf> ForId(uint16_t transform_id);
  PrfId id() const { return id_; }
  // Output size in octets (also the preferred key size, §2.13).
  size_t size() const { return size_; }
  SecretBytes Compute(absl::string_view key, absl::string_view data) const;
  // prf+ (§2.13): T1 | T2 | ... truncated to `length`; at most 255 blocks.
  absl::StatusOr<SecretBytes> Plus(absl::string_view key, absl::string_view seed,
                                   size_t length) const;

 private:
  Prf(PrfId id, size_t size, const char* digest) : id_(id), size_(size), digest_(digest) {}
  PrfId id_;
  size_t size_;
  const char* digest_;
};

// The seven IKE SA keys (§2.14), in the order prf+ produces them.
struct IkeSaKeys {
  SecretBytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};

struct IkeKeyLengths {
  size_t integ = 0;  // 0 for AEAD
  size_t encr = 0;   // with the salt for AEAD (e.g. 36 for AES-256-GCM)
};

// SKEYSEED = prf(Ni | Nr, g^ir)
SecretBytes SkeySeed(const Prf& prf, absl::string_view ni, absl::string_view nr,
                     absl::string_view shared_secret);
// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//   = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr); SK_d, SK_pi, SK_pr are prf-sized.
absl::StatusOr<IkeSaKeys> DeriveIkeSaKeys(const Prf& prf, absl::string_view skeyseed,
                                          absl::string_view ni, absl::string_view nr,
                                          uint64_t spi_i, uint64_t spi_r,
                                          const IkeKeyLengths& lengths);
// §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
SecretBytes RekeySkeySeed(const Prf& old_prf, absl::string_view old_sk_d,
                          absl::string_view new_shared_secret, absl::string_view ni,
                          absl::string_view nr);
// §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)
absl::StatusOr<SecretBytes> ChildKeyMaterial(const Prf& prf, absl::string_view sk_d,
                                             absl::string_view new_shared_secret,
                                             absl::string_view ni, absl::string_view nr,
                                             size_t length);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_KEYMAT_PRF_H_
