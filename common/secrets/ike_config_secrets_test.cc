#include "common/secrets/ike_config_secrets.h"

#include "gtest/gtest.h"

namespace vpnfleet::secrets {
namespace {

vpnfleet::ike::v1::IkeConfig WithSecrets() {
  vpnfleet::ike::v1::IkeConfig c;
  auto* psk = c.add_pre_shared_keys();
  psk->set_key("hunter2-hunter2");
  auto* k = c.add_crypto_maps()->add_entries()->add_session_keys();
  k->set_cipher_key(std::string(32, '\x11'));
  k->set_authenticator_key(std::string(20, '\x22'));
  c.add_pre_shared_keys();  // one without a key: stays unset
  return c;
}

TEST(IkeConfigSecretsTest, RedactWipesAndMarksEverySecret) {
  auto c = WithSecrets();
  RedactIkeConfig(&c);
  EXPECT_TRUE(c.pre_shared_keys(0).key().empty());
  EXPECT_TRUE(c.pre_shared_keys(0).key_set());
  EXPECT_FALSE(c.pre_shared_keys(1).key_set());
  const auto& k = c.crypto_maps(0).entries(0).session_keys(0);
  EXPECT_TRUE(k.cipher_key().empty());
  EXPECT_TRUE(k.authenticator_key().empty());
  EXPECT_TRUE(k.cipher_key_set());
  EXPECT_TRUE(k.authenticator_key_set());
  EXPECT_EQ(c.SerializeAsString().find("hunter2"), std::string::npos);
  // Twice: the flags survive (a redacted copy redacted again says the same).
  RedactIkeConfig(&c);
  EXPECT_TRUE(c.pre_shared_keys(0).key_set());
  EXPECT_TRUE(c.crypto_maps(0).entries(0).session_keys(0).cipher_key_set());
}

TEST(IkeConfigSecretsTest, WipeLeavesTheFlags) {
  auto c = WithSecrets();
  WipeIkeConfig(&c);
  EXPECT_TRUE(c.pre_shared_keys(0).key().empty());
  EXPECT_FALSE(c.pre_shared_keys(0).key_set());
  EXPECT_TRUE(c.crypto_maps(0).entries(0).session_keys(0).authenticator_key().empty());
}

}  // namespace
}  // namespace vpnfleet::secrets
