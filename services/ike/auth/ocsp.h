// OCSP (RFC 6960) on the relying side, for `revocation-check ocsp`: the
// question about a peer's certificate, the checks on the answer (signed by
// the issuer or a responder it delegated to, about this certificate, fresh,
// carrying our nonce), and a cache of verdicts shared by every IKE SA.
//
// Sans-I/O: the IKE SA finds a verdict in the cache or hands out a query;
// the daemon sends it over HTTP and puts what came back (or that nothing
// did) into the cache.
#ifndef VPNFLEET_SERVICES_IKE_AUTH_OCSP_H_
#define VPNFLEET_SERVICES_IKE_AUTH_OCSP_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::ike::auth {

enum class OcspVerdict {
  kGood,
  kRevoked,
  kUnknown,      // the responder does not know the certificate
  kUnavailable,  // no answer, or one we could not trust
};
const char* OcspVerdictName(OcspVerdict v);

struct OcspAnswer {
  OcspVerdict verdict = OcspVerdict::kUnavailable;
  absl::Time expires;  // cached until then
  std::string detail;  // for the log: why unavailable, the revocation reason
};

// One question about one certificate, with what is needed to judge the
// answer. Copyable; holds references to the certificates and the store.
struct OcspQuery {
  std::string key;          // the cache key: hex of the SHA-1 CertID
  std::string url;          // the responder
  std::string request_der;  // an OCSPRequest with a nonce
  std::string subject;      // of the certificate, for logs
  std::shared_ptr<X509> leaf, issuer;
  std::shared_ptr<X509_STORE> trust;  // the trustpoint's anchors
};

// The cache key of `leaf` issued by `issuer`; "" if it cannot be made.
std::string OcspKey(X509* leaf, X509* issuer);

// The question for `leaf` (issued by `issuer`, anchored in `trust`), sent
// to `url` when set, else to the certificate's authorityInfoAccess OCSP
// URL; NOT_FOUND when it names none.
absl::StatusOr<OcspQuery> MakeOcspQuery(X509* leaf, X509* issuer, X509_STORE* trust,
                                        absl::string_view url);

// Judges a DER OCSPResponse to `query` at `now`. Anything short of a signed,
// fresh, matching answer is kUnavailable (with why), cached `retry` long; a
// verdict is cached until the answer's nextUpdate (at most a day; five
// minutes when it has none).
OcspAnswer ReadOcspResponse(absl::string_view der, const OcspQuery& query, absl::Time now,
                            absl::Duration retry = absl::Seconds(30));

// Verdicts by key, for every IKE SA of the daemon; thread-safe, bounded.
class OcspCache {
 public:
  explicit OcspCache(size_t max_entries = 10000) : max_entries_(max_entries) {}
  // The verdict for `key` unless it has expired at `now`.
  std::optional<OcspAnswer> Find(const std::string& key, absl::Time now) const;
  void Put(const std::string& key, OcspAnswer answer, absl::Time now);
  size_t size() const;

 private:
  const size_t max_entries_;
  mutable absl::Mutex mu_;
  std::map<std::string, OcspAnswer> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vpnfleet::ike::auth

#endif  // VPNFLEET_SERVICES_IKE_AUTH_OCSP_H_
