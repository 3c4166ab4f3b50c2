// Key types and ECDSA signature encodings the certificate code shares:
// RFC 4754 carries r and s as two fixed-size big-endian halves, OpenSSL
// speaks DER ECDSA-Sig-Value.
#ifndef VPNFLEET_SERVICES_IKE_AUTH_KEY_ENCODING_H_
#define VPNFLEET_SERVICES_IKE_AUTH_KEY_ENCODING_H_

#include <cstddef>
#include <string>

#include <openssl/evp.h>

#include "absl/strings/string_view.h"

namespace vpnfleet::ike::auth {

bool IsRsa(const EVP_PKEY* key);
bool IsEc(const EVP_PKEY* key);
// Octets of one of r, s for an EC key's curve (32, 48, 66).
size_t EcScalarSize(const EVP_PKEY* key);
// DER ECDSA-Sig-Value to r|s of `scalar` octets each, and back; "" when
// the input is malformed.
std::string EcDerToRaw(const std::string& der, size_t scalar);
std::string EcRawToDer(absl::string_view raw);

}  // namespace vpnfleet::ike::auth

#endif  // VPNFLEET_SERVICES_IKE_AUTH_KEY_ENCODING_H_
