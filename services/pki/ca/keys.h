// Key pairs of the CA and of enrolling devices: generation (RSA 2048/3072/
// 4096, ECDSA P-256/P-384), which algorithm a key is, and PEM in and out
// (PKCS#8, encrypted with AES-256 when a passphrase is given). Key files are
// written with common/files at mode 0600.
#ifndef VPNFLEET_SERVICES_PKI_CA_KEYS_H_
#define VPNFLEET_SERVICES_PKI_CA_KEYS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto/openssl_ptr.h"
#include "vpnfleet/pki/v1/pki.pb.h"

namespace vpnfleet::pki {

using ossl::EvpKey;
using ossl::OpenSslDeleter;
using ossl::X509CrlPtr;
using ossl::X509Ptr;
using ossl::X509ReqPtr;

absl::StatusOr<EvpKey> GenerateKey(vpnfleet::pki::v1::KeyAlgorithm alg);

// "rsa-2048", "rsa-3072", "rsa-4096", "ecdsa-p256", "ecdsa-p384" (any case).
absl::StatusOr<vpnfleet::pki::v1::KeyAlgorithm> ParseKeyAlgorithmName(absl::string_view name);

// KEY_ALGORITHM_UNSPECIFIED for anything we do not issue for (DSA, RSA
// under 2048 bits, other curves).
vpnfleet::pki::v1::KeyAlgorithm KeyAlgorithmOf(const EVP_PKEY* key);

// PKCS#8 PEM; encrypted (AES-256-CBC, PBKDF2) when `passphrase` is not empty.
absl::StatusOr<std::string> PrivateKeyToPem(const EVP_PKEY* key, absl::string_view passphrase);

// DER wrapped as PEM under `label` ("CERTIFICATE", "X509 CRL").
std::string DerToPem(absl::string_view der, absl::string_view label);
absl::StatusOr<EvpKey> PrivateKeyFromPem(absl::string_view pem, absl::string_view passphrase);


}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_CA_KEYS_H_
