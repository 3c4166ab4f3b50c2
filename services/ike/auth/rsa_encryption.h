// RSA public-key encryption for IKEv1's `authentication rsa-encr` (RFC 2409
// §5.2): each side encrypts its identity and nonce with the other's public
// key (PKCS#1 v1.5), so only the holder of the private key learns the
// nonces that SKEYID comes from. Keys are raw RSA keys, as IOS keeps them:
// ours is a trustpoint's key pair (`crypto key generate rsa`), the peers'
// are configured by hand (`crypto key pubkey-chain rsa`, `key-string` of a
// SubjectPublicKeyInfo in DER).
#ifndef VPNFLEET_SERVICES_IKE_AUTH_RSA_ENCRYPTION_H_
#define VPNFLEET_SERVICES_IKE_AUTH_RSA_ENCRYPTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::ike::auth {

// A peer's RSA public key.
class RsaPublicKey {
 public:
  // From a DER SubjectPublicKeyInfo (what IOS's `key-string` holds and
  // `show crypto key mypubkey rsa` prints); RSA of 1024 to 8192 bits.
  static absl::StatusOr<std::shared_ptr<const RsaPublicKey>> FromDer(absl::string_view der);

  // PKCS#1 v1.5 encryption; at most size_octets() - 11 octets of `plain`.
  absl::StatusOr<std::string> Encrypt(absl::string_view plain) const;
  // The modulus in octets (every ciphertext's size).
  size_t size_octets() const;
  const std::string& der() const { return der_; }

 private:
  RsaPublicKey() = default;
  ossl::EvpKey key_;
  std::string der_;
};

// Our RSA key pair.
class RsaKeyPair {
 public:
  // From an unencrypted PEM private key (PKCS#8 or PKCS#1) of 1024 to
  // 8192 bits; `name` says where it came from (the trustpoint).
  static absl::StatusOr<std::shared_ptr<const RsaKeyPair>> FromPem(std::string name,
                                                                    absl::string_view pem);

  // PKCS#1 v1.5 decryption. Every failure (wrong size, bad padding) gives
  // the same error, and callers must not tell them apart on the wire
  // (Bleichenbacher): see Ikev1Sa's use.
  absl::StatusOr<std::string> Decrypt(absl::string_view cipher) const;
  // Our public key as a DER SubjectPublicKeyInfo (for the peers'
  // pubkey-chain).
  const std::string& public_der() const { return public_der_; }
  const std::string& name() const { return name_; }
  size_t size_octets() const;

 private:
  RsaKeyPair() = default;
  std::string name_;
  ossl::EvpKey key_;
  std::string public_der_;
};

}  // namespace vpnfleet::ike::auth

#endif  // VPNFLEET_SERVICES_IKE_AUTH_RSA_ENCRYPTION_H_
