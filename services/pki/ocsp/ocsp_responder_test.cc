// The OCSP responder against OpenSSL's own OCSP client functions: answers
// verify with the CA as the only trust anchor, carry the nonce back, say
// good, revoked (with reason) and unknown as the store does, and anything
// malformed or not ours is refused whole without a signature.
#include "services/pki/ocsp/ocsp_responder.h"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "gtest/gtest.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

struct Fixture {
  std::unique_ptr<TestPki> pki;
  std::unique_ptr<OcspResponder> responder;
  X509Ptr leaf;
  std::string serial;
};

Fixture Make() {
  Fixture f;
  EnrollmentOptions options;
  options.ocsp_urls = {"http://127.0.0.1:1/ocsp"};
  f.pki = TestPki::Make(v1::KEY_ALGORITHM_ECDSA_P256, options);
  f.responder = std::make_unique<OcspResponder>(&*f.pki->ca, StoreLookup(f.pki->store.get()),
                                                &f.pki->clock);
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  auto cert = f.pki->enrollment->IssueIdentity(*BuildCsr({"CN=alice", {}, ""}, key->get()),
                                               "operator", "alice", absl::ZeroDuration());
  if (cert.ok()) {
    f.serial = cert->serial_hex;
    f.leaf = ParseCertificateDer(cert->der);
  }
  return f;
}

using RequestPtr = std::unique_ptr<OCSP_REQUEST, decltype(&OCSP_REQUEST_free)>;
using ResponsePtr = std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)>;
using BasicPtr = std::unique_ptr<OCSP_BASICRESP, decltype(&OCSP_BASICRESP_free)>;

std::string RequestDer(X509* leaf, X509* issuer, const EVP_MD* md = EVP_sha1(),
                       bool nonce = true) {
  RequestPtr req(OCSP_REQUEST_new(), OCSP_REQUEST_free);
  OCSP_request_add0_id(req.get(), OCSP_cert_to_id(md, leaf, issuer));
  if (nonce) OCSP_request_add1_nonce(req.get(), nullptr, -1);
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_REQUEST(req.get(), &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

struct Answer {
  int response_status = -1;
  int cert_status = -1;
  int reason = -1;
  bool signature_ok = false;
  bool nonce_ok = false;
  absl::Time next_update;
};

Answer Ask(const Fixture& f, const std::string& request_der, X509* leaf, X509* issuer,
           const EVP_MD* md = EVP_sha1()) {
  Answer a;
  const std::string der = f.responder->Respond(request_der);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ResponsePtr resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())),
                   OCSP_RESPONSE_free);
  if (!resp) return a;
  a.response_status = OCSP_response_status(resp.get());
  if (a.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) return a;
  BasicPtr basic(OCSP_response_get1_basic(resp.get()), OCSP_BASICRESP_free);
  if (!basic) return a;
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, f.pki->ca->certificate());
  a.signature_ok = OCSP_basic_verify(basic.get(), nullptr, store, 0) == 1;
  X509_STORE_free(store);
  const auto* rp = reinterpret_cast<const unsigned char*>(request_der.data());
  RequestPtr req(d2i_OCSP_REQUEST(nullptr, &rp, static_cast<long>(request_der.size())),
                 OCSP_REQUEST_free);
  a.nonce_ok = req && OCSP_check_nonce(req.get(), basic.get()) == 1;
  OCSP_CERTID* id = OCSP_cert_to_id(md, leaf, issuer);
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisupd = nullptr, *nextupd = nullptr;
  if (OCSP_resp_find_status(basic.get(), id, &a.cert_status, &a.reason, &rev, &thisupd,
                            &nextupd) == 1 &&
      nextupd != nullptr) {
    struct tm tm = {};
    ASN1_TIME_to_tm(nextupd, &tm);
    a.next_update = absl::FromTimeT(timegm(&tm));
  }
  OCSP_CERTID_free(id);
  return a;
}

