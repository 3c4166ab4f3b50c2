#include "absl/strings/str_cat.h"
#include "common/testing/testdata.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/ios/ios_vocabulary.h"
#include "services/controller/ios/ios_writer.h"

namespace vpnfleet::controller::ios {
namespace {

using ::testing::HasSubstr;
namespace c = vpnfleet::common::v1;
namespace ike = vpnfleet::ike::v1;

std::string Fixture(const std::string& name) {
  return vpnfleet::testing::ReadTestData("services/controller/ios/testdata/" + name);
}

std::string Errors(const ParseResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) {
    out += absl::StrCat(d.line(), ": ", d.entry(), ": ", d.field(), ": ", d.message(), "\n");
  }
  return out;
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b, std::string* diff) {
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(diff);
  return d.Compare(a, b);
}

TEST(IosParser, Branch1FromTheCertificateSeed) {
  const std::string text = Fixture("branch1.cfg");
  ASSERT_FALSE(text.empty());
  ParseResult r = ParseIosConfig(text, "branch1");
  ASSERT_TRUE(r.ok()) << Errors(r);
  const auto& c = r.config;
  EXPECT_EQ(c.globals().hostname(), "Branch1");
  ASSERT_EQ(c.trustpoints_size(), 1);
  EXPECT_EQ(c.trustpoints(0).name(), "WIN2003");
  EXPECT_EQ(c.trustpoints(0).enrollment_url(), "http://192.168.1.9/certsrv/mscep/mscep.dll");
  EXPECT_TRUE(c.trustpoints(0).enrollment_mode_ra());
  EXPECT_FALSE(c.trustpoints(0).revocation_check_crl());
  ASSERT_EQ(c.isakmp_policies_size(), 1);
  EXPECT_EQ(c.isakmp_policies(0).encryption(), c::ENCRYPTION_3DES);
  EXPECT_EQ(c.isakmp_policies(0).hash(), c::PRF_HMAC_MD5);
  EXPECT_EQ(c.isakmp_policies(0).group(), c::DH_GROUP_MODP_768);
  EXPECT_EQ(c.isakmp_policies(0).authentication(), ike::AUTH_METHOD_RSA_SIG);
  ASSERT_EQ(c.transform_sets_size(), 1);
  EXPECT_EQ(c.transform_sets(0).esp_encryption(), c::ENCRYPTION_3DES);
  EXPECT_EQ(c.transform_sets(0).esp_integrity(), c::INTEGRITY_HMAC_MD5_96);
  ASSERT_EQ(c.crypto_maps_size(), 1);
  const auto& map = c.crypto_maps(0);
  EXPECT_EQ(map.name(), "CRYPTO");
  ASSERT_EQ(map.interfaces_size(), 1);
  EXPECT_EQ(map.interfaces(0), "Serial1/0");
  ASSERT_EQ(map.entries_size(), 1);
  EXPECT_EQ(map.entries(0).kind(), ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP);
  EXPECT_EQ(map.entries(0).match_address(), "ACL");
  EXPECT_THAT(map.entries(0).peers(), ::testing::ElementsAre("10.2.2.1"));
  ASSERT_EQ(c.access_lists_size(), 1);
  const auto& sel = c.access_lists(0).entries(0).match();
  EXPECT_EQ(sel.source().address(), "192.168.11.0");
  EXPECT_EQ(sel.source().length(), 24u);
  EXPECT_EQ(sel.destination().address(), "192.168.22.0");
  // Routes and lines are not policy and are skipped quietly; the certificate
  // chain is named as not carried.
  ASSERT_EQ(r.diagnostics.size(), 1u) << Errors(r);
  EXPECT_EQ(r.diagnostics[0].severity(), v1::Diagnostic::SEVERITY_WARNING);
  EXPECT_EQ(r.diagnostics[0].line(), 17u);
}

TEST(IosParser, EveryCommandOfVpn101) {
  ParseResult r = ParseIosConfig(Fixture("vpn101.cfg"), "hq");
  ASSERT_TRUE(r.ok()) << Errors(r);
  const auto& c = r.config;
  ASSERT_EQ(c.isakmp_policies_size(), 2);
  EXPECT_EQ(c.isakmp_policies(0).encryption(), c::ENCRYPTION_AES_CBC_256);
  EXPECT_EQ(c.isakmp_policies(0).lifetime_seconds(), 28800u);
  EXPECT_EQ(c.isakmp_policies(1).encryption(), c::ENCRYPTION_AES_CBC_128);
  ASSERT_EQ(c.pre_shared_keys_size(), 3);
  EXPECT_EQ(c.pre_shared_keys(0).key(), "Cisco123");
  EXPECT_EQ(c.pre_shared_keys(0).address().length(), 32u);
  EXPECT_EQ(c.pre_shared_keys(1).address().length(), 24u);
  EXPECT_TRUE(c.pre_shared_keys(1).no_xauth());
  EXPECT_EQ(c.pre_shared_keys(2).hostname(), "branch3.example.com");
  EXPECT_EQ(c.globals().identity(), ike::ISAKMP_IDENTITY_HOSTNAME);
  EXPECT_EQ(c.globals().keepalive_seconds(), 30u);
  EXPECT_EQ(c.globals().keepalive_retry_seconds(), 5u);
  EXPECT_EQ(c.globals().keepalive_mode(), ike::KEEPALIVE_MODE_PERIODIC);
  EXPECT_EQ(c.globals().nat_keepalive_seconds(), 20u);
  EXPECT_TRUE(c.globals().invalid_spi_recovery());
  EXPECT_TRUE(c.globals().aggressive_mode_disabled());

  ASSERT_EQ(c.transform_sets_size(), 3);
  EXPECT_EQ(c.transform_sets(1).ah(), c::INTEGRITY_HMAC_SHA1_96);
  EXPECT_EQ(c.transform_sets(1).mode(), c::IPSEC_MODE_TRANSPORT);
  EXPECT_EQ(c.transform_sets(2).esp_encryption(), c::ENCRYPTION_AES_GCM_256);

  ASSERT_EQ(c.crypto_maps_size(), 2);
  EXPECT_TRUE(c.crypto_maps(0).dynamic());
  const auto& vpn = c.crypto_maps(1);
  ASSERT_EQ(vpn.entries_size(), 3);
  const auto& e = vpn.entries(0);
  EXPECT_THAT(e.peers(), ::testing::ElementsAre("203.0.113.2", "203.0.113.3"));
  EXPECT_EQ(e.lifetime().seconds(), 3600u);
  EXPECT_EQ(e.lifetime().kilobytes(), 102400u);
  EXPECT_EQ(e.idle_time_seconds(), 600u);
  EXPECT_TRUE(e.per_host());
  EXPECT_EQ(e.replay().size(), 1024u);
  EXPECT_THAT(e.transform_sets(), ::testing::ElementsAre("STRONG", "GCM"));
  EXPECT_EQ(e.pfs_group(), c::DH_GROUP_MODP_2048);
  EXPECT_TRUE(e.reverse_route().remote_peer());
  EXPECT_EQ(e.reverse_route().next_hop(), "203.0.113.254");
  EXPECT_TRUE(e.reverse_route().static_routes());
  EXPECT_EQ(vpn.entries(1).kind(), ike::CRYPTO_MAP_KIND_IPSEC_MANUAL);
  ASSERT_EQ(vpn.entries(1).session_keys_size(), 2);
  EXPECT_EQ(vpn.entries(1).session_keys(0).spi(), 300u);
  EXPECT_EQ(vpn.entries(1).session_keys(0).cipher_key().size(), 16u);
  EXPECT_EQ(vpn.entries(1).session_keys(0).authenticator_key().size(), 20u);
  EXPECT_EQ(vpn.entries(2).kind(), ike::CRYPTO_MAP_KIND_DYNAMIC);
  EXPECT_EQ(vpn.entries(2).dynamic_map(), "DYN");
  EXPECT_THAT(vpn.interfaces(), ::testing::ElementsAre("GigabitEthernet0/1"));

  ASSERT_EQ(c.access_lists_size(), 3);
  EXPECT_EQ(c.access_lists(0).entries(0).remark(), "LAN to branch LAN");
  EXPECT_EQ(c.access_lists(0).entries(1).action(), ike::ACL_ACTION_DENY);
  EXPECT_EQ(c.access_lists(0).entries(1).match().destination().length(), 0u);
  const auto& tcp = c.access_lists(2).entries(0).match();
  EXPECT_EQ(tcp.protocol(), 6u);
  EXPECT_EQ(tcp.source().length(), 32u);
  EXPECT_EQ(tcp.source_ports().start(), 1024u);
  EXPECT_EQ(tcp.destination_ports().start(), 443u);
  const auto& udp = c.access_lists(2).entries(1).match();
  EXPECT_EQ(udp.source_ports().start(), 1024u);
  EXPECT_EQ(udp.source_ports().end(), 65535u);
  EXPECT_EQ(udp.destination_ports().end(), 53u);
}

// render → import → render: the text we write reads back to the same policy
// and writes again to the same text.
TEST(IosRoundTrip, WriteThenParseIsStable) {
  for (const char* name : {"branch1.cfg", "vpn101.cfg", "rsa-encr.cfg", "ikev2-hub.cfg", "isakmp-profile.cfg",
                           "branch-running-config.cfg"}) {
    SCOPED_TRACE(name);
    ParseResult first = ParseIosConfig(Fixture(name));
    ASSERT_TRUE(first.ok()) << Errors(first);
    const std::string text = WriteIosConfig(first.config, WriteOptions{true});
    ParseResult second = ParseIosConfig(text);
    ASSERT_TRUE(second.ok()) << Errors(second) << text;
    std::string diff;
    EXPECT_TRUE(Same(first.config, second.config, &diff)) << diff << text;
    EXPECT_EQ(WriteIosConfig(second.config, WriteOptions{true}), text);
  }
}

// IOS `revocation-check` takes its methods in order; `ocsp url` names the
// responder instead of the certificates' own.
TEST(IosParser, RevocationCheckMethodsAndOcspUrl) {
  const std::string text =
      "crypto pki trustpoint HUB\n"
      " enrollment url http://192.0.2.1/scep\n"
      " revocation-check ocsp crl none\n"
      " ocsp url http://192.0.2.1/ocsp\n"
      "!\n"
      "crypto pki trustpoint OLD\n"
      " revocation-check crl\n"
      "!\n";
  ParseResult r = ParseIosConfig(text);
  ASSERT_TRUE(r.ok()) << Errors(r);
  ASSERT_EQ(r.config.trustpoints_size(), 2);
  const auto& hub = r.config.trustpoints(0);
  ASSERT_EQ(hub.revocation_check_size(), 3);
  EXPECT_EQ(hub.revocation_check(0), ike::REVOCATION_METHOD_OCSP);
  EXPECT_EQ(hub.revocation_check(1), ike::REVOCATION_METHOD_CRL);
  EXPECT_EQ(hub.revocation_check(2), ike::REVOCATION_METHOD_NONE);
  EXPECT_EQ(hub.ocsp_url(), "http://192.0.2.1/ocsp");
  EXPECT_TRUE(r.config.trustpoints(1).revocation_check_crl());
  const std::string written = WriteIosConfig(r.config);
  EXPECT_THAT(written, HasSubstr(" revocation-check ocsp crl none\n ocsp url http://192.0.2.1/ocsp\n"));
  EXPECT_THAT(written, HasSubstr("crypto pki trustpoint OLD\n revocation-check crl\n"));
  ParseResult again = ParseIosConfig(written);
  ASSERT_TRUE(again.ok()) << Errors(again);
  std::string diff;
  EXPECT_TRUE(Same(r.config, again.config, &diff)) << diff;

  ParseResult bad = ParseIosConfig("crypto pki trustpoint T\n revocation-check ldap\n");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(Errors(bad), HasSubstr("unknown method 'ldap'"));
}

// `authentication rsa-encr` with the peers' keys in `crypto key
// pubkey-chain rsa`, in the layout `show running-config` gives.
TEST(IosParser, PubkeyChainForEncryptedNonces) {
  const std::string text =
      "crypto isakmp policy 10\n"
      " encryption aes 256\n"
      " authentication rsa-encr\n"
      " group 14\n"
      "crypto key pubkey-chain rsa\n"
      " named-key spoke1.example.com\n"
      "  address 198.51.100.21\n"
      "  key-string\n"
      "  30820122 300D0609 2A864886 F70D0101 01050003 82010F00 3082010A 02820101\n"
      "  00C5E23B 55\n"
      "  quit\n"
      " addressed-key 198.51.100.22 encryption\n"
      "  key-string\n"
      "  3081 9F30\n"
      "  quit\n"
      " addressed-key 198.51.100.23 signature\n"
      "  key-string\n"
      "  3081 9F30\n"
      "  quit\n"
      "!\n";
  ParseResult r = ParseIosConfig(text);
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.isakmp_policies(0).authentication(), ike::AUTH_METHOD_RSA_ENCR);
  ASSERT_EQ(r.config.rsa_public_keys_size(), 2) << "the signature key is skipped";
  const auto& named = r.config.rsa_public_keys(0);
  EXPECT_EQ(named.name(), "spoke1.example.com");
  EXPECT_EQ(named.address(), "198.51.100.21");
  EXPECT_EQ(named.key().size(), 37u);
  EXPECT_EQ(named.key().substr(0, 4), std::string("\x30\x82\x01\x22"));
  EXPECT_EQ(r.config.rsa_public_keys(1).address(), "198.51.100.22");
  EXPECT_EQ(r.config.rsa_public_keys(1).key(), std::string("\x30\x81\x9f\x30"));
  EXPECT_THAT(Errors(r), HasSubstr("addressed-key 198.51.100.23: usage: signature keys are not used"));

