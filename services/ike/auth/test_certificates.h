// Certificates made on the spot for tests and fuzz targets that read no
// files: P-256 keys, self-signed CAs and the certificates they issue, and
// their PEM forms.
#ifndef VPNFLEET_SERVICES_IKE_AUTH_TEST_CERTIFICATES_H_
#define VPNFLEET_SERVICES_IKE_AUTH_TEST_CERTIFICATES_H_

#include <ctime>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::ike::auth::testcerts {

// A fresh P-256 key.
ossl::EvpKey NewEcKey();

struct CertificateSpec {
  const char* cn = "test";
  long serial = 1;
  std::time_t not_before = 0;  // 0: an hour ago
  std::time_t not_after = 0;   // 0: a day from now
  const char* aia = nullptr;   // an authorityInfoAccess value (OCSP URL), or none
};

// A certificate for `key` signed by `issuer_key`. Without `issuer` it is
// self-signed and a CA (basicConstraints CA:TRUE, keyCertSign and cRLSign);
// with one, an end entity (digitalSignature).
ossl::X509Ptr MakeCertificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                              EVP_PKEY* issuer_key);

std::string CertificatePem(X509* cert);
std::string CertificateDer(X509* cert);
std::string PrivateKeyPem(EVP_PKEY* key);  // unencrypted PKCS#8

}  // namespace vpnfleet::ike::auth::testcerts

#endif  // VPNFLEET_SERVICES_IKE_AUTH_TEST_CERTIFICATES_H_
