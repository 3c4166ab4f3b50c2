#include "common/crypto/algorithms.h"

#include "gtest/gtest.h"

namespace vpnfleet::crypto {
namespace {

namespace v1 = vpnfleet::common::v1;

TEST(Algorithms, KeyLengthsIncludeTheAeadSalt) {
  EXPECT_EQ(EncryptionKeyLength(v1::ENCRYPTION_AES_GCM_128), 20u);       // RFC 4106 §8.1
  EXPECT_EQ(EncryptionKeyLength(v1::ENCRYPTION_AES_GCM_256), 36u);
  EXPECT_EQ(EncryptionKeyLength(v1::ENCRYPTION_CHACHA20_POLY1305), 36u);  // RFC 7634 §2
  EXPECT_EQ(EncryptionKeyLength(v1::ENCRYPTION_AES_CBC_192), 24u);
  EXPECT_EQ(EncryptionKeyLength(v1::ENCRYPTION_NULL), 0u);
  EXPECT_EQ(IntegrityKeyLength(v1::INTEGRITY_HMAC_SHA1_96), 20u);         // RFC 2404
  EXPECT_EQ(IntegrityKeyLength(v1::INTEGRITY_HMAC_SHA2_512_256), 64u);    // RFC 4868
}

TEST(Algorithms, LegacyAndAead) {
  EXPECT_TRUE(IsLegacy(v1::ENCRYPTION_3DES));
  EXPECT_FALSE(IsLegacy(v1::ENCRYPTION_AES_CBC_128));
  EXPECT_TRUE(IsLegacy(v1::INTEGRITY_HMAC_MD5_96));
  EXPECT_TRUE(IsLegacy(v1::DH_GROUP_MODP_1024));
  EXPECT_FALSE(IsLegacy(v1::DH_GROUP_MODP_2048));
  EXPECT_TRUE(IsLegacy(v1::DH_GROUP_MODP_2048_256));  // RFC 8247: SHOULD NOT
  EXPECT_TRUE(IsAead(v1::ENCRYPTION_CHACHA20_POLY1305));
  EXPECT_FALSE(IsAead(v1::ENCRYPTION_AES_CBC_256));
  EXPECT_EQ(EspEncryptionKeyword(v1::ENCRYPTION_3DES), "esp-3des");
  EXPECT_EQ(EspIntegrityKeyword(v1::INTEGRITY_HMAC_MD5_96), "esp-md5-hmac");
}

}  // namespace
}  // namespace vpnfleet::crypto
