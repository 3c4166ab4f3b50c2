#include "cli/ike_command.h"

#include <sstream>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::cli {
namespace {

TEST(ShowCryptoIsakmpSa, IosColumnsAndIkev2Details) {
  vpnfleet::ike::v1::ListIkeSasResponse sas;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    ike_sas {
      conn_id: 7 state: IKE_SA_STATE_ESTABLISHED initiator: true
      local_address: "198.51.100.1" local_port: 4500
      remote_address: "198.51.100.2" remote_port: 4500
      local_id: "198.51.100.1" remote_id: "198.51.100.2"
      initiator_spi: "\x01\x02\x03\x04\x05\x06\x07\x08" responder_spi: "\xaa\xbb\xcc\xdd\xee\xff\x00\x11"
      encryption: ENCRYPTION_AES_GCM_128 prf: PRF_HMAC_SHA2_256 group: DH_GROUP_CURVE25519
      nat_detected_remote: true established_unix_seconds: 1000 lifetime_remaining_seconds: 86280
      crypto_map: "VPN" crypto_map_sequence: 10
      local_authentication: AUTH_METHOD_ECDSA_SIG authentication: AUTH_METHOD_RSA_SIG
      remote_certificate_subject: "O=vpnfleet,CN=spoke.example.net"
    })pb", &sas));
  std::ostringstream out;
  PrintIsakmpSaIos(sas, 1120, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("198.51.100.2    198.51.100.1    READY                7 ACTIVE"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Encr: AES-GCM, keysize: 128, PRF: SHA256, Hash: None, DH Grp:31"),
            std::string::npos);
  EXPECT_NE(text.find("Life/Active Time: 86400/120 sec"), std::string::npos);
  EXPECT_NE(text.find("Local spi: 0102030405060708"), std::string::npos);
  EXPECT_NE(text.find("NAT-T is detected outside"), std::string::npos);
  EXPECT_NE(text.find("DH Grp:31, Auth sign: ECDSA, Auth verify: RSA"), std::string::npos);
  EXPECT_NE(text.find("Remote certificate: O=vpnfleet,CN=spoke.example.net"), std::string::npos);
}

TEST(ShowCryptoIsakmpSa, Ikev1SasWithIosStates) {
  vpnfleet::ike::v1::ListIkeSasResponse sas;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    ike_sas {
      conn_id: 1001 version: IKE_VERSION_1 state: IKE_SA_STATE_QM_IDLE initiator: false
      local_address: "198.51.100.2" remote_address: "198.51.100.1"
      local_id: "198.51.100.2" remote_id: "198.51.100.1"
      encryption: ENCRYPTION_AES_CBC_256 prf: PRF_HMAC_SHA2_256 group: DH_GROUP_MODP_2048
      authentication: AUTH_METHOD_PRE_SHARE lifetime_remaining_seconds: 86399
    }
    ike_sas {
      conn_id: 1002 version: IKE_VERSION_1 state: IKE_SA_STATE_MM_KEY_EXCH initiator: true
      local_address: "198.51.100.2" remote_address: "198.51.100.7"
    })pb", &sas));
  std::ostringstream out;
  PrintIsakmpSaIos(sas, 1120, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("198.51.100.2    198.51.100.1    QM_IDLE           1001 ACTIVE"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("198.51.100.7    198.51.100.2    MM_KEY_EXCH       1002"), std::string::npos);
  EXPECT_NE(text.find("AES-CBC, keysize: 256  SHA256 PSK  14  23:59:59"), std::string::npos);
  EXPECT_EQ(text.find("IKEv2 SA"), std::string::npos);  // no IKEv2 SA to detail
}

TEST(ShowCryptoIpsecSa, CountersSpisAndIdents) {
  vpnfleet::ike::v1::ListChildSasResponse sas;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    child_sas {
      ike_conn_id: 7 crypto_map: "VPN" crypto_map_sequence: 10
      local_ident { source { address: "10.1.0.0" length: 24 } }
      remote_ident { source { address: "10.2.0.0" length: 24 } }
      local_endpoint: "198.51.100.1" remote_endpoint: "198.51.100.2" remote_port: 4500
      inbound_spi: 3761208749 outbound_spi: 256
      encryption: ENCRYPTION_AES_CBC_256 integrity: INTEGRITY_HMAC_SHA2_256_128
      pfs_group: DH_GROUP_ECP_256 udp_encapsulated: true replay_detection: true
      remaining_kilobytes: 4607999 remaining_seconds: 3540
      counters { pkts_encaps: 6 pkts_encrypt: 6 pkts_digest: 6 pkts_decaps: 5 pkts_decrypt: 5 pkts_verify: 5 }
    })pb", &sas));
  std::ostringstream out;
  PrintIpsecSaIos(sas, out);
  const std::string text = out.str();
  EXPECT_NE(text.find("local  ident (addr/mask/prot/port): (10.1.0.0/255.255.255.0/0/0)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("#pkts encaps: 6, #pkts encrypt: 6, #pkts digest: 6"), std::string::npos);
  EXPECT_NE(text.find("#pkts decaps: 5"), std::string::npos);
  EXPECT_NE(text.find("current outbound spi: 0x00000100(256)"), std::string::npos);
  EXPECT_NE(text.find("spi: 0xE02F7DAD(3761208749)"), std::string::npos);
  EXPECT_NE(text.find("in use settings ={Tunnel UDP-Encaps, }"), std::string::npos);
  EXPECT_NE(text.find("PFS (Y/N): Y, DH group: group19"), std::string::npos);
  EXPECT_NE(text.find("(k/sec): (4607999/3540)"), std::string::npos);
}

TEST(ShowCryptoIpsecSa, NothingToShow) {
  std::ostringstream out;
  PrintIpsecSaIos({}, out);
  EXPECT_EQ(out.str(), "No IPsec SAs.\n");
}

TEST(ShowCryptoKeyMypubkeyRsa, KeyDataInIosHexBlocks) {
  vpnfleet::ike::v1::ListPublicKeysResponse keys;
  vpnfleet::ike::v1::PublicKey* k = keys.add_keys();
  k->set_name("EDGE");
  k->set_bits(2048);
  k->set_usage("rsa-encr");
  std::string der;
  for (int i = 0; i < 38; ++i) der.push_back(static_cast<char>(i * 7));
  k->set_key(der);
  std::ostringstream out;
  PrintMyPubkeyIos(keys, out);
  EXPECT_EQ(out.str(),
            "Key name: EDGE\n"
            "Key type: RSA KEYS 2048 bits\n"
            " Usage: rsa-encr\n"
            " Key Data:\n"
            "  00070E15 1C232A31 383F464D 545B6269 70777E85 8C939AA1 A8AFB6BD C4CBD2D9\n"
            "  E0E7EEF5 FC03\n");
  std::ostringstream none;
  PrintMyPubkeyIos({}, none);
  EXPECT_NE(none.str().find("No RSA key pair"), std::string::npos);
}

}  // namespace
}  // namespace vpnfleet::cli