TEST(OcspResponder, GoodThenRevokedWithReason) {
  Fixture f = Make();
  ASSERT_TRUE(f.leaf);
  X509* ca = f.pki->ca->certificate();
  Answer good = Ask(f, RequestDer(f.leaf.get(), ca), f.leaf.get(), ca);
  EXPECT_EQ(good.response_status, OCSP_RESPONSE_STATUS_SUCCESSFUL);
  EXPECT_TRUE(good.signature_ok);
  EXPECT_TRUE(good.nonce_ok);
  EXPECT_EQ(good.cert_status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(good.next_update, absl::FromTimeT(absl::ToTimeT(f.pki->clock.Now() + absl::Hours(1))));

  ASSERT_TRUE(f.pki->enrollment->Revoke(f.serial, v1::REVOCATION_REASON_KEY_COMPROMISE).ok());
  Answer revoked = Ask(f, RequestDer(f.leaf.get(), ca), f.leaf.get(), ca);
  EXPECT_TRUE(revoked.signature_ok);
  EXPECT_EQ(revoked.cert_status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(revoked.reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(f.responder->counters().good.load(), 1u);
  EXPECT_EQ(f.responder->counters().revoked.load(), 1u);
}

TEST(OcspResponder, Sha256CertIdAndNoNce) {
  Fixture f = Make();
  ASSERT_TRUE(f.leaf);
  X509* ca = f.pki->ca->certificate();
  Answer a = Ask(f, RequestDer(f.leaf.get(), ca, EVP_sha256(), false), f.leaf.get(), ca,
                 EVP_sha256());
  EXPECT_TRUE(a.signature_ok);
  EXPECT_EQ(a.cert_status, V_OCSP_CERTSTATUS_GOOD);
}

TEST(OcspResponder, ScheduledRevocationIsGoodUntilThenAndNotCachedPastIt) {
  Fixture f = Make();
  ASSERT_TRUE(f.leaf);
  X509* ca = f.pki->ca->certificate();
  const absl::Time later = f.pki->clock.Now() + absl::Minutes(10);
  ASSERT_TRUE(f.pki->store->Revoke(f.serial, later, v1::REVOCATION_REASON_SUPERSEDED).ok());
  Answer a = Ask(f, RequestDer(f.leaf.get(), ca), f.leaf.get(), ca);
  EXPECT_EQ(a.cert_status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(a.next_update, absl::FromTimeT(absl::ToTimeT(later)));
  f.pki->clock.Advance(absl::Minutes(11));
  Answer b = Ask(f, RequestDer(f.leaf.get(), ca), f.leaf.get(), ca);
  EXPECT_EQ(b.cert_status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(b.reason, OCSP_REVOKED_STATUS_SUPERSEDED);
}

TEST(OcspResponder, SerialNeverIssuedIsUnknown) {
  Fixture f = Make();
  ASSERT_TRUE(f.leaf);
  X509* ca = f.pki->ca->certificate();
  // The same issuer, a serial nobody was given.
  X509Ptr stranger(X509_dup(f.leaf.get()));
  ASN1_INTEGER_set(X509_get_serialNumber(stranger.get()), 424242);
  Answer a = Ask(f, RequestDer(stranger.get(), ca), stranger.get(), ca);
  EXPECT_TRUE(a.signature_ok);
  EXPECT_EQ(a.cert_status, V_OCSP_CERTSTATUS_UNKNOWN);
}

TEST(OcspResponder, AnotherIssuersCertificateIsUnauthorized) {
  Fixture f = Make();
  auto other = TestPki::Make();
  ASSERT_TRUE(f.leaf && other);
  X509* foreign_ca = other->ca->certificate();
  Answer a = Ask(f, RequestDer(f.leaf.get(), foreign_ca), f.leaf.get(), foreign_ca);
  EXPECT_EQ(a.response_status, OCSP_RESPONSE_STATUS_UNAUTHORIZED);
  EXPECT_EQ(f.responder->counters().unauthorized.load(), 1u);
}

TEST(OcspResponder, MalformedRequestsAreRefusedUnsigned) {
  Fixture f = Make();
  ASSERT_TRUE(f.leaf);
  X509* ca = f.pki->ca->certificate();
  const std::string good = RequestDer(f.leaf.get(), ca);
  for (const std::string& bad :
       {std::string(), std::string("\x30\x00", 2), good.substr(0, good.size() - 1), good + "x",
        std::string(500, '\x30')}) {
    Answer a = Ask(f, bad, f.leaf.get(), ca);
    EXPECT_EQ(a.response_status, OCSP_RESPONSE_STATUS_MALFORMEDREQUEST) << bad.size();
  }
  EXPECT_EQ(f.responder->counters().malformed.load(), 5u);
}

TEST(OcspResponder, IssuedCertificatesNameTheResponder) {
  Fixture f = Make();
  ASSERT_TRUE(f.leaf);
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(f.leaf.get());
  ASSERT_NE(urls, nullptr);
  ASSERT_EQ(sk_OPENSSL_STRING_num(urls), 1);
  EXPECT_STREQ(sk_OPENSSL_STRING_value(urls, 0), "http://127.0.0.1:1/ocsp");
  X509_email_free(urls);
}

}  // namespace
}  // namespace vpnfleet::pki
