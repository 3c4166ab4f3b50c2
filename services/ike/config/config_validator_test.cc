#include "services/ike/config/config_validator.h"

#include "common/testing/testdata.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "services/ike/auth/rsa_encryption.h"

namespace vpnfleet::ike {
namespace {

using ::testing::HasSubstr;
namespace v1 = vpnfleet::ike::v1;

v1::IkeConfig Parse(const std::string& text) {
  v1::IkeConfig c;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &c)) << text;
  return c;
}

// Branch1 of the seed "site-to-site IPsec with digital certificates":
//   crypto isakmp policy 10 / encryption 3des / authentication rsa-sig / hash md5 / group 1
//   crypto ipsec transform-set TS esp-3des esp-md5-hmac
//   ip access-list extended ACL / permit ip 192.168.11.0 0.0.0.255 192.168.22.0 0.0.0.255
//   crypto map CRYPTO 10 ipsec-isakmp / match address ACL / set peer 10.2.2.1 / set transform-set TS
//   interface serial 1/0 / crypto map CRYPTO
constexpr char kSeedBranch1[] = R"pb(
  isakmp_policies { priority: 10 encryption: ENCRYPTION_3DES hash: PRF_HMAC_MD5
                    group: DH_GROUP_MODP_768 authentication: AUTH_METHOD_RSA_SIG }
  transform_sets { name: "TS" esp_encryption: ENCRYPTION_3DES esp_integrity: INTEGRITY_HMAC_MD5_96 }
  access_lists { name: "ACL" entries { sequence: 10 action: ACL_ACTION_PERMIT
      match { source { address: "192.168.11.0" length: 24 }
              destination { address: "192.168.22.0" length: 24 } } } }
  crypto_maps { name: "CRYPTO" interfaces: "Serial1/0"
      entries { sequence: 10 kind: CRYPTO_MAP_KIND_IPSEC_ISAKMP match_address: "ACL"
                peers: "10.2.2.1" transform_sets: "TS" } }
)pb";

constexpr char kModern[] = R"pb(
  isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_GCM_256 hash: PRF_HMAC_SHA2_256
                    group: DH_GROUP_CURVE25519 authentication: AUTH_METHOD_PRE_SHARE }
  transform_sets { name: "GCM" esp_encryption: ENCRYPTION_AES_GCM_128 }
  access_lists { name: "LAN1-LAN2" entries { sequence: 10 action: ACL_ACTION_PERMIT
      match { source { address: "10.1.0.0" length: 24 }
              destination { address: "10.2.0.0" length: 24 } } } }
  crypto_maps { name: "VPN" interfaces: "wan0"
      entries { sequence: 10 match_address: "LAN1-LAN2" peers: "198.51.100.2"
                transform_sets: "GCM" pfs_group: DH_GROUP_ECP_256
                lifetime { seconds: 3600 kilobytes: 4608000 } replay { size: 1024 } } }
  pre_shared_keys { address { address: "198.51.100.2" length: 32 } key: "s3cret-key" }
)pb";

TEST(ValidateIkeConfig, ModernConfigurationIsClean) {
  ValidationResult r = ValidateIkeConfig(Parse(kModern));
  EXPECT_TRUE(r.ok()) << r.ToStatus();
  EXPECT_TRUE(r.problems.empty());
}

TEST(ValidateIkeConfig, SeedConfigurationNeedsLegacySwitch) {
  v1::IkeConfig c = Parse(kSeedBranch1);
  ValidationResult strict = ValidateIkeConfig(c);
  EXPECT_FALSE(strict.ok());
  std::string msg(strict.ToStatus().message());
  EXPECT_THAT(msg, HasSubstr("crypto isakmp policy 10: encryption: ENCRYPTION_3DES is a legacy"));
  EXPECT_THAT(msg, HasSubstr("crypto ipsec transform-set TS: esp integrity: esp-md5-hmac"));
  EXPECT_THAT(msg, HasSubstr("group: group 1 is a legacy"));

  c.mutable_globals()->set_allow_legacy_algorithms(true);
  ValidationResult lenient = ValidateIkeConfig(c);
  EXPECT_TRUE(lenient.ok()) << lenient.ToStatus();
  EXPECT_EQ(lenient.Warnings().size(), 5u);  // 3des, md5, group 1, esp-3des, esp-md5-hmac
}

