#include "services/pki/http/scep_http.h"
#include "services/pki/http/civet_transport.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "gtest/gtest.h"
#include "absl/strings/escaping.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

class ScepHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(pki_, nullptr);
    responder_ = std::make_unique<scep::Responder>(pki_->enrollment.get(),
                                                   pki_->ca->certificate(), pki_->ca->key());
    HttpFrontOptions options;
    options.workers = 2;
    auto server = ScepHttpServer::Start(options, responder_.get(),
                                        [this]() -> absl::StatusOr<std::string> {
                                          auto crl = pki_->enrollment->CurrentCrl();
                                          if (!crl.ok()) return crl.status();
                                          return crl->der;
                                        },
                                        &ocsp_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
  }
  std::string Url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  std::unique_ptr<TestPki> pki_ = TestPki::Make(v1::KEY_ALGORITHM_RSA_2048);
  OcspResponder ocsp_{&*pki_->ca, StoreLookup(pki_->store.get()), &pki_->clock};
  std::unique_ptr<scep::Responder> responder_;
  std::unique_ptr<ScepHttpServer> server_;
};

TEST_F(ScepHttp, EnrollOverHttpOnBothPaths) {
  for (const char* path : {"/scep", "/cgi-bin/pkiclient.exe"}) {
    auto http = CivetTransport::ForUrl(Url(path));
    ASSERT_TRUE(http.ok());
    scep::ScepClient client(http->get());
    auto ca = client.Authenticate(pki_->ca->Describe().fingerprint_sha256());
    ASSERT_TRUE(ca.ok()) << ca.status();
    EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_RSA_2048));
    auto ch = pki_->enrollment->IssueChallenge("edge1", "", {"DNS:edge1.example"}, absl::Hours(1), false);
    auto r = client.Enroll(*ca, {"CN=edge1", {"DNS:edge1.example"}, ch->password}, key.get());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, scep::EnrollResult::Status::kIssued);
  }
  EXPECT_EQ(pki_->store->ListCertificates({})->size(), 2u);
}

TEST_F(ScepHttp, GarbageGetsHttp400AndTheCrlIsServed) {
  auto http = CivetTransport::ForUrl(Url("/scep"));
  ASSERT_TRUE(http.ok());
  auto bad = (*http)->Post("operation=PKIOperation", std::string(1000, '\x30'));
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->status, 400);
  auto bad_b64 = (*http)->Get("operation=PKIOperation&message=%%%");
  ASSERT_TRUE(bad_b64.ok());
  EXPECT_EQ(bad_b64->status, 400);
  auto huge = (*http)->Post("operation=PKIOperation", std::string(200 * 1024, 'x'));
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->status, 413);
  auto caps = (*http)->Get("operation=GetCACaps");
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->status, 200);
  EXPECT_NE(caps->body.find("SCEPStandard"), std::string::npos);
  // Debian 12's strongSwan `pki --scep` takes AES only with this one listed.
  EXPECT_NE(caps->body.find("\nSHA-384\n"), std::string::npos);

  auto crl_http = CivetTransport::ForUrl(Url("/crl/ca.crl"));
  auto crl = (*crl_http)->Get("");
  ASSERT_TRUE(crl.ok());
  EXPECT_EQ(crl->status, 200);
  EXPECT_EQ(crl->content_type, "application/pkix-crl");
  const auto* p = reinterpret_cast<const unsigned char*>(crl->body.data());
  X509CrlPtr parsed(d2i_X509_CRL(nullptr, &p, crl->body.size()));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(X509_CRL_verify(parsed.get(), X509_get0_pubkey(pki_->ca->certificate())), 1);
  EXPECT_TRUE(pki_->store->ListCertificates({})->empty());
}

TEST(CivetTransport, RefusesUrlsItCannotUse) {
  EXPECT_FALSE(CivetTransport::ForUrl("https://ca.example/scep").ok());
  EXPECT_FALSE(CivetTransport::ForUrl("http://:80/scep").ok());
  EXPECT_FALSE(CivetTransport::ForUrl("http://host:99999/scep").ok());
}

// RFC 6960 Appendix A: POST to /ocsp, and GET with the request in the path
// as URL-encoded base64 (which has '+' and '/' in it).
TEST_F(ScepHttp, OcspByPostAndByGet) {
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto cert = pki_->enrollment->IssueIdentity(*BuildCsr({"CN=bob", {}, ""}, key.get()), "operator",
                                              "bob", absl::ZeroDuration());
  ASSERT_TRUE(cert.ok()) << cert.status();
  X509Ptr leaf = ParseCertificateDer(cert->der);
  std::unique_ptr<OCSP_REQUEST, decltype(&OCSP_REQUEST_free)> req(OCSP_REQUEST_new(),
                                                                  OCSP_REQUEST_free);
  OCSP_request_add0_id(req.get(), OCSP_cert_to_id(nullptr, leaf.get(), pki_->ca->certificate()));
  unsigned char* out = nullptr;
  const int n = i2d_OCSP_REQUEST(req.get(), &out);
  const std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  auto status_of = [](const std::string& body) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    std::unique_ptr<OCSP_RESPONSE, decltype(&OCSP_RESPONSE_free)> r(
        d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(body.size())), OCSP_RESPONSE_free);
    return r ? OCSP_response_status(r.get()) : -1;
  };

  auto post_http = CivetTransport::ForUrl(Url("/ocsp"));
  ASSERT_TRUE(post_http.ok());
  (*post_http)->set_content_type("application/ocsp-request");
  auto posted = (*post_http)->Post("", der);
  ASSERT_TRUE(posted.ok()) << posted.status();
  EXPECT_EQ(posted->status, 200);
  EXPECT_EQ(posted->content_type, "application/ocsp-response");
  EXPECT_EQ(status_of(posted->body), OCSP_RESPONSE_STATUS_SUCCESSFUL);

  std::string b64 = absl::Base64Escape(der);
  std::string encoded;
  for (char c : b64) {
    if (c == '+') encoded += "%2B";
    else if (c == '/') encoded += "%2F";
    else if (c == '=') encoded += "%3D";
    else encoded += c;
  }
  auto get_http = CivetTransport::ForUrl(Url("/ocsp/" + encoded));
  auto got = (*get_http)->Get("");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(status_of(got->body), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  EXPECT_EQ(ocsp_.counters().good.load(), 2u);

  auto garbage = (*post_http)->Post("", "not DER");
  ASSERT_TRUE(garbage.ok());
  EXPECT_EQ(status_of(garbage->body), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
}

}  // namespace
}  // namespace vpnfleet::pki
