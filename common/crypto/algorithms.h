// Facts about the algorithms the APIs name: key sizes, AEAD or not, legacy or
// not, and their IOS keywords. Shared by configuration validation in the IKE
// daemon, the dataplane and the controller.
#ifndef VPNFLEET_COMMON_CRYPTO_ALGORITHMS_H_
#define VPNFLEET_COMMON_CRYPTO_ALGORITHMS_H_

#include "absl/strings/string_view.h"
#include <cstddef>
#include <string_view>

#include "vpnfleet/common/v1/types.pb.h"

namespace vpnfleet::crypto {

using vpnfleet::common::v1::DhGroup;
using vpnfleet::common::v1::EncryptionAlgorithm;
using vpnfleet::common::v1::IntegrityAlgorithm;
using vpnfleet::common::v1::PrfAlgorithm;

// Combined-mode ciphers carry their own ICV and take no integrity transform.
bool IsAead(EncryptionAlgorithm alg);

// Octets of ESP keying material, including the 4-octet salt of AES-GCM
// (RFC 4106 §8.1) and ChaCha20-Poly1305 (RFC 7634 §2). 0 for NULL.
size_t EncryptionKeyLength(EncryptionAlgorithm alg);

// Octets of the HMAC key: the hash output size (RFC 2404, RFC 4868).
size_t IntegrityKeyLength(IntegrityAlgorithm alg);

// DES, 3DES, MD5 and the small MODP groups: allowed only behind an explicit
// "allow legacy" switch.
bool IsLegacy(EncryptionAlgorithm alg);
bool IsLegacy(IntegrityAlgorithm alg);
bool IsLegacy(PrfAlgorithm alg);
bool IsLegacy(DhGroup group);

// IOS transform-set keywords ("esp-aes 256", "esp-sha256-hmac", "ah-sha-hmac").
absl::string_view EspEncryptionKeyword(EncryptionAlgorithm alg);
absl::string_view EspIntegrityKeyword(IntegrityAlgorithm alg);
absl::string_view AhKeyword(IntegrityAlgorithm alg);

}  // namespace vpnfleet::crypto

#endif  // VPNFLEET_COMMON_CRYPTO_ALGORITHMS_H_
