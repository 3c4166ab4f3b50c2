#include "services/ike/auth/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::ike::auth {
namespace {

using RequestPtr = std::unique_ptr<OCSP_REQUEST, decltype(&OCSP_REQUEST_free)>;
using ResponsePtr = std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)>;
using BasicPtr = std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)>;
using CertIdPtr = std::unique_ptr<OCSP_CERTID, decltype(&OCSP_CERTID_free)>;

// RFC 6960 §4.2.2.1 leaves the clock skew to us; five minutes as OpenSSL
// and strongSwan allow.
constexpr absl::Duration kSkew = absl::Minutes(5);
constexpr absl::Duration kLongestCache = absl::Hours(24);
constexpr absl::Duration kCacheWithoutNextUpdate = absl::Minutes(5);
constexpr size_t kMaxResponse = 64 * 1024;

std::optional<absl::Time> TimeOf(const ASN1_GENERALIZEDTIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return absl::FromTimeT(timegm(&tm));
}

std::shared_ptr<X509> Share(X509* x) {
  X509_up_ref(x);
  return std::shared_ptr<X509>(x, X509_free);
}

}  // namespace

const char* OcspVerdictName(OcspVerdict v) {
  switch (v) {
    case OcspVerdict::kGood: return "good";
    case OcspVerdict::kRevoked: return "revoked";
    case OcspVerdict::kUnknown: return "unknown";
    case OcspVerdict::kUnavailable: return "unavailable";
  }
  return "unavailable";
}

std::string OcspKey(X509* leaf, X509* issuer) {
  CertIdPtr id(OCSP_cert_to_id(EVP_sha1(), leaf, issuer), OCSP_CERTID_free);
  if (!id) {
    ERR_clear_error();
    return "";
  }
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_CERTID(id.get(), &out);
  if (n <= 0) return "";
  std::string key = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(out), static_cast<size_t>(n)));
  OPENSSL_free(out);
  return key;
}

absl::StatusOr<OcspQuery> MakeOcspQuery(X509* leaf, X509* issuer, X509_STORE* trust,
                                        absl::string_view url) {
  OcspQuery q;
  q.url = std::string(url);
  if (q.url.empty()) {
    STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(leaf);
    for (int i = 0; urls != nullptr && i < sk_OPENSSL_STRING_num(urls); ++i) {
      const char* u = sk_OPENSSL_STRING_value(urls, i);
      if (absl::StartsWith(u, "http://")) {
        q.url = u;
        break;
      }
    }
    X509_email_free(urls);
  }
  if (q.url.empty()) {
    return absl::NotFoundError("the certificate names no http:// OCSP responder and no `ocsp url` is set");
  }
  q.key = OcspKey(leaf, issuer);
  RequestPtr req(OCSP_REQUEST_new(), OCSP_REQUEST_free);
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
  if (q.key.empty() || !req || id == nullptr || OCSP_request_add0_id(req.get(), id) == nullptr) {
    OCSP_CERTID_free(id);
    ERR_clear_error();
    return absl::InternalError("cannot build the OCSP request");
  }
  // RFC 8954: 32 random octets tie the answer to this question.
  unsigned char* out = nullptr;
  const int n = OCSP_request_add1_nonce(req.get(), nullptr, 32) == 1
                    ? i2d_OCSP_REQUEST(req.get(), &out)
                    : 0;
  if (n <= 0) {
    ERR_clear_error();
    return absl::InternalError("cannot encode the OCSP request");
  }
  q.request_der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  q.leaf = Share(leaf);
  q.issuer = Share(issuer);
  X509_STORE_up_ref(trust);
  q.trust = std::shared_ptr<X509_STORE>(trust, X509_STORE_free);
  return q;
}

OcspAnswer ReadOcspResponse(absl::string_view der, const OcspQuery& query, absl::Time now,
                            absl::Duration retry) {
  OcspAnswer a;
  a.expires = now + retry;
  auto unavailable = [&](std::string why) {
    ERR_clear_error();
    a.verdict = OcspVerdict::kUnavailable;
    a.detail = std::move(why);
    return a;
  };
  if (der.empty() || der.size() > kMaxResponse) return unavailable("empty or oversized answer");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())),
                   OCSP_RESPONSE_free);
  if (!resp) return unavailable("the answer is not an OCSPResponse");
  const int status = OCSP_response_status(resp.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return unavailable(absl::StrCat("the responder said ", OCSP_response_status_str(status)));
  }
  BasicPtr basic(OCSP_response_get1_basic(resp.get()), OCSP_BASICRESP_free);
  if (!basic) return unavailable("the answer has no basic response");
  // Our nonce back (1), or none at all (-1: responders that pre-sign their
  // answers send none, RFC 8954 §4); a different one is a replay.
  const auto* rp = reinterpret_cast<const unsigned char*>(query.request_der.data());
  RequestPtr req(d2i_OCSP_REQUEST(nullptr, &rp, static_cast<long>(query.request_der.size())),
                 OCSP_REQUEST_free);
  const int nonce = req ? OCSP_check_nonce(req.get(), basic.get()) : 0;
  if (nonce != 1 && nonce != -1) return unavailable("the answer's nonce is not ours");
  // Signed by the issuer, or by a responder the issuer certified for OCSP
  // signing (§4.2.2.2), chaining to this trustpoint.
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> certs(
      sk_X509_new_null(), [](STACK_OF(X509)* s) { sk_X509_free(s); });
  if (!certs || sk_X509_push(certs.get(), query.issuer.get()) <= 0) {
    return unavailable("out of memory");
  }
  if (OCSP_basic_verify(basic.get(), certs.get(), query.trust.get(), 0) != 1) {
    return unavailable("the answer's signature is not from the issuer or its responder");
  }
  CertIdPtr id(OCSP_cert_to_id(EVP_sha1(), query.leaf.get(), query.issuer.get()),
               OCSP_CERTID_free);
  int cert_status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!id || OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at,
                                   &this_update, &next_update) != 1) {
    return unavailable("the answer is not about this certificate");
  }
  const std::optional<absl::Time> this_t = TimeOf(this_update);
  const std::optional<absl::Time> next_t = TimeOf(next_update);
  if (!this_t || *this_t > now + kSkew) return unavailable("the answer is from the future");
  if (next_update != nullptr && (!next_t || *next_t < now - kSkew)) {
    return unavailable("the answer is stale (nextUpdate has passed)");
  }
  a.expires = next_t ? std::min(std::max(*next_t, now), now + kLongestCache)
                     : now + kCacheWithoutNextUpdate;
  switch (cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
      a.verdict = OcspVerdict::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED: {
      a.verdict = OcspVerdict::kRevoked;
      a.detail = absl::StrCat("revoked (", reason >= 0 ? OCSP_crl_reason_str(reason) : "no reason",
                              ")");
      break;
    }
    default:
      a.verdict = OcspVerdict::kUnknown;
      a.detail = "the responder does not know the certificate";
      break;
  }
  ERR_clear_error();
  return a;
}

std::optional<OcspAnswer> OcspCache::Find(const std::string& key, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires <= now) return std::nullopt;
  return it->second;
}

void OcspCache::Put(const std::string& key, OcspAnswer answer, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (entries_.size() >= max_entries_ && entries_.count(key) == 0) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= max_entries_) entries_.erase(entries_.begin());
  }
  entries_[key] = std::move(answer);
}

size_t OcspCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace vpnfleet::ike::auth
