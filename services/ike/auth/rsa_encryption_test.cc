// RSA encryption for IKEv1 rsa-encr: round trips with the test keys, a
// ciphertext made independently (Python's `cryptography`, PKCS1v15, under
// rsa-hub's public key: testdata/rsa-hub-encrypted-nonce.bin), and every
// refusal.
#include "services/ike/auth/rsa_encryption.h"

#include <string>

#include "common/testing/testdata.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::auth {
namespace {

std::string Data(const std::string& name) {
  return testing::ReadTestData("services/ike/auth/testdata/" + name);
}

std::shared_ptr<const RsaKeyPair> Pair(const std::string& name) {
  auto k = RsaKeyPair::FromPem(name, Data(name + ".key"));
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? *k : nullptr;
}

TEST(RsaEncryptionTest, DecryptsWhatAnotherImplementationEncrypted) {
  auto hub = Pair("rsa-hub");
  ASSERT_NE(hub, nullptr);
  auto plain = hub->Decrypt(Data("rsa-hub-encrypted-nonce.bin"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(*plain, "nonce from python's cryptography");
}

TEST(RsaEncryptionTest, RoundTripsThroughThePublicKeyItPublishes) {
  auto hub = Pair("rsa-hub");
  ASSERT_NE(hub, nullptr);
  EXPECT_EQ(hub->size_octets(), 256u);
  auto pub = RsaPublicKey::FromDer(hub->public_der());
  ASSERT_TRUE(pub.ok()) << pub.status();
  const std::string nonce(32, '\x5a');
  auto c1 = (*pub)->Encrypt(nonce);
  auto c2 = (*pub)->Encrypt(nonce);
  ASSERT_TRUE(c1.ok() && c2.ok());
  EXPECT_EQ(c1->size(), 256u);
  EXPECT_NE(*c1, *c2) << "PKCS#1 v1.5 padding is random";
  EXPECT_EQ(*hub->Decrypt(*c1), nonce);
  // The largest plaintext the padding leaves room for, and one more.
  EXPECT_TRUE((*pub)->Encrypt(std::string(245, 'x')).ok());
  EXPECT_FALSE((*pub)->Encrypt(std::string(246, 'x')).ok());
}

TEST(RsaEncryptionTest, AnotherKeyOrAnyDamageGivesOneAndTheSameRefusal) {
  auto hub = Pair("rsa-hub");
  auto spoke = Pair("rsa-spoke");
  ASSERT_NE(hub, nullptr);
  ASSERT_NE(spoke, nullptr);
  auto to_spoke = RsaPublicKey::FromDer(spoke->public_der());
  ASSERT_TRUE(to_spoke.ok());
  const std::string c = *(*to_spoke)->Encrypt("secret nonce");
  std::string flipped = c;
  flipped[100] ^= 1;
  ASSERT_TRUE(spoke->Decrypt(c).ok());
  const std::pair<const RsaKeyPair*, std::string> cases[] = {
      {hub.get(), c},  // encrypted to another key
      {spoke.get(), flipped},
      {spoke.get(), c.substr(1)},
      {spoke.get(), c + "x"},
      {spoke.get(), std::string()},
  };
  for (const auto& [key, bad] : cases) {
    auto p = key->Decrypt(bad);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().message(), "does not decrypt with our RSA key");
  }
}

TEST(RsaEncryptionTest, RefusesKeysThatAreNotRsaOrNotDer) {
  EXPECT_FALSE(RsaKeyPair::FromPem("ec", Data("ec-hub.key")).ok());
  EXPECT_FALSE(RsaKeyPair::FromPem("junk", "not a key").ok());
  auto hub = Pair("rsa-hub");
  ASSERT_NE(hub, nullptr);
  const std::string der = hub->public_der();
  EXPECT_FALSE(RsaPublicKey::FromDer(der + "x").ok()) << "octets after the key";
  EXPECT_FALSE(RsaPublicKey::FromDer(der.substr(0, der.size() - 1)).ok());
  EXPECT_FALSE(RsaPublicKey::FromDer("").ok());
  EXPECT_FALSE(RsaPublicKey::FromDer(std::string(300, '\x30')).ok());
}

}  // namespace
}  // namespace vpnfleet::ike::auth
