// The OCSP responder (RFC 6960) beside the CRL: a peer asks about one
// certificate and gets a fresh, signed answer (good, revoked with time and
// reason, or unknown) instead of the whole CRL. Signed by the CA itself
// (§4.2.2.2 allows the issuer as responder), so a client needs nothing it
// does not already trust.
//
// Sans-I/O: the HTTP front hands in the DER request and sends back what
// Respond returns; the store is reached through a lookup function.
// Untrusted input: every request gets a DER OCSPResponse, malformedRequest
// for anything that is not a well-formed request.
#ifndef VPNFLEET_SERVICES_PKI_OCSP_OCSP_RESPONDER_H_
#define VPNFLEET_SERVICES_PKI_OCSP_OCSP_RESPONDER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "services/pki/ca/authority.h"
#include "services/pki/store/pki_store.h"

namespace vpnfleet::pki {

// What the store knows of one serial number.
struct CertStatus {
  enum class Kind { kGood, kRevoked, kUnknown } kind = Kind::kUnknown;
  absl::Time revoked_at;  // kRevoked: may lie in the future (superseded after an overlap)
  vpnfleet::pki::v1::RevocationReason reason = vpnfleet::pki::v1::REVOCATION_REASON_UNSPECIFIED;
};
using CertStatusLookup = std::function<absl::StatusOr<CertStatus>(const std::string& serial_hex)>;

// Statuses as `store` records them: unknown for serials it never issued.
CertStatusLookup StoreLookup(PkiStore* store);

struct OcspResponderOptions {
  // nextUpdate = thisUpdate + this: how long clients may cache an answer.
  absl::Duration validity = absl::Hours(1);
  // Requests naming more certificates than this are malformed for us.
  int max_certificates = 16;
};

// Answers by status, for metrics; monotonic.
struct OcspCounters {
  std::atomic<uint64_t> good{0}, revoked{0}, unknown{0}, malformed{0}, unauthorized{0},
      internal_error{0};
};

class OcspResponder {
 public:
  OcspResponder(const CertificateAuthority* ca, CertStatusLookup lookup, const Clock* clock,
                OcspResponderOptions options = {})
      : ca_(ca), lookup_(std::move(lookup)), clock_(clock), options_(options) {}

  // The DER OCSPResponse for a DER OCSPRequest.
  std::string Respond(absl::string_view request_der);

  OcspCounters& counters() { return counters_; }

 private:
  const CertificateAuthority* ca_;
  CertStatusLookup lookup_;
  const Clock* clock_;
  OcspResponderOptions options_;
  OcspCounters counters_;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_OCSP_OCSP_RESPONDER_H_
