#include "services/ike/auth/parsed_certificates.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
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

TEST(ParsedCertificatesTest, TheSameOctetsGiveTheSameCertificate) {
  const std::string der =
      DerOf(testing::ReadTestData("services/ike/auth/testdata/ec-spoke.pem"));
  ossl::X509Ptr a = ParseCertificate(der);
  ossl::X509Ptr b = ParseCertificate(der);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a.get(), b.get());  // parsed once, shared
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