  const std::string written = WriteIosConfig(r.config);
  EXPECT_THAT(written, HasSubstr(
      "crypto key pubkey-chain rsa\n named-key spoke1.example.com\n  address 198.51.100.21\n"
      "  key-string\n  30820122 300D0609 2A864886 F70D0101 01050003 82010F00 3082010A 02820101\n"
      "  00C5E23B 55\n  quit\n addressed-key 198.51.100.22\n"));
  ParseResult again = ParseIosConfig(written);
  ASSERT_TRUE(again.ok()) << Errors(again);
  std::string diff;
  EXPECT_TRUE(Same(r.config, again.config, &diff)) << diff;

  for (const char* bad : {"crypto key pubkey-chain rsa\n addressed-key 1.2.3\n",
                          "crypto key pubkey-chain rsa\n named-key no-key-string.example\n",
                          "crypto key pubkey-chain rsa\n addressed-key 1.2.3.4\n  address 5.6.7.8\n",
                          "crypto key pubkey-chain rsa\n named-key x\n  key-string\n  30G1\n  quit\n",
                          "crypto key pubkey-chain rsa\n named-key x\n  key-string\n  308\n  quit\n"}) {
    ParseResult b = ParseIosConfig(bad);
    EXPECT_FALSE(b.ok()) << bad;
  }
}