// `crypto isakmp policy N / authentication rsa-encr` and the keys of
// `crypto key pubkey-chain rsa`.
TEST(ValidateIkeConfig, EncryptedNoncesAndThePubkeyChain) {
  v1::IkeConfig c = Parse(kModern);
  c.mutable_isakmp_policies(0)->set_authentication(v1::AUTH_METHOD_RSA_ENCR);
  EXPECT_THAT(std::string(ValidateIkeConfig(c).ToStatus().message()),
              HasSubstr("crypto isakmp policy 10: authentication: rsa-encr is an IKEv1 method"));
  c.mutable_isakmp_policies(0)->set_version(v1::IKE_VERSION_1);
  c.mutable_isakmp_policies(0)->set_encryption(vpnfleet::common::v1::ENCRYPTION_AES_CBC_256);
  ValidationResult no_keys = ValidateIkeConfig(c);
  EXPECT_TRUE(no_keys.ok()) << no_keys.ToStatus();
  ASSERT_EQ(no_keys.Warnings().size(), 1u);
  EXPECT_THAT(no_keys.Warnings()[0], HasSubstr("needs the peers' public keys"));

  // rsa-hub's public key (SubjectPublicKeyInfo), as IOS's key-string holds it.
  const std::string der = [] {
    std::string pem = testing::ReadTestData("services/ike/auth/testdata/rsa-hub.key");
    return (*auth::RsaKeyPair::FromPem("t", pem))->public_der();
  }();
  v1::RsaPublicKey* by_address = c.add_rsa_public_keys();
  by_address->set_address("198.51.100.2");
  by_address->set_key(der);
  v1::RsaPublicKey* by_name = c.add_rsa_public_keys();
  by_name->set_name("spoke1.example");
  by_name->set_address("198.51.100.3");
  by_name->set_key(der);
  ValidationResult good = ValidateIkeConfig(c);
  EXPECT_TRUE(good.ok()) << good.ToStatus();
  EXPECT_TRUE(good.Warnings().empty());

  v1::IkeConfig bad = c;
  bad.mutable_rsa_public_keys(0)->set_key(der.substr(0, 40));
  bad.mutable_rsa_public_keys(1)->set_address("not-an-address");
  *bad.add_rsa_public_keys() = c.rsa_public_keys(0);  // the same peer twice
  bad.add_rsa_public_keys()->set_key(der);            // nobody's key
  std::string msg(ValidateIkeConfig(bad).ToStatus().message());
  EXPECT_THAT(msg, HasSubstr("addressed-key 198.51.100.2: key-string: not a DER SubjectPublicKeyInfo"));
  EXPECT_THAT(msg, HasSubstr("named-key spoke1.example: address: 'not-an-address' is not an IP"));
  EXPECT_THAT(msg, HasSubstr("addressed-key 198.51.100.2: peer: has two keys"));
  EXPECT_THAT(msg, HasSubstr("crypto key pubkey-chain rsa: peer: a key needs an address or a name"));
}

TEST(ValidateIkeConfig, AggressiveModeOnlyForIkev1Initiators) {
  v1::IkeConfig c = Parse(kModern);
  c.mutable_crypto_maps(0)->mutable_entries(0)->set_initiate_aggressive(true);
  c.mutable_crypto_maps(0)->mutable_entries(0)->set_ike_version(v1::IKE_VERSION_2);
  EXPECT_THAT(std::string(ValidateIkeConfig(c).ToStatus().message()),
              HasSubstr("crypto map VPN 10: initiate mode aggressive: only an IKEv1"));
  c.mutable_crypto_maps(0)->mutable_entries(0)->set_ike_version(v1::IKE_VERSION_1);
  EXPECT_TRUE(ValidateIkeConfig(c).ok()) << ValidateIkeConfig(c).ToStatus();
}

