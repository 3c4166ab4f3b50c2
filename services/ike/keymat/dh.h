// Diffie-Hellman for IKEv2 key exchange (RFC 7296 §2.10, §3.4) through
// OpenSSL: MODP groups 14/15/16 (RFC 3526), ECP groups 19/20/21 (RFC 5903:
// the KE data is x | y, the shared secret x alone), Curve25519 group 31
// (RFC 8031, RFC 7748). Groups 1 and 2 (RFC 2409's Oakley groups, for old
// IKEv1 peers), 5 (MODP-1536) and 24 (RFC 5114 MODP-2048 with a 256-bit
// subgroup, IOS `group 24`) only with allow_legacy. Peer values are checked
// before use (length, range, the subgroup for group 24, on the curve, no
// all-zero X25519 result).
#ifndef VPNFLEET_SERVICES_IKE_KEYMAT_DH_H_
#define VPNFLEET_SERVICES_IKE_KEYMAT_DH_H_

#include <cstdint>
#include <memory>
#include <string>

#include <openssl/evp.h>

#include "absl/status/statusor.h"
#include "services/ike/keymat/prf.h"

namespace vpnfleet::ike {

class DhExchange {
 public:
  // A fresh key pair for `group`.
  static absl::StatusOr<DhExchange> Generate(uint16_t group, bool allow_legacy = false);
  // A known pair, for published test vectors: ECP (private scalar, public
  // x | y), named MODP groups (private x, public g^x) and Curve25519
  // (private, public derived).
  static absl::StatusOr<DhExchange> FromPrivate(uint16_t group, absl::string_view private_key,
                                                absl::string_view public_value = {});

  uint16_t group() const { return group_; }
  // Our KE payload data.
  const std::string& public_value() const { return public_value_; }
  // g^ir from the peer's KE data.
  absl::StatusOr<SecretBytes> Compute(absl::string_view peer_public) const;

  // The KE data size of a group (0 if unsupported).
  static size_t PublicValueSize(uint16_t group);

 private:
  DhExchange(uint16_t group, EVP_PKEY* key, std::string pub)
      : group_(group), key_(key, EVP_PKEY_free), public_value_(std::move(pub)) {}

  uint16_t group_;
  std::shared_ptr<EVP_PKEY> key_;  // shared: copies of the exchange use one key
  std::string public_value_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_KEYMAT_DH_H_
