// The CA against OpenSSL's own verifier: issued chains verify, the profile's
// extensions are there, CRLs verify and list what was revoked, and bad
// requests are refused with the failInfo kind the SCEP layer needs.
#include "services/pki/ca/authority.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gtest/gtest.h"
#include "services/pki/ca/keys.h"

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

std::string CsrDer(EVP_PKEY* key, const std::string& cn, const std::string& san,
                   EVP_PKEY* signer = nullptr) {
  X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  if (!san.empty()) {
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                                      san.c_str()));
    X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  X509_REQ_sign(req.get(), signer != nullptr ? signer : key, EVP_sha256());
  unsigned char* out = nullptr;
  const int n = i2d_X509_REQ(req.get(), &out);
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

X509Ptr Parse(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

// OpenSSL's chain verification with the CA as the only trust anchor, at the
// CA's (fake) time.
int Verify(const CertificateAuthority& ca, X509* leaf, X509_CRL* crl = nullptr) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca.certificate());
  if (crl != nullptr) {
    X509_STORE_add_crl(store, crl);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
  // Half an hour after the CA's notBefore: inside every validity here.
  const ASN1_TIME* start = X509_get0_notBefore(ca.certificate());
  struct tm tm = {};
  ASN1_TIME_to_tm(start, &tm);
  X509_STORE_CTX_set_time(ctx, 0, timegm(&tm) + 1800);
  const int ok = X509_verify_cert(ctx);
  const int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return err;
}

class CaTest : public ::testing::TestWithParam<v1::KeyAlgorithm> {
 protected:
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
};

TEST_P(CaTest, IssuesIkePeerCertificatesThatVerify) {
  RootOptions o;
  o.subject = "CN=vpnfleet test root,O=vpnfleet";
  o.key_algorithm = GetParam();
  auto ca = CertificateAuthority::CreateRoot(o, &clock_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->Describe().role(), v1::CaCertificate::ROLE_ROOT);
  EXPECT_EQ(ca->Describe().key_algorithm(), GetParam());

  for (v1::KeyAlgorithm alg : {v1::KEY_ALGORITHM_RSA_2048, v1::KEY_ALGORITHM_ECDSA_P256}) {
    auto key = GenerateKey(alg);
    ASSERT_TRUE(key.ok());
    IssueRequest r;
    r.csr_der = CsrDer(key->get(), "edge1.example.net", "DNS:edge1.example.net,IP:198.51.100.7");
    r.crl_urls = {"http://127.0.0.1:8085/crl"};
    auto issued = ca->Issue(r);
    ASSERT_TRUE(issued.ok()) << issued.status();
    EXPECT_EQ(issued->subject, "CN=edge1.example.net");
    EXPECT_EQ(issued->key_algorithm, alg);
    EXPECT_EQ(issued->subject_alt_names,
              (std::vector<std::string>{"DNS:edge1.example.net", "IP:198.51.100.7"}));
    EXPECT_GE(issued->serial_hex.size(), 30u);  // 128 random bits
    EXPECT_EQ(issued->not_before, clock_.Now() - absl::Minutes(5));
    EXPECT_EQ(issued->not_after, clock_.Now() + absl::Hours(24 * 365));
    X509Ptr cert = Parse(issued->der);
    ASSERT_TRUE(cert);
    EXPECT_EQ(Verify(*ca, cert.get()), X509_V_OK);
    // The IKE profile (RFC 4945 §5.1.3.12).
    const uint32_t xku = X509_get_extended_key_usage(cert.get());
    EXPECT_TRUE(xku & XKU_SSL_SERVER);
    EXPECT_TRUE(xku & XKU_SSL_CLIENT);
    auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(cert.get(), NID_ext_key_usage, nullptr, nullptr));
    ASSERT_NE(eku, nullptr);
    bool ipsec_ike = false;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
      char oid[64];
      OBJ_obj2txt(oid, sizeof oid, sk_ASN1_OBJECT_value(eku, i), 1);
      ipsec_ike |= std::string(oid) == "1.3.6.1.5.5.7.3.17";
    }
    EXTENDED_KEY_USAGE_free(eku);
    EXPECT_TRUE(ipsec_ike);
    EXPECT_TRUE(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE);
    EXPECT_EQ(X509_check_ca(cert.get()), 0);
    auto* dps = static_cast<CRL_DIST_POINTS*>(
        X509_get_ext_d2i(cert.get(), NID_crl_distribution_points, nullptr, nullptr));
    ASSERT_NE(dps, nullptr);
    EXPECT_EQ(sk_DIST_POINT_num(dps), 1);
    CRL_DIST_POINTS_free(dps);
  }
}

INSTANTIATE_TEST_SUITE_P(Roots, CaTest,
                         ::testing::Values(v1::KEY_ALGORITHM_RSA_2048, v1::KEY_ALGORITHM_ECDSA_P256,
                                           v1::KEY_ALGORITHM_ECDSA_P384));

