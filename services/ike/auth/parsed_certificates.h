// Peers' certificates as parsed objects, kept by their DER octets. OpenSSL
// 3.0 parses a certificate's public key through its decoder framework, which
// made d2i_X509 a third of an ECDSA IKE_AUTH here (bench ike); a peer that
// comes back (re-authentication, a reconnect, several SAs at once) sends the
// same octets, which then cost one lookup. Like strongSwan's certificate
// cache, it holds parsed certificates only: every verification (chain,
// validity, revocation) still runs on each use. Only certificates that
// chained to a trust anchor are kept, so a peer cannot fill it with junk.
#ifndef VPNFLEET_SERVICES_IKE_AUTH_PARSED_CERTIFICATES_H_
#define VPNFLEET_SERVICES_IKE_AUTH_PARSED_CERTIFICATES_H_

#include <cstddef>

#include "absl/strings/string_view.h"
#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::ike::auth {

// The certificate encoded by `der` (a new reference, possibly shared with
// other callers: do not modify it), or null when it does not parse. Any
// thread.
ossl::X509Ptr ParseCertificate(absl::string_view der);

// Keeps `cert`, parsed from `der`, for the next ParseCertificate of the
// same octets: call it once the certificate is known to chain to a trust
// anchor. At most kParsedCertificates are kept (the oldest go first).
inline constexpr size_t kParsedCertificates = 4096;
void KeepParsedCertificate(absl::string_view der, X509* cert);

}  // namespace vpnfleet::ike::auth

#endif  // VPNFLEET_SERVICES_IKE_AUTH_PARSED_CERTIFICATES_H_