TEST(ValidateIkeConfig, DanglingReferencesNameEntryAndField) {
  v1::IkeConfig c = Parse(kModern);
  c.mutable_crypto_maps(0)->mutable_entries(0)->set_match_address("NOPE");
  c.mutable_crypto_maps(0)->mutable_entries(0)->add_transform_sets("MISSING");
  std::string msg(ValidateIkeConfig(c).ToStatus().message());
  EXPECT_THAT(msg, HasSubstr("crypto map VPN 10: match address: access list 'NOPE' does not exist"));
  EXPECT_THAT(msg, HasSubstr("crypto map VPN 10: set transform-set: transform set 'MISSING'"));
}

TEST(ValidateIkeConfig, RangesAndCombinations) {
  struct Case {
    const char* edit;  // text format merged into kModern
    const char* expect;
  };
  const Case cases[] = {
      {R"pb(isakmp_policies { priority: 20 encryption: ENCRYPTION_NULL group: DH_GROUP_MODP_2048 })pb",
       "cannot use NULL encryption"},
      {R"pb(isakmp_policies { priority: 0 encryption: ENCRYPTION_AES_CBC_128 group: DH_GROUP_MODP_2048 })pb",
       "priority: must be 1..10000"},
      {R"pb(isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_CBC_128 group: DH_GROUP_MODP_2048 })pb",
       "priority: is used twice"},
      {R"pb(isakmp_policies { priority: 30 encryption: ENCRYPTION_AES_GCM_128 group: DH_GROUP_MODP_2048 version: IKE_VERSION_1 })pb",
       "combined-mode ciphers need IKEv2"},
      {R"pb(transform_sets { name: "BAD" esp_encryption: ENCRYPTION_AES_GCM_128 esp_integrity: INTEGRITY_HMAC_SHA1_96 })pb",
       "takes no ESP authenticator"},
      {R"pb(transform_sets { name: "EMPTY" })pb", "needs an AH transform, an ESP transform or both"},
      {R"pb(trustpoints { name: "T1" ocsp_url: "ldap://ca/ocsp" })pb", "ocsp url: must be an http:// URL"},
      {R"pb(trustpoints { name: "T2" revocation_check: [ REVOCATION_METHOD_NONE, REVOCATION_METHOD_OCSP ] })pb",
       "none must come last"},
      {R"pb(transform_sets { name: "has space" esp_encryption: ENCRYPTION_AES_CBC_128 esp_integrity: INTEGRITY_HMAC_SHA1_96 })pb",
       "name: must be 1..63"},
      {R"pb(access_lists { name: "HB" entries { sequence: 10 action: ACL_ACTION_PERMIT
              match { source { address: "10.1.0.1" length: 24 } destination { address: "10.2.0.0" length: 24 } } } })pb",
       "has host bits set"},
      {R"pb(access_lists { name: "PORTS" entries { sequence: 10 action: ACL_ACTION_PERMIT
              match { source { address: "10.1.0.0" length: 24 } destination { address: "10.2.0.0" length: 24 }
                      destination_ports { start: 22 end: 22 } } } })pb",
       "ports can only be matched for tcp, udp or sctp"},
      {R"pb(access_lists { name: "MIX" entries { sequence: 10 action: ACL_ACTION_PERMIT
              match { source { address: "10.1.0.0" length: 24 } destination { address: "2001:db8::" length: 32 } } } })pb",
       "different IP versions"},
      {R"pb(crypto_maps { name: "VPN2" interfaces: "wan0" })pb", "already has crypto map VPN"},
      {R"pb(crypto_maps { name: "M" entries { sequence: 5 match_address: "LAN1-LAN2" peers: "198.51.100.3"
              transform_sets: "GCM" replay { size: 8192 } } })pb",
       "replay window-size: must be 32..4096"},
      {R"pb(crypto_maps { name: "M" entries { sequence: 5 match_address: "LAN1-LAN2" peers: "not a host!"
              transform_sets: "GCM" } })pb",
       "neither an address nor a hostname"},
      {R"pb(crypto_maps { name: "M" entries { sequence: 5 match_address: "LAN1-LAN2"
              transform_sets: "GCM" } })pb",
       "set peer: is required"},
      {R"pb(crypto_maps { name: "M" entries { sequence: 5 kind: CRYPTO_MAP_KIND_DYNAMIC dynamic_map: "DYN" } })pb",
       "dynamic map 'DYN' does not exist"},
      {R"pb(crypto_maps { name: "M" entries { sequence: 5 match_address: "LAN1-LAN2" peers: "198.51.100.3"
              transform_sets: "GCM" lifetime { seconds: 30 } } })pb",
       "lifetime seconds: must be 120..86400"},
      {R"pb(pre_shared_keys { hostname: "peer.example" })pb", "key: is empty"},
      {R"pb(pre_shared_keys { address { address: "198.51.100.2" length: 32 } key: "again" })pb",
       "has two keys"},
      {R"pb(trustpoints { name: "CA" enrollment_url: "ftp://ca" ca_fingerprint_sha256: "abc" })pb",
       "must be an http:// or https:// URL"},
      {R"pb(globals { keepalive_seconds: 5 })pb", "keepalive: must be 0 (off) or 10..3600"},
  };
  for (const Case& c : cases) {
    v1::IkeConfig config = Parse(kModern);
    v1::IkeConfig extra;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(c.edit, &extra)) << c.edit;
    config.MergeFrom(extra);
    ValidationResult r = ValidateIkeConfig(config);
    EXPECT_FALSE(r.ok()) << c.edit;
    EXPECT_THAT(std::string(r.ToStatus().message()), HasSubstr(c.expect)) << c.edit;
  }
}

