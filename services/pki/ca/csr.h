// What an enrolling device makes from its key: a PKCS#10 request (subject,
// SANs as an extension request, the SCEP challenge password) and the
// short-lived self-signed certificate that signs its first SCEP request
// (RFC 8894 §2.3).
#ifndef VPNFLEET_SERVICES_PKI_CA_CSR_H_
#define VPNFLEET_SERVICES_PKI_CA_CSR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/pki/ca/keys.h"

namespace vpnfleet::pki {

struct CsrParams {
  std::string subject;                         // "CN=edge1,O=Example"
  std::vector<std::string> subject_alt_names;  // "DNS:x", "IP:1.2.3.4"
  std::string challenge_password;              // empty: none (renewal)
  // When set, used as the subject instead of `subject` (a renewal keeps the
  // current certificate's name exactly, attribute order included).
  const X509_NAME* subject_name = nullptr;
};

// DER of a CSR signed with `key`.
absl::StatusOr<std::string> BuildCsr(const CsrParams& params, EVP_PKEY* key);

// A self-signed certificate for `key` with `subject`, valid for a day.
absl::StatusOr<X509Ptr> SelfSigned(EVP_PKEY* key, const std::string& subject);

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_CA_CSR_H_