TEST(IosWriter, KeysAreHiddenUnlessAsked) {
  ParseResult r = ParseIosConfig(Fixture("vpn101.cfg"));
  ASSERT_TRUE(r.ok());
  const std::string hidden = WriteIosConfig(r.config);
  EXPECT_THAT(hidden, HasSubstr("crypto isakmp key <hidden> address 203.0.113.2\n"));
  EXPECT_EQ(hidden.find("Cisco123"), std::string::npos);
  EXPECT_EQ(hidden.find("0102030405"), std::string::npos);
  const std::string shown = WriteIosConfig(r.config, WriteOptions{true});
  EXPECT_THAT(shown, HasSubstr("crypto isakmp key Cisco123 address 203.0.113.2\n"));
  EXPECT_THAT(shown, HasSubstr("crypto isakmp key Branch-Key address 198.51.100.0 255.255.255.0 no-xauth\n"));
  EXPECT_THAT(shown, HasSubstr("access-list 130 permit tcp host 10.10.1.10 range 1024 65535 "
                               "10.30.0.0 0.0.0.255 eq 443\n"));
}

TEST(IosParser, ErrorsNameTheLineEntryAndField) {
  const std::string text =
      "crypto isakmp policy 10\n"
      " encryption aes 512\n"             // 2
      " group 14\n"
      "crypto map VPN 10 ipsec-isakmp\n"
      " set pfs group99\n"                // 5
      " match address\n"                  // 6
      "access-list 10 permit 10.1.1.0\n"  // 7: standard list
      "ip access-list extended X\n"
      " permit ip 10.1.0.0 0.0.255.0 any\n"  // 9: non-contiguous wildcard
      " permit ip 10.1.0.1 0.0.0.255 any\n"  // 10: host bits
      "interface Gi0/0\n"
      " crypto map NOPE\n"                   // 12: undefined map
      "crypto map VPN 20 ipsec-isakmp\n"
      " match address X\n"                   // a crypto ACL: lines 9 and 10 are errors
      "crypto map VPN 30 ipsec-isakmp\n"
      " match address 10\n";                 // 16: the standard list
  ParseResult r = ParseIosConfig(text, "r1");
  EXPECT_FALSE(r.ok());
  std::map<uint32_t, v1::Diagnostic> by_line;
  for (const auto& d : r.diagnostics) by_line[d.line()] = d;
  ASSERT_EQ(by_line.size(), 7u) << Errors(r);
  EXPECT_EQ(by_line[2].entry(), "crypto isakmp policy 10");
  EXPECT_EQ(by_line[2].field(), "encryption");
  EXPECT_THAT(by_line[2].message(), HasSubstr("aes 512"));
  EXPECT_EQ(by_line[5].entry(), "crypto map VPN 10");
  EXPECT_EQ(by_line[5].field(), "set pfs");
  EXPECT_EQ(by_line[6].field(), "match address");
  EXPECT_THAT(by_line[16].message(), HasSubstr("10 is a standard access list"));
  EXPECT_EQ(by_line.count(7), 0u) << "a standard list itself is not an error";
  EXPECT_THAT(by_line[9].message(), HasSubstr("contiguous"));
  EXPECT_THAT(by_line[10].message(), HasSubstr("outside the wildcard"));
  EXPECT_THAT(by_line[12].message(), HasSubstr("NOPE is not defined"));
  EXPECT_EQ(by_line[12].device(), "r1");
  // What did parse is still there.
  EXPECT_EQ(r.config.isakmp_policies(0).group(), c::DH_GROUP_MODP_2048);
}