TEST(Ca, RefusesWithTheFailInfoKind) {
  FakeClock clock;
  auto ca = CertificateAuthority::CreateRoot({}, &clock);
  ASSERT_TRUE(ca.ok());
  IssueError why = IssueError::kNone;
  IssueRequest r;
  r.csr_der = "garbage";
  EXPECT_FALSE(ca->Issue(r, &why).ok());
  EXPECT_EQ(why, IssueError::kBadRequest);

  // Signed by another key than the one it carries: badMessageCheck.
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  auto other = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  r.csr_der = CsrDer(key->get(), "edge2", "", other->get());
  EXPECT_FALSE(ca->Issue(r, &why).ok());
  EXPECT_EQ(why, IssueError::kBadMessageCheck);

  // RSA-1024: badAlg.
  EvpKey weak(EVP_RSA_gen(1024));
  r.csr_der = CsrDer(weak.get(), "edge3", "");
  EXPECT_FALSE(ca->Issue(r, &why).ok());
  EXPECT_EQ(why, IssueError::kBadAlg);

  // An e-mail SAN, and a CN other than the challenge's: badRequest.
  r.csr_der = CsrDer(key->get(), "edge4", "email:a@example.net");
  EXPECT_FALSE(ca->Issue(r, &why).ok());
  EXPECT_EQ(why, IssueError::kBadRequest);
  r.csr_der = CsrDer(key->get(), "edge4", "");
  r.required_cn = "edge5";
  auto refused = ca->Issue(r, &why);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(why, IssueError::kBadRequest);
  EXPECT_NE(refused.status().message().find("edge5"), std::string::npos);
  r.required_cn = "edge4";
  EXPECT_TRUE(ca->Issue(r, &why).ok());
  EXPECT_EQ(why, IssueError::kNone);
}

TEST(Ca, CertificatesNeverOutliveTheCa) {
  FakeClock clock;
  RootOptions o;
  o.validity = absl::Hours(24 * 30);
  auto ca = CertificateAuthority::CreateRoot(o, &clock);
  ASSERT_TRUE(ca.ok());
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  IssueRequest r;
  r.csr_der = CsrDer(key->get(), "edge", "");
  auto issued = ca->Issue(r);
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->not_after, clock.Now() + absl::Hours(24 * 30));
}

TEST(Ca, CrlListsRevokedSerialsAndVerifies) {
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  auto ca = CertificateAuthority::CreateRoot({}, &clock);
  ASSERT_TRUE(ca.ok());
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  IssueRequest r;
  r.csr_der = CsrDer(key->get(), "revoked-edge", "");
  auto bad = ca->Issue(r);
  r.csr_der = CsrDer(key->get(), "good-edge", "");
  auto good = ca->Issue(r);
  ASSERT_TRUE(bad.ok() && good.ok());
  auto der = ca->SignCrl({{bad->serial_hex, clock.Now(), v1::REVOCATION_REASON_KEY_COMPROMISE}},
                         7, clock.Now() + absl::Hours(24));
  ASSERT_TRUE(der.ok()) << der.status();
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_verify(crl.get(), ca->key()), 1);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 1);
  auto* number = static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr));
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number), 7);
  ASN1_INTEGER_free(number);
  // With the CRL, OpenSSL refuses the revoked certificate and accepts the other.
  X509Ptr revoked = Parse(bad->der), fine = Parse(good->der);
  EXPECT_EQ(Verify(*ca, revoked.get(), crl.get()), X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(Verify(*ca, fine.get(), crl.get()), X509_V_OK);
}

TEST(Ca, ExportImportRoundTripWithPassphrase) {
  FakeClock clock;
  auto ca = CertificateAuthority::CreateRoot({}, &clock);
  ASSERT_TRUE(ca.ok());
  auto pem = ca->KeyPem("correct horse");
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(pem->find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  EXPECT_FALSE(CertificateAuthority::Import(ca->CertificatePem(), *pem, "wrong", &clock).ok());
  auto again = CertificateAuthority::Import(ca->CertificatePem(), *pem, "correct horse", &clock);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->Describe().fingerprint_sha256(), ca->Describe().fingerprint_sha256());
  // A key that is not the certificate's.
  auto other = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  EXPECT_FALSE(
      CertificateAuthority::Import(ca->CertificatePem(), *PrivateKeyToPem(other->get(), ""), "",
                                   &clock)
          .ok());
}

// Serials are written without the leading zero BN_bn2hex puts on an octet
// below 0x10, the form the API and store use.
TEST(SerialHex, HasNoLeadingZeros) {
  std::unique_ptr<ASN1_INTEGER, OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>> n(ASN1_INTEGER_new());
  ASN1_INTEGER_set_uint64(n.get(), 0x05ab);
  EXPECT_EQ(SerialHex(n.get()), "5ab");
  ASN1_INTEGER_set_uint64(n.get(), 0);
  EXPECT_EQ(SerialHex(n.get()), "0");
}

}  // namespace
}  // namespace vpnfleet::pki