TEST(ValidateIkeConfig, DynamicMapsRespondWithoutPeers) {
  v1::IkeConfig c = Parse(kModern);
  v1::IkeConfig extra = Parse(R"pb(
    crypto_maps { name: "DYN" dynamic: true entries { sequence: 10 transform_sets: "GCM" } }
    crypto_maps { name: "HUB" interfaces: "wan1"
                  entries { sequence: 65535 kind: CRYPTO_MAP_KIND_DYNAMIC dynamic_map: "DYN" } }
  )pb");
  c.MergeFrom(extra);
  ValidationResult r = ValidateIkeConfig(c);
  EXPECT_TRUE(r.ok()) << r.ToStatus();
}

TEST(ValidateIkeConfig, ManualKeysMustFitTheTransformSet) {
  v1::IkeConfig c = Parse(R"pb(
    transform_sets { name: "CBC" esp_encryption: ENCRYPTION_AES_CBC_128 esp_integrity: INTEGRITY_HMAC_SHA1_96 }
    access_lists { name: "A" entries { sequence: 10 action: ACL_ACTION_PERMIT
        match { source { address: "10.1.0.0" length: 24 } destination { address: "10.2.0.0" length: 24 } } } }
    crypto_maps { name: "MAN" entries { sequence: 10 kind: CRYPTO_MAP_KIND_IPSEC_MANUAL
        match_address: "A" peers: "198.51.100.2" transform_sets: "CBC"
        session_keys { direction: DIRECTION_INBOUND protocol: IPSEC_PROTOCOL_ESP spi: 4096
                       cipher_key: "0123456789abcdef" authenticator_key: "0123456789abcdef0123" }
        session_keys { direction: DIRECTION_OUTBOUND protocol: IPSEC_PROTOCOL_ESP spi: 100
                       cipher_key: "short" authenticator_key: "0123456789abcdef0123" } } }
  )pb");
  std::string msg(ValidateIkeConfig(c).ToStatus().message());
  EXPECT_THAT(msg, HasSubstr("set session-key outbound esp: SPI must be 256 or more"));
  EXPECT_THAT(msg, HasSubstr("cipher key must be 16 octets for esp-aes"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("inbound esp: cipher key")));
}

}  // namespace
}  // namespace vpnfleet::ike