// Found by ios_parser_fuzz: a transform set of `comp-lzs` alone read
// without error, then wrote as a set with no transforms that reads back as
// an error. It is an error the first time.
TEST(IosParser, CompressionAloneIsNoTransformSet) {
  ParseResult r = ParseIosConfig("crypto ipsec transform-set LZS comp-lzs\n", "r1");
  ASSERT_FALSE(r.ok());
  bool said = false;
  for (const auto& d : r.diagnostics) {
    said = said || (d.field() == "transforms" && d.message() == "a transform set needs transforms");
  }
  EXPECT_TRUE(said) << Errors(r);
  EXPECT_TRUE(ParseIosConfig("crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac comp-lzs\n",
                             "r1")
                  .ok());
}

TEST(IosParser, UnindentedTemplatesAndSectionEnds) {
  // Rendered templates are often not indented; sub-commands are known by
  // their words, and an unknown top-level command ends the section.
  const std::string text =
      "crypto map M 10 ipsec-isakmp\n"
      "set peer 192.0.2.9\n"
      "match address 101\n"
      "router ospf 1\n"
      "network 10.0.0.0 0.255.255.255 area 0\n"
      "crypto map M 10\n"
      "set transform-set T\n"
      "crypto ipsec transform-set T esp-gcm\n"
      "access-list 101 permit ip any any\n";
  ParseResult r = ParseIosConfig(text);
  ASSERT_TRUE(r.ok()) << Errors(r);
  const auto& e = r.config.crypto_maps(0).entries(0);
  EXPECT_EQ(e.match_address(), "101");
  EXPECT_THAT(e.transform_sets(), ::testing::ElementsAre("T"));
  EXPECT_EQ(r.config.transform_sets(0).esp_encryption(), c::ENCRYPTION_AES_GCM_128);
}

