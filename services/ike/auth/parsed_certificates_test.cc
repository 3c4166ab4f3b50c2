#include "services/ike/auth/parsed_certificates.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <string>

#include "common/testing/testdata.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::auth {
namespace {

std::string DerOf(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  X509_free(x);
  return out;
}

// A self-signed certificate made now, with a random serial: octets that no
// earlier test (or earlier --gtest_repeat round) can have put in the
// process-wide cache.
std::string FreshDer() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

TEST(ParsedCertificatesTest, OnlyKeptCertificatesAreParsedOnce) {
  const std::string der = FreshDer();
  ossl::X509Ptr a = ParseCertificate(der);
  ossl::X509Ptr b = ParseCertificate(der);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a.get(), b.get());  // not kept (not known to chain): parsed each time
  KeepParsedCertificate(der, a.get());
  b = ParseCertificate(der);
  ASSERT_TRUE(b);
  EXPECT_EQ(a.get(), b.get());  // kept: parsed once, shared
  unsigned char* again = nullptr;
  const int n = i2d_X509(b.get(), &again);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(again), static_cast<size_t>(n)), der);
  OPENSSL_free(again);
}

TEST(ParsedCertificatesTest, DifferentOctetsAndGarbage) {
  const std::string spoke =
      DerOf(testing::ReadTestData("services/ike/auth/testdata/ec-spoke.pem"));
  const std::string hub = DerOf(testing::ReadTestData("services/ike/auth/testdata/ec-hub.pem"));
  ossl::X509Ptr a = ParseCertificate(spoke);
  ossl::X509Ptr b = ParseCertificate(hub);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(ParseCertificate("not a certificate"), nullptr);
  EXPECT_EQ(ParseCertificate(spoke.substr(0, spoke.size() - 10)), nullptr);  // cut short
  EXPECT_EQ(ParseCertificate(""), nullptr);
}

}  // namespace
}  // namespace vpnfleet::ike::auth
