#include "services/ike/crypto/ikev1_cipher.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::ikev1 {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }
constexpr uint16_t kAes = static_cast<uint16_t>(CipherId::kAesCbc);
constexpr uint16_t k3des = static_cast<uint16_t>(CipherId::kTripleDesCbc);

TEST(Ikev1Cipher, Rfc3602Case1) {
  auto c = Cipher::Create(kAes, 128, false);
  ASSERT_TRUE(c.ok());
  const SecretBytes key(Hex("06a9214036b8a15b512e03d534120006"));
  const std::string iv = Hex("3dafba429d9eb430b422da802c9fac41");
  auto ct = c->Encrypt(key, iv, "Single block msg");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(absl::BytesToHexString(*ct), "e353779c1079aeb82708942dbe77181a");
  auto pt = c->Decrypt(key, iv, *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(*pt, "Single block msg");
}

TEST(Ikev1Cipher, Sp800_38aCbcAes256) {
  auto c = Cipher::Create(kAes, 256, false);
  ASSERT_TRUE(c.ok());
  const SecretBytes key(Hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"));
  auto ct = c->Encrypt(key, Hex("000102030405060708090a0b0c0d0e0f"),
                       Hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(absl::BytesToHexString(*ct),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
  // The next message's IV is this one's last block.
  EXPECT_EQ(absl::BytesToHexString(LastBlock(*ct, 16)), "9cfc4e967edb808d679f777bc6702c7d");
}

TEST(Ikev1Cipher, PadsWithZerosToWholeBlocks) {
  auto c = Cipher::Create(kAes, 0, false);  // no key length: 128 bits
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->key_size(), 16u);
  const SecretBytes key(std::string(16, 'k'));
  const std::string iv(16, 'i');
  auto ct = c->Encrypt(key, iv, "seventeen octets!");
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ct->size(), 32u);
  auto pt = c->Decrypt(key, iv, *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(*pt, std::string("seventeen octets!") + std::string(15, '\0'));
}

TEST(Ikev1Cipher, RefusesWhatDoesNotFit) {
  auto c = Cipher::Create(kAes, 256, false);
  ASSERT_TRUE(c.ok());
  const SecretBytes key(std::string(32, 'k'));
  EXPECT_FALSE(c->Decrypt(key, std::string(16, 'i'), std::string(15, 'x')).ok());
  EXPECT_FALSE(c->Decrypt(key, std::string(16, 'i'), "").ok());
  EXPECT_FALSE(c->Decrypt(key, std::string(8, 'i'), std::string(16, 'x')).ok());
  EXPECT_FALSE(c->Decrypt(SecretBytes("short"), std::string(16, 'i'), std::string(16, 'x')).ok());
  EXPECT_FALSE(Cipher::Create(kAes, 64, false).ok());
  EXPECT_FALSE(Cipher::Create(99, 0, true).ok());
}

TEST(Ikev1Cipher, TripleDesOnlyBehindTheLegacySwitch) {
  EXPECT_FALSE(Cipher::Create(k3des, 0, false).ok());
  auto c = Cipher::Create(k3des, 0, true);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->block_size(), 8u);
  EXPECT_EQ(c->key_size(), 24u);
  // NIST SP 800-67 / SP 800-20 style known answer: three distinct keys.
  const SecretBytes key(Hex("0123456789abcdef23456789abcdef01456789abcdef0123"));
  auto ct = c->Encrypt(key, std::string(8, '\0'), Hex("5468652071756663"));
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(absl::BytesToHexString(*ct), "a826fd8ce53b855f");
  auto pt = c->Decrypt(key, std::string(8, '\0'), *ct);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(absl::BytesToHexString(*pt), "5468652071756663");
}

}  // namespace
}  // namespace vpnfleet::ike::ikev1
