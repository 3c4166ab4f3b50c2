#include "common/crypto/hmac.h"

#include <string>

#include "gtest/gtest.h"

namespace vpnfleet::crypto {
namespace {

std::string Hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

std::string Mac(const char* digest, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  const size_t n = Hmac(digest, key.data(), key.size(), data.data(), data.size(), out);
  return Hex(out, n);
}

// RFC 4231 test case 2 (a key shorter than the block) and test case 6 (a
// key longer than the block, hashed first).
TEST(HmacTest, Rfc4231Vectors) {
  const std::string key2 = "Jefe", data2 = "what do ya want for nothing?";
  EXPECT_EQ(Mac("SHA256", key2, data2),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Mac("SHA384", key2, data2),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
  EXPECT_EQ(Mac("SHA512", key2, data2),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  const std::string key6(131, '\xaa');
  EXPECT_EQ(Mac("SHA256", key6, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

// RFC 2202 test case 2 (HMAC-SHA-1), and a digest outside the prepared
// set going through OpenSSL's own lookup (RFC 2202 test case 2, HMAC-MD5).
TEST(HmacTest, Rfc2202VectorsAndOtherDigests) {
  EXPECT_EQ(Mac("SHA1", "Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(Mac("MD5", "Jefe", "what do ya want for nothing?"), "750c783e6ab0b503eaa86e310a5db738");
}

TEST(HmacTest, EmptyKeyAndUnknownDigest) {
  // HMAC-SHA256 with an empty key over empty data (a well-known value).
  EXPECT_EQ(Mac("SHA256", "", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  unsigned char out[EVP_MAX_MD_SIZE];
  EXPECT_EQ(Hmac("NO-SUCH-DIGEST", "k", 1, "d", 1, out), 0u);
}

}  // namespace
}  // namespace vpnfleet::crypto