// IOS means IKEv1 by crypto isakmp: our former `version 2` and `integrity`
// sub-commands are refused with the way to say it, IOS 15's `encr` read.
TEST(IosParser, CryptoIsakmpPolicyIsIkev1) {
  ParseResult r = ParseIosConfig("crypto isakmp policy 5\n encr aes 256\n hash sha256\n group 14\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.isakmp_policies(0).version(), ike::IKE_VERSION_1);
  EXPECT_EQ(r.config.isakmp_policies(0).encryption(), c::ENCRYPTION_AES_CBC_256);

  r = ParseIosConfig("crypto isakmp policy 5\n version 2\n integrity sha256\n group 23\n");
  ASSERT_EQ(r.diagnostics.size(), 3u) << Errors(r);
  EXPECT_EQ(r.diagnostics[0].line(), 2u);
  EXPECT_THAT(r.diagnostics[0].message(), HasSubstr("crypto ikev2 proposal"));
  EXPECT_EQ(r.diagnostics[1].line(), 3u);
  EXPECT_THAT(r.diagnostics[2].message(), HasSubstr("unknown DH group '23'"));
}

// DH group 24 (RFC 5114's MODP-2048 with a 256-bit subgroup) as IOS writes
// it in all three places: read, written back the same way, and flagged as
// legacy by the fleet checks rather than refused.
TEST(IosParser, DhGroup24InIsakmpIkev2AndPfs) {
  ParseResult r = ParseIosConfig(
      "crypto isakmp policy 5\n encr aes 256\n hash sha256\n authentication pre-share\n group 24\n"
      "crypto isakmp key k address 192.0.2.2\n"
      "crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac\n"
      "access-list 101 permit ip 10.1.0.0 0.0.255.255 10.2.0.0 0.0.255.255\n"
      "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.2\n set transform-set T\n"
      " set pfs group24\n match address 101\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.isakmp_policies(0).group(), c::DH_GROUP_MODP_2048_256);
  EXPECT_EQ(r.config.crypto_maps(0).entries(0).pfs_group(), c::DH_GROUP_MODP_2048_256);
  EXPECT_TRUE(IsLegacy(c::DH_GROUP_MODP_2048_256));
  const std::string text = WriteIosConfig(r.config, WriteOptions{true});
  EXPECT_THAT(text, HasSubstr(" group 24\n"));
  EXPECT_THAT(text, HasSubstr(" set pfs group24\n"));

  r = ParseIosConfig("crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha256\n"
                     " group 24 19\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
}

TEST(IosParser, Ikev2ProposalsPoliciesKeyringsAndProfiles) {
  ParseResult r = ParseIosConfig(Fixture("ikev2-hub.cfg"), "hub");
  ASSERT_TRUE(r.ok()) << Errors(r);
  const auto& cfg = r.config;
  // IKEv1 policy 10, then the IKEv2 products in the policy's order: GCM
  // first (1), then CBC's 2 ciphers x 2 integrities x 2 groups (8).
  ASSERT_EQ(cfg.isakmp_policies_size(), 10);
  EXPECT_EQ(cfg.isakmp_policies(0).version(), ike::IKE_VERSION_1);
  const auto& gcm = cfg.isakmp_policies(1);
  EXPECT_EQ(gcm.priority(), 11u);
  EXPECT_EQ(gcm.version(), ike::IKE_VERSION_2);
  EXPECT_EQ(gcm.encryption(), c::ENCRYPTION_AES_GCM_256);
  EXPECT_EQ(gcm.integrity(), c::INTEGRITY_UNSPECIFIED);
  EXPECT_EQ(gcm.hash(), c::PRF_HMAC_SHA2_384);
  EXPECT_EQ(gcm.group(), c::DH_GROUP_ECP_384);
  EXPECT_EQ(gcm.authentication(), ike::AUTH_METHOD_PRE_SHARE);
  EXPECT_EQ(gcm.lifetime_seconds(), 28800u);
  const auto& cbc = cfg.isakmp_policies(2);
  EXPECT_EQ(cbc.encryption(), c::ENCRYPTION_AES_CBC_256);
  EXPECT_EQ(cbc.integrity(), c::INTEGRITY_HMAC_SHA2_256_128);
  EXPECT_EQ(cbc.hash(), c::PRF_HMAC_SHA2_256);  // no prf: the integrity's
  EXPECT_EQ(cbc.group(), c::DH_GROUP_ECP_256);
  EXPECT_EQ(cfg.isakmp_policies(3).group(), c::DH_GROUP_MODP_2048);
  EXPECT_EQ(cfg.isakmp_policies(9).encryption(), c::ENCRYPTION_AES_CBC_128);
  EXPECT_EQ(cfg.isakmp_policies(9).integrity(), c::INTEGRITY_HMAC_SHA1_96);
  // crypto isakmp key, then the keyring's three peers.
  ASSERT_EQ(cfg.pre_shared_keys_size(), 4);
  EXPECT_EQ(cfg.pre_shared_keys(1).address().address(), "203.0.113.10");
  EXPECT_EQ(cfg.pre_shared_keys(1).address().length(), 32u);
  EXPECT_EQ(cfg.pre_shared_keys(1).key(), "Branch-A-Key");
  EXPECT_EQ(cfg.pre_shared_keys(2).address().length(), 24u);
  EXPECT_EQ(cfg.pre_shared_keys(3).hostname(), "roaming.example.com");
  EXPECT_EQ(cfg.globals().keepalive_seconds(), 10u);
  EXPECT_EQ(cfg.globals().keepalive_retry_seconds(), 3u);
  EXPECT_EQ(cfg.globals().keepalive_mode(), ike::KEEPALIVE_MODE_ON_DEMAND);
  EXPECT_EQ(cfg.globals().nat_keepalive_seconds(), 20u);
  // Entries with the profile are IKEv2; the one without is IKEv1.
  const auto& wan = cfg.crypto_maps(1);
  ASSERT_EQ(wan.name(), "WAN");
  EXPECT_EQ(wan.entries(0).ike_version(), ike::IKE_VERSION_2);
  EXPECT_EQ(wan.entries(1).ike_version(), ike::IKE_VERSION_2);
  EXPECT_EQ(wan.entries(2).ike_version(), ike::IKE_VERSION_1);
  EXPECT_EQ(cfg.crypto_maps(0).entries(0).ike_version(), ike::IKE_VERSION_2);
  // What is not carried is said, each with its line: match address local in
  // the policy, the profile's match identity lines (once).
  std::vector<uint32_t> warned;
  for (const auto& d : r.diagnostics) warned.push_back(d.line());
  EXPECT_THAT(warned, ::testing::ElementsAre(21, 43)) << Errors(r);
}

TEST(IosParser, Ikev2WhatOurPolicyCannotHoldIsRefused) {
  const std::string map =
      "crypto ipsec transform-set T esp-gcm 256\n"
      "access-list 101 permit ip 10.0.0.0 0.0.0.255 10.1.0.0 0.0.0.255\n"
      "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.2\n set transform-set T\n"
      " set ikev2-profile P\n match address 101\n";
  const std::string proposal =
      "crypto ikev2 proposal X\n encryption aes-cbc-256\n integrity sha256\n group 19\n"
      "crypto ikev2 policy Y\n proposal X\n";
  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {proposal + map, "crypto ikev2 profile P is not defined"},
      {proposal + "crypto ikev2 profile P\n authentication local pre-share\n"
                  " authentication remote rsa-sig\n keyring local K\n" + map,
       "one method"},
      {proposal + "crypto ikev2 profile P\n authentication local pre-share\n keyring local K\n" + map,
       "crypto ikev2 keyring K is not defined"},
      {proposal + "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key local one\n"
                  "  pre-shared-key remote two\n !\n" +
           "crypto ikev2 profile P\n authentication local pre-share\n keyring local K\n" + map,
       "one key both ways"},
      {proposal + "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key 6 AbCdEf\n",
       "type 6 keys"},
      {"crypto ikev2 proposal X\n encryption aes-cbc-256\n integrity sha256\n group 19\n"
       "crypto ikev2 profile P\n authentication local pre-share\n" + map,
       "a crypto ikev2 policy names it"},
      {"crypto ikev2 proposal X\n encryption aes-gcm-128 aes-cbc-128\n prf sha256\n group 19\n"
       "crypto ikev2 policy Y\n proposal X\n"
       "crypto ikev2 profile P\n authentication local pre-share\n" + map,
       "all combined-mode"},
      {proposal + "crypto ikev2 profile P\n authentication local eap\n" + map, "is not an IKEv2 method"},
      {proposal + "crypto ikev2 profile P\n authentication local pre-share\n match certificate CM\n" + map,
       "certificate maps"},
      {proposal + "crypto ikev2 profile P\n authentication local pre-share\n virtual-template 1\n" + map,
       "virtual templates"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.text);
    ParseResult r = ParseIosConfig(k.text);
    EXPECT_FALSE(r.ok());
    EXPECT_THAT(Errors(r), HasSubstr(k.message));
  }
}

// A keyring's ` !` closes a peer, not the keyring: the next peer is read.
TEST(IosParser, Ikev2KeyringPeersAfterTheirBang) {
  ParseResult r = ParseIosConfig(
      "crypto ikev2 keyring K\n peer A\n  address 192.0.2.2\n  pre-shared-key a\n !\n"
      " peer B\n  address 2001:db8::/32\n  pre-shared-key b\n !\n!\n"
      "crypto ikev2 proposal X\n encryption aes-cbc-128\n integrity sha1\n group 14\n"
      "crypto ikev2 policy Y\n proposal X\n"
      "crypto ikev2 profile P\n authentication local pre-share\n authentication remote pre-share\n"
      " keyring local K\n"
      "crypto dynamic-map D 10\n set ikev2-profile P\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  ASSERT_EQ(r.config.pre_shared_keys_size(), 2);
  EXPECT_EQ(r.config.pre_shared_keys(1).address().address(), "2001:db8::");
  EXPECT_EQ(r.config.pre_shared_keys(1).address().length(), 32u);
  EXPECT_EQ(r.config.pre_shared_keys(1).key(), "b");
}

// Typed IKEv2 policies (a template's) come out as IOS writes IKEv2.
TEST(IosWriter, Ikev2PoliciesAsProposalsAndAProfile) {
  ike::IkeConfig cfg;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_CBC_256 hash: PRF_HMAC_SHA2_256
                      group: DH_GROUP_ECP_256 authentication: AUTH_METHOD_PRE_SHARE lifetime_seconds: 3600 }
    pre_shared_keys { address { address: "192.0.2.2" length: 32 } key: "k" }
    crypto_maps { name: "M" entries { sequence: 10 peers: "192.0.2.2" match_address: "101"
                                      transform_sets: "T" } }
  )pb", &cfg));
  const std::string text = WriteIosConfig(cfg, WriteOptions{true});
  EXPECT_THAT(text, HasSubstr("crypto ikev2 proposal vpnfleet-10\n encryption aes-cbc-256\n"
                              " integrity sha256\n prf sha256\n group 19\n"));
  EXPECT_THAT(text, HasSubstr("crypto ikev2 keyring vpnfleet\n peer 192.0.2.2\n  address 192.0.2.2\n"
                              "  pre-shared-key k\n"));
  EXPECT_THAT(text, HasSubstr(" authentication local pre-share\n keyring local vpnfleet\n lifetime 3600\n"));
  EXPECT_THAT(text, HasSubstr(" set ikev2-profile vpnfleet\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("crypto isakmp policy")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("crypto isakmp key")));
}

TEST(IosRoundTrip, AnIkev2OnlyPolicySaysItsIdentityAndDpdInItsProfile) {
  ike::IkeConfig cfg;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    isakmp_policies { priority: 10 encryption: ENCRYPTION_AES_GCM_256 hash: PRF_HMAC_SHA2_384
                      group: DH_GROUP_ECP_384 authentication: AUTH_METHOD_ECDSA_SIG }
    trustpoints { name: "CA" enrollment_url: "http://ca.example/scep" }
    globals { identity: ISAKMP_IDENTITY_DN keepalive_seconds: 10 keepalive_retry_seconds: 2
              keepalive_mode: KEEPALIVE_MODE_PERIODIC }
    transform_sets { name: "T" esp_encryption: ENCRYPTION_AES_GCM_256 mode: IPSEC_MODE_TUNNEL }
    access_lists { name: "A" entries { sequence: 10 action: ACL_ACTION_PERMIT
        match { source { address: "10.1.0.0" length: 24 } destination { address: "10.2.0.0" length: 24 } } } }
    crypto_maps { name: "M" entries { sequence: 10 peers: "192.0.2.2" match_address: "A"
                                      transform_sets: "T" } }
  )pb", &cfg));
  const std::string text = WriteIosConfig(cfg);
  // IOS reads crypto isakmp identity/keepalive for IKEv1 only.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("crypto isakmp")));
  EXPECT_THAT(text, HasSubstr(" identity local dn\n"));
  EXPECT_THAT(text, HasSubstr(" dpd 10 2 periodic\n"));
  ParseResult back = ParseIosConfig(text);
  for (const auto& d : back.diagnostics) EXPECT_NE(d.severity(), v1::Diagnostic::SEVERITY_ERROR) << d.message();
  EXPECT_EQ(back.config.globals().identity(), ike::ISAKMP_IDENTITY_DN);
  EXPECT_EQ(back.config.globals().keepalive_seconds(), 10u);
  EXPECT_EQ(back.config.globals().keepalive_mode(), ike::KEEPALIVE_MODE_PERIODIC);
}

TEST(IosParser, IsakmpProfilesAndKeyrings) {
  ParseResult r = ParseIosConfig(Fixture("isakmp-profile.cfg"), "branch7");
  ASSERT_TRUE(r.ok()) << Errors(r);
  const auto& cfg = r.config;
  ASSERT_EQ(cfg.pre_shared_keys_size(), 2);
  EXPECT_EQ(cfg.pre_shared_keys(0).address().address(), "192.0.2.10");
  EXPECT_EQ(cfg.pre_shared_keys(0).key(), "East-Key");
  EXPECT_EQ(cfg.pre_shared_keys(1).address().length(), 24u);
  EXPECT_EQ(cfg.globals().identity(), ike::ISAKMP_IDENTITY_HOSTNAME);
  EXPECT_EQ(cfg.globals().keepalive_seconds(), 20u);
  EXPECT_EQ(cfg.globals().keepalive_retry_seconds(), 5u);
  const auto& map = cfg.crypto_maps(0);
  EXPECT_EQ(map.entries(0).ike_version(), ike::IKE_VERSION_1);
  EXPECT_FALSE(map.entries(0).initiate_aggressive());
  EXPECT_TRUE(map.entries(1).initiate_aggressive());
  EXPECT_EQ(map.entries(1).lifetime().seconds(), 7200u);  // the global default
  std::vector<uint32_t> warned;
  for (const auto& d : r.diagnostics) warned.push_back(d.line());
  EXPECT_THAT(warned, ::testing::ElementsAre(20, 24)) << Errors(r);  // the match lines

  // What our policy cannot hold, or names nothing, is refused by line.
  const std::string map_text =
      "crypto ipsec transform-set T esp-gcm 256\naccess-list 101 permit ip any any\n"
      "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.2\n set transform-set T\n"
      " set isakmp-profile P\n match address 101\n";
  EXPECT_THAT(Errors(ParseIosConfig(map_text)), HasSubstr("crypto isakmp profile P is not defined"));
  EXPECT_THAT(Errors(ParseIosConfig("crypto isakmp profile P\n keyring K\n" + map_text)),
              HasSubstr("crypto keyring K is not defined"));
  EXPECT_THAT(Errors(ParseIosConfig("crypto keyring K\n pre-shared-key address 192.0.2.2 key 6 ABCDEF\n"
                                    "crypto isakmp profile P\n keyring K\n" + map_text)),
              HasSubstr("type 6 keys"));
  EXPECT_THAT(Errors(ParseIosConfig("crypto isakmp key one address 192.0.2.2\n"
                                    "crypto keyring K\n pre-shared-key address 192.0.2.2 key two\n"
                                    "crypto isakmp profile P\n keyring K\n" + map_text)),
              HasSubstr("one key per peer"));
  EXPECT_THAT(Errors(ParseIosConfig("crypto isakmp profile P\n match identity group VPN\n" + map_text)),
              HasSubstr("Easy VPN"));
  EXPECT_THAT(Errors(ParseIosConfig("crypto isakmp profile P\n virtual-template 1\n" + map_text)),
              HasSubstr("not supported"));
}

// An entry that initiates Aggressive Mode is written with an ISAKMP profile
// that says so, and read back the same.
TEST(IosRoundTrip, AggressiveModeEntriesGoThroughAProfile) {
  ike::IkeConfig cfg;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    isakmp_policies { priority: 10 version: IKE_VERSION_1 encryption: ENCRYPTION_AES_CBC_256
                      hash: PRF_HMAC_SHA2_256 group: DH_GROUP_MODP_2048 authentication: AUTH_METHOD_PRE_SHARE }
    pre_shared_keys { hostname: "hub.example.com" key: "k" }
    transform_sets { name: "T" esp_encryption: ENCRYPTION_AES_GCM_256 }
    access_lists { name: "101" entries { sequence: 10 action: ACL_ACTION_PERMIT
                                         match { source { address: "10.1.0.0" length: 16 }
                                                 destination { address: "10.2.0.0" length: 16 } } } }
    crypto_maps { name: "M" entries { sequence: 10 kind: CRYPTO_MAP_KIND_IPSEC_ISAKMP peers: "192.0.2.2"
                                      match_address: "101" transform_sets: "T"
                                      ike_version: IKE_VERSION_1 initiate_aggressive: true } }
  )pb", &cfg));
  const std::string text = WriteIosConfig(cfg, WriteOptions{true});
  EXPECT_THAT(text, HasSubstr("crypto isakmp profile vpnfleet-aggressive\n match identity address 0.0.0.0\n"
                              " initiate mode aggressive\n"));
  EXPECT_THAT(text, HasSubstr(" set isakmp-profile vpnfleet-aggressive\n"));
  ParseResult r = ParseIosConfig(text);
  ASSERT_TRUE(r.ok()) << Errors(r) << text;
  std::string diff;
  EXPECT_TRUE(Same(cfg, r.config, &diff)) << diff << text;
}

TEST(IosParser, NotIosAtAllIsRefused) {
  for (const char* text : {"{\"devices\": [1, 2]}\n", "hello world\nthis is prose\n",
                           "[section]\nkey = value\n"}) {
    ParseResult r = ParseIosConfig(text);
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_THAT(Errors(r), HasSubstr("not an IOS configuration"));
  }
  EXPECT_TRUE(ParseIosConfig("").ok());
  EXPECT_TRUE(ParseIosConfig("version 15.4\nservice timestamps debug datetime msec\n").ok());
}

TEST(IosParser, DanglingReferencesAreErrorsAtImport) {
  ParseResult r = ParseIosConfig(
      "crypto ipsec transform-set T esp-gcm 256\n"
      "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.2\n set transform-set T MISSING\n"
      " match address NOACL\n"
      "crypto map M 20 ipsec-isakmp dynamic NODYN\n");
  const std::string e = Errors(r);
  EXPECT_THAT(e, HasSubstr("4: crypto map M 10: set transform-set: transform set MISSING is not defined"));
  EXPECT_THAT(e, HasSubstr("5: crypto map M 10: match address: access list NOACL is not defined"));
  EXPECT_THAT(e, HasSubstr("6: crypto map M 20: dynamic: crypto dynamic-map NODYN is not defined"));
}

// IOS's global SA settings apply to every entry that does not set its own.
TEST(IosParser, GlobalSecurityAssociationDefaults) {
  ParseResult r = ParseIosConfig(
      "crypto ipsec security-association lifetime seconds 7200\n"
      "crypto ipsec security-association lifetime kilobytes 50000\n"
      "crypto ipsec security-association replay window-size 512\n"
      "crypto ipsec transform-set T esp-gcm 256\n"
      "access-list 101 permit ip any any\n"
      "crypto dynamic-map D 10\n set transform-set T\n"
      "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.2\n set transform-set T\n"
      " set security-association lifetime seconds 600\n match address 101\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  const auto& dyn = r.config.crypto_maps(0).entries(0);
  EXPECT_EQ(dyn.lifetime().seconds(), 7200u);
  EXPECT_EQ(dyn.replay().size(), 512u);
  const auto& own = r.config.crypto_maps(1).entries(0);
  EXPECT_EQ(own.lifetime().seconds(), 600u);
  EXPECT_EQ(own.lifetime().kilobytes(), 50000u);
  EXPECT_TRUE(ParseIosConfig("crypto ipsec df-bit clear\n").ok());
  EXPECT_THAT(Errors(ParseIosConfig("crypto ipsec df-bit copy\n")), HasSubstr("always clear"));
}

TEST(IosRoundTrip, KeyPairLabelsComeBack) {
  ParseResult r = ParseIosConfig("crypto pki trustpoint TP\n rsakeypair ROUTER-KEY 3072\n"
                                 "crypto pki trustpoint TP2\n eckeypair TP2 384\n");
  ASSERT_TRUE(r.ok()) << Errors(r);
  EXPECT_EQ(r.config.trustpoints(0).key_label(), "ROUTER-KEY");
  EXPECT_EQ(r.config.trustpoints(1).key_label(), "");
  const std::string text = WriteIosConfig(r.config);
  EXPECT_THAT(text, HasSubstr(" rsakeypair ROUTER-KEY 3072\n"));
  EXPECT_THAT(text, HasSubstr(" eckeypair TP2 384\n"));
}

TEST(IosParser, OversizedInputIsOneError) {
  std::string big(kMaxConfigBytes + 1, '!');
  ParseResult r = ParseIosConfig(big);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace vpnfleet::controller::ios
