// OCSP on the relying side against answers made with OpenSSL's own
// responder functions (not our PKI's): a good answer is believed and cached
// until its nextUpdate, a revoked one carries its reason, and answers that
// are unsigned, signed by a stranger, stale, from the future, about another
// certificate or with another nonce are all "unavailable". Then TrustStore
// with `revocation-check ocsp [crl] [none]`.
#include "services/ike/auth/ocsp.h"

#include <openssl/ec.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gtest/gtest.h"
#include "services/ike/auth/certificates.h"
#include "services/ike/auth/test_certificates.h"

namespace vpnfleet::ike::auth {
namespace {

using testcerts::CertificateDer;
using testcerts::CertificatePem;
using testcerts::MakeCertificate;
using testcerts::NewEcKey;

struct Pki {
  ossl::EvpKey ca_key = NewEcKey(), leaf_key = NewEcKey(), stranger_key = NewEcKey();
  ossl::X509Ptr ca = MakeCertificate({"test CA", 1}, ca_key.get(), nullptr, ca_key.get());
  ossl::X509Ptr leaf = MakeCertificate({"peer", 7, 0, 0, "OCSP;URI:http://127.0.0.1:1/ocsp"},
                                       leaf_key.get(), ca.get(), ca_key.get());
  ossl::X509Ptr stranger =
      MakeCertificate({"stranger CA", 2}, stranger_key.get(), nullptr, stranger_key.get());
  ossl::X509StorePtr trust{X509_STORE_new()};
  Pki() { X509_STORE_add_cert(trust.get(), ca.get()); }
};

struct AnswerSpec {
  int status = V_OCSP_CERTSTATUS_GOOD;
  int reason = -1;
  absl::Duration this_offset = absl::ZeroDuration();
  absl::Duration next_offset = absl::Hours(1);
  bool copy_nonce = true;
  bool other_serial = false;
  bool signed_by_stranger = false;
  int response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
};

// What a responder would send to `q` (OpenSSL builds and signs it).
std::string Respond(Pki& pki, const OcspQuery& q, const AnswerSpec& spec) {
  if (spec.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    OCSP_RESPONSE* r = OCSP_response_create(spec.response_status, nullptr);
    unsigned char* out = nullptr;
    const int n = i2d_OCSP_RESPONSE(r, &out);
    std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
    OPENSSL_free(out);
    OCSP_RESPONSE_free(r);
    return der;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(q.request_der.data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(q.request_der.size()));
  OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
  ossl::X509Ptr about;
  if (spec.other_serial) {
    about.reset(X509_dup(pki.leaf.get()));
    ASN1_INTEGER_set(X509_get_serialNumber(about.get()), 8);
  }
  OCSP_CERTID* id =
      OCSP_cert_to_id(EVP_sha1(), about ? about.get() : pki.leaf.get(), pki.ca.get());
  const time_t now = time(nullptr);
  ASN1_TIME* this_update = ASN1_TIME_set(nullptr, now + absl::ToInt64Seconds(spec.this_offset));
  ASN1_TIME* next_update = ASN1_TIME_set(nullptr, now + absl::ToInt64Seconds(spec.next_offset));
  ASN1_TIME* revoked = ASN1_TIME_set(nullptr, now - 60);
  OCSP_basic_add1_status(bs, id, spec.status, spec.reason,
                         spec.status == V_OCSP_CERTSTATUS_REVOKED ? revoked : nullptr, this_update,
                         next_update);
  if (spec.copy_nonce) OCSP_copy_nonce(bs, req);
  X509* signer = spec.signed_by_stranger ? pki.stranger.get() : pki.ca.get();
  EVP_PKEY* key = spec.signed_by_stranger ? pki.stranger_key.get() : pki.ca_key.get();
  OCSP_basic_sign(bs, signer, key, EVP_sha256(), nullptr, OCSP_RESPID_KEY);
  OCSP_RESPONSE* r = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_RESPONSE(r, &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  OCSP_RESPONSE_free(r);
  OCSP_BASICRESP_free(bs);
  OCSP_CERTID_free(id);
  OCSP_REQUEST_free(req);
  ASN1_TIME_free(this_update);
  ASN1_TIME_free(next_update);
  ASN1_TIME_free(revoked);
  return der;
}

TEST(OcspQuery, AsksTheCertificatesResponderUnlessConfigured) {
  Pki pki;
  auto q = MakeOcspQuery(pki.leaf.get(), pki.ca.get(), pki.trust.get(), "");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->url, "http://127.0.0.1:1/ocsp");
  EXPECT_EQ(q->key, OcspKey(pki.leaf.get(), pki.ca.get()));
  EXPECT_FALSE(q->request_der.empty());
  auto configured = MakeOcspQuery(pki.leaf.get(), pki.ca.get(), pki.trust.get(),
                                  "http://10.0.0.1/ocsp");
  ASSERT_TRUE(configured.ok());
  EXPECT_EQ(configured->url, "http://10.0.0.1/ocsp");
  // Two questions carry two nonces.
  EXPECT_NE(configured->request_der, q->request_der);
  auto none = MakeOcspQuery(pki.ca.get(), pki.ca.get(), pki.trust.get(), "");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

TEST(OcspAnswer, GoodIsCachedUntilNextUpdate) {
  Pki pki;
  auto q = MakeOcspQuery(pki.leaf.get(), pki.ca.get(), pki.trust.get(), "");
  ASSERT_TRUE(q.ok());
  const absl::Time now = absl::Now();
  OcspAnswer a = ReadOcspResponse(Respond(pki, *q, {}), *q, now);
  EXPECT_EQ(a.verdict, OcspVerdict::kGood) << a.detail;
  EXPECT_GT(a.expires, now + absl::Minutes(59));
  EXPECT_LT(a.expires, now + absl::Minutes(61));
}

TEST(OcspAnswer, RevokedCarriesTheReason) {
  Pki pki;
  auto q = MakeOcspQuery(pki.leaf.get(), pki.ca.get(), pki.trust.get(), "");
  AnswerSpec spec;
  spec.status = V_OCSP_CERTSTATUS_REVOKED;
  spec.reason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
  OcspAnswer a = ReadOcspResponse(Respond(pki, *q, spec), *q, absl::Now());
  EXPECT_EQ(a.verdict, OcspVerdict::kRevoked);
  EXPECT_NE(a.detail.find("keyCompromise"), std::string::npos) << a.detail;
  spec.status = V_OCSP_CERTSTATUS_UNKNOWN;
  spec.reason = -1;
  EXPECT_EQ(ReadOcspResponse(Respond(pki, *q, spec), *q, absl::Now()).verdict,
            OcspVerdict::kUnknown);
}

TEST(OcspAnswer, AnswersWeCannotTrustAreUnavailable) {
  Pki pki;
  auto q = MakeOcspQuery(pki.leaf.get(), pki.ca.get(), pki.trust.get(), "");
  ASSERT_TRUE(q.ok());
  auto other = MakeOcspQuery(pki.leaf.get(), pki.ca.get(), pki.trust.get(), "");
  const absl::Time now = absl::Now();
  struct Case {
    const char* name;
    AnswerSpec spec;
  };
  std::vector<Case> cases;
  cases.push_back({"signed by a stranger", {}});
  cases.back().spec.signed_by_stranger = true;
  cases.push_back({"stale", {}});
  cases.back().spec.this_offset = absl::Hours(-3);
  cases.back().spec.next_offset = absl::Hours(-2);
  cases.push_back({"from the future", {}});
  cases.back().spec.this_offset = absl::Hours(2);
  cases.push_back({"about another certificate", {}});
  cases.back().spec.other_serial = true;
  cases.push_back({"tryLater", {}});
  cases.back().spec.response_status = OCSP_RESPONSE_STATUS_TRYLATER;
  for (const Case& c : cases) {
    OcspAnswer a = ReadOcspResponse(Respond(pki, *q, c.spec), *q, now);
    EXPECT_EQ(a.verdict, OcspVerdict::kUnavailable) << c.name;
    EXPECT_FALSE(a.detail.empty()) << c.name;
    EXPECT_EQ(a.expires, now + absl::Seconds(30)) << c.name;
  }
  // Another question's answer (another nonce) is a replay.
  EXPECT_EQ(ReadOcspResponse(Respond(pki, *other, {}), *q, now).verdict,
            OcspVerdict::kUnavailable);
  // No nonce at all is accepted (pre-signed answers).
  AnswerSpec no_nonce;
  no_nonce.copy_nonce = false;
  EXPECT_EQ(ReadOcspResponse(Respond(pki, *q, no_nonce), *q, now).verdict, OcspVerdict::kGood);
  for (const std::string& junk : {std::string(), std::string("\x30\x03\x0a\x01\x00", 5),
                                  std::string(100, '\x30'), std::string(70000, 'x')}) {
    EXPECT_EQ(ReadOcspResponse(junk, *q, now).verdict, OcspVerdict::kUnavailable);
  }
}

TEST(OcspCache, ExpiresAndStaysBounded) {
  OcspCache cache(2);
  const absl::Time now = absl::Now();
  cache.Put("a", {OcspVerdict::kGood, now + absl::Minutes(1), ""}, now);
  EXPECT_TRUE(cache.Find("a", now).has_value());
  EXPECT_FALSE(cache.Find("a", now + absl::Minutes(2)).has_value());
  cache.Put("b", {OcspVerdict::kGood, now + absl::Minutes(5), ""}, now);
  cache.Put("c", {OcspVerdict::kGood, now + absl::Minutes(5), ""}, now + absl::Minutes(2));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.Find("a", now).has_value());  // the expired one went first
}

class OcspTrust : public ::testing::Test {
 protected:
  std::shared_ptr<const TrustStore> Trust(std::vector<Revocation> methods) {
    TrustStore::TrustpointPem tp;
    tp.name = "CA";
    tp.ca_pem = CertificatePem(pki_.ca.get());
    tp.revocation = std::move(methods);
    auto t = TrustStore::Make({tp}, cache_);
    EXPECT_TRUE(t.ok()) << t.status();
    return *t;
  }
  absl::StatusOr<TrustStore::Verified> Verify(const TrustStore& t, OcspQuery* ask) {
    v2::CertPayload c{kCertX509Signature, CertificateDer(pki_.leaf.get())};
    return t.Verify({&c}, absl::Now(), ask);
  }
  Pki pki_;
  std::shared_ptr<OcspCache> cache_ = std::make_shared<OcspCache>();
};

TEST_F(OcspTrust, AsksThenBelievesTheCachedAnswer) {
  auto t = Trust({Revocation::kOcsp});
  OcspQuery ask;
  auto first = Verify(*t, &ask);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ask.url, "http://127.0.0.1:1/ocsp");
  cache_->Put(ask.key, ReadOcspResponse(Respond(pki_, ask, {}), ask, absl::Now()), absl::Now());
  auto second = Verify(*t, &ask);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->revocation, "ocsp");
}

TEST_F(OcspTrust, RevokedIsRefusedWhateverFollows) {
  auto t = Trust({Revocation::kOcsp, Revocation::kNone});
  OcspQuery ask;
  ASSERT_EQ(Verify(*t, &ask).status().code(), absl::StatusCode::kUnavailable);
  AnswerSpec spec;
  spec.status = V_OCSP_CERTSTATUS_REVOKED;
  spec.reason = OCSP_REVOKED_STATUS_SUPERSEDED;
  cache_->Put(ask.key, ReadOcspResponse(Respond(pki_, ask, spec), ask, absl::Now()), absl::Now());
  auto v = Verify(*t, &ask);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(v.status().message().find("superseded"), std::string::npos) << v.status();
}

TEST_F(OcspTrust, UnavailableFallsToTheNextMethod) {
  OcspQuery ask;
  ASSERT_EQ(Verify(*Trust({Revocation::kOcsp}), &ask).status().code(),
            absl::StatusCode::kUnavailable);
  cache_->Put(ask.key, ReadOcspResponse("", ask, absl::Now()), absl::Now());
  // `revocation-check ocsp`: nobody vouched for it.
  auto alone = Verify(*Trust({Revocation::kOcsp}), &ask);
  EXPECT_EQ(alone.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(alone.status().message().find("revocation status unknown"), std::string::npos);
  // `revocation-check ocsp none`: accepted.
  auto lenient = Verify(*Trust({Revocation::kOcsp, Revocation::kNone}), &ask);
  ASSERT_TRUE(lenient.ok()) << lenient.status();
  EXPECT_EQ(lenient->revocation, "none");
  // `revocation-check ocsp crl` without a CRL: refused, both reasons named.
  auto crl = Verify(*Trust({Revocation::kOcsp, Revocation::kCrl}), &ask);
  EXPECT_EQ(crl.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(crl.status().message().find("crl:"), std::string::npos) << crl.status();
}

TEST_F(OcspTrust, WithoutAFetcherOcspNeverAnswers) {
  auto v = Verify(*Trust({Revocation::kOcsp}), nullptr);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace vpnfleet::ike::auth
