// The certificate authority: a root (created here or imported) that issues
// certificates from PKCS#10 requests by profile and signs CRLs, all through
// OpenSSL. No I/O and no store: callers (the SCEP server, the API) decide
// what to issue and keep what was issued; the clock and the serial numbers'
// randomness come from OpenSSL and the injected clock.
#ifndef VPNFLEET_SERVICES_PKI_CA_AUTHORITY_H_
#define VPNFLEET_SERVICES_PKI_CA_AUTHORITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "services/pki/ca/keys.h"
#include "vpnfleet/pki/v1/pki.pb.h"

namespace vpnfleet::pki {

struct RootOptions {
  std::string subject = "CN=vpnfleet root CA";  // RFC 4514-ish "CN=..,O=.." (comma-separated)
  vpnfleet::pki::v1::KeyAlgorithm key_algorithm = vpnfleet::pki::v1::KEY_ALGORITHM_ECDSA_P256;
  absl::Duration validity = absl::Hours(24 * 365 * 10);
};

// What a certificate is for.
enum class Profile {
  kIkePeer,  // digitalSignature, keyEncipherment; EKU ipsecIKE, serverAuth, clientAuth
  kRa,       // the SCEP RA: digitalSignature, keyEncipherment, no EKU
};

struct IssueRequest {
  std::string csr_der;  // PKCS#10
  // The same request already parsed, if the caller has it: saves a parse
  // (OpenSSL 3 decodes the public key on every parse, which is costly).
  X509_REQ* csr = nullptr;
  Profile profile = Profile::kIkePeer;
  absl::Duration validity = absl::Hours(24 * 365);
  // When set, the certificate's subject CN must equal it.
  std::string required_cn;
  // When set, every subject alternative name the request asks for must be
  // one of these (CanonicalSan form): a renewal keeps its names, a first
  // enrollment asks only for those its challenge was registered with.
  const std::vector<std::string>* allowed_sans = nullptr;
  std::vector<std::string> crl_urls;   // CRL distribution points
  std::vector<std::string> ocsp_urls;  // authorityInfoAccess OCSP responders
  // The holder's identity for the fleet's mTLS (spiffe://TD/ROLE/NAME), added
  // as a URI name by the CA; requests themselves may not carry URI names.
  std::string identity_uri;
};

struct IssuedCertificate {
  std::string der;
  std::string serial_hex;  // lower-case, no leading zeros
  std::string subject;     // RFC 2253 form
  std::vector<std::string> subject_alt_names;  // "DNS:x", "IP:1.2.3.4"
  vpnfleet::pki::v1::KeyAlgorithm key_algorithm = vpnfleet::pki::v1::KEY_ALGORITHM_UNSPECIFIED;
  absl::Time not_before, not_after;
  std::string fingerprint_sha256;  // hex, lower-case
};

struct RevokedEntry {
  std::string serial_hex;
  absl::Time revoked_at;
  vpnfleet::pki::v1::RevocationReason reason = vpnfleet::pki::v1::REVOCATION_REASON_UNSPECIFIED;
};

// Why a request was refused, so the SCEP layer can answer with the right
// failInfo (RFC 8894 §3.2.1.4.5).
enum class IssueError { kNone, kBadAlg, kBadMessageCheck, kBadRequest };

class CertificateAuthority {
 public:
  static absl::StatusOr<CertificateAuthority> CreateRoot(const RootOptions& options,
                                                        const Clock* clock);
  // An existing CA certificate and its key (PEM).
  static absl::StatusOr<CertificateAuthority> Import(const std::string& cert_pem,
                                                    const std::string& key_pem,
                                                    const std::string& passphrase,
                                                    const Clock* clock);

  // A subordinate CA signed by this one (CA:TRUE, pathlen 0), never
  // outliving it: the intermediate that issues while the root stays put.
  absl::StatusOr<CertificateAuthority> CreateIntermediate(const RootOptions& options) const;

  // Checks the request's signature, key and names, and issues. On refusal
  // the status says why in words and `*why` (optional) as a failInfo kind.
  absl::StatusOr<IssuedCertificate> Issue(const IssueRequest& request,
                                          IssueError* why = nullptr) const;

  // A v2 CRL with the CRL number, AKI and each entry's reason, valid until
  // `next_update`.
  absl::StatusOr<std::string> SignCrl(const std::vector<RevokedEntry>& revoked, uint64_t number,
                                      absl::Time next_update) const;

  std::string CertificatePem() const;
  std::string CertificateDer() const;
  absl::StatusOr<std::string> KeyPem(const std::string& passphrase) const;
  vpnfleet::pki::v1::CaCertificate Describe() const;
  X509* certificate() const { return cert_.get(); }
  EVP_PKEY* key() const { return key_.get(); }

 private:
  CertificateAuthority(X509Ptr cert, EvpKey key, const Clock* clock)
      : cert_(std::move(cert)), key_(std::move(key)), clock_(clock) {}

  X509Ptr cert_;
  EvpKey key_;
  const Clock* clock_;
};

// Facts of a certificate for the API and `show crypto pki certificates`.
// `known` skips decoding the certificate's public key just to name it.
IssuedCertificate DescribeCertificate(
    X509* cert, vpnfleet::pki::v1::KeyAlgorithm known = vpnfleet::pki::v1::KEY_ALGORITHM_UNSPECIFIED);
std::string Sha256Hex(const std::string& der);
// A CA or RA certificate for the API (ROOT when self-issued, else
// INTERMEDIATE; callers mark RAs).
vpnfleet::pki::v1::CaCertificate DescribeCa(X509* cert);
std::string DerOf(X509* cert);
// A subject alternative name as certificates are described and compared:
// "DNS:" with the name in lower case, or "IP:" with the address as
// DescribeCertificate writes it (IPv6 as eight hex groups). Accepts
// "dns:Edge.Example", "IP:2001:db8::1"; refuses anything else.
absl::StatusOr<std::string> CanonicalSan(absl::string_view name);
// One DER certificate and nothing after it; null otherwise.
X509Ptr ParseCertificateDer(absl::string_view der);
// RFC 2253 text of a name, and a serial as lower-case hex without leading
// zeros: the forms the store and the API use.
std::string NameText(const X509_NAME* name);
std::string SerialHex(const ASN1_INTEGER* serial);
// "CN=edge1,O=Example" (comma-separated attribute=value) to a name; owned by the caller.
absl::StatusOr<X509_NAME*> ParseName(const std::string& text);
// SHA-384 for P-384 keys, SHA-256 otherwise.
const EVP_MD* DigestFor(const EVP_PKEY* signer);
// RFC 5280 §4.1.2.2: a positive 128-bit random serial.
bool SetRandomSerial(X509* cert);

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_CA_AUTHORITY_H_
