#include "services/dataplane/sad/sa_table.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

using ::testing::HasSubstr;

v1::SecurityAssociation Sa(const std::string& text) {
  v1::SecurityAssociation sa;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &sa)) << text;
  return sa;
}

// Outbound AES-GCM-128 tunnel SA, 16-octet key + 4-octet salt.
constexpr char kGcm[] = R"pb(
  key { spi: 0x34F84D56 destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_ESP }
  direction: DIRECTION_OUTBOUND mode: IPSEC_MODE_TUNNEL
  tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
  encryption: ENCRYPTION_AES_GCM_128 encryption_key: "0123456789abcdefSALT"
  replay { size: 64 } hard_lifetime { seconds: 3600 kilobytes: 4608000 }
  soft_lifetime { seconds: 3240 } peer: "198.51.100.2" reqid: 1
)pb";

TEST(ValidateSa, AcceptsAWellFormedSa) {
  EXPECT_TRUE(ValidateSa(Sa(kGcm), {}).ok());
}

TEST(ValidateSa, RejectsWithTheFieldNamed) {
  struct Case {
    const char* change;
    const char* expect;
  };
  const Case cases[] = {
      {"key { spi: 255 }", "key.spi: must be 256 or more"},
      {"key { destination: \"nowhere\" }", "key.destination"},
      {"encryption_key: \"0123456789abcdef\"", "encryption_key: must be 20 octets"},
      {"integrity: INTEGRITY_HMAC_SHA1_96 integrity_key: \"01234567890123456789\"",
       "takes no integrity algorithm"},
      {"tunnel_destination: \"198.51.100.9\"", "must equal the SA's destination"},
      {"replay { size: 16 }", "replay.size: must be 32..4096"},
      {"soft_lifetime { seconds: 7200 }", "soft_lifetime.seconds: must not exceed"},
      {"encryption: ENCRYPTION_3DES encryption_key: \"012345678901234567890123\"",
       "legacy algorithm"},
      {"udp_encapsulation { source_port: 4500 destination_port: 70000 }",
       "udp_encapsulation: ports must be 1..65535"},
      {"selectors { source { address: \"10.1.0.1\" length: 24 } destination { address: \"10.2.0.0\" length: 24 } }",
       "selectors[0]: source"},
      {"selectors { source { address: \"10.1.0.0\" length: 24 } destination { address: \"10.2.0.0\" length: 24 } destination_ports { start: 80 } }",
       "selectors[0]: ports must be a range"},
  };
  for (const Case& c : cases) {
    v1::SecurityAssociation sa = Sa(kGcm);
    v1::SecurityAssociation change = Sa(c.change);
    sa.MergeFrom(change);
    absl::Status st = ValidateSa(sa, {});
    EXPECT_FALSE(st.ok()) << c.change;
    EXPECT_THAT(std::string(st.message()), HasSubstr(c.expect)) << c.change;
  }
}

TEST(ValidateSa, LegacyNeedsTheSwitchAndAhNeedsIntegrity) {
  v1::SecurityAssociation des = Sa(kGcm);
  des.set_encryption(vpnfleet::common::v1::ENCRYPTION_3DES);
  des.set_encryption_key(std::string(24, 'k'));
  des.set_integrity(vpnfleet::common::v1::INTEGRITY_HMAC_MD5_96);
  des.set_integrity_key(std::string(16, 'a'));
  EXPECT_FALSE(ValidateSa(des, {}).ok());
  EXPECT_TRUE(ValidateSa(des, {.allow_legacy = true}).ok());

  v1::SecurityAssociation ah = Sa(R"pb(
    key { spi: 4096 destination: "198.51.100.2" protocol: IPSEC_PROTOCOL_AH }
    direction: DIRECTION_INBOUND mode: IPSEC_MODE_TRANSPORT)pb");
  EXPECT_THAT(std::string(ValidateSa(ah, {}).message()), HasSubstr("AH needs an integrity"));
  ah.set_integrity(vpnfleet::common::v1::INTEGRITY_HMAC_SHA2_256_128);
  ah.set_integrity_key(std::string(32, 'a'));
  EXPECT_TRUE(ValidateSa(ah, {}).ok());
}

TEST(SaTable, StoresByKeyAndNeverReturnsKeys) {
  FakeClock clock;
  SaTable sad(&clock, {});
  ASSERT_TRUE(sad.Add(Sa(kGcm)).ok());
  EXPECT_EQ(sad.Add(Sa(kGcm)).code(), absl::StatusCode::kAlreadyExists);
  auto got = sad.Get(Sa(kGcm).key());
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->sa().encryption_key().empty());
  EXPECT_TRUE(got->sa().encryption_key_set());
  EXPECT_FALSE(got->sa().integrity_key_set());
  EXPECT_EQ(got->state(), v1::SA_STATE_ACTIVE);
  EXPECT_EQ(got->added_unix_seconds(), absl::ToUnixSeconds(clock.Now()));
  EXPECT_FALSE(got->has_counters());  // nothing counts yet; no made-up zeros
  EXPECT_EQ(got->DebugString().find("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(SaKeyString(got->sa().key()), "esp/0x34f84d56/198.51.100.2");
}

TEST(SaTable, UpdateKeepsKeysAndRejectsWithoutChange) {
  FakeClock clock;
  SaTable sad(&clock, {});
  ASSERT_TRUE(sad.Add(Sa(kGcm)).ok());
  v1::SecurityAssociation update = Sa(kGcm);
  update.clear_encryption_key();
  update.mutable_hard_lifetime()->set_seconds(7200);
  ASSERT_TRUE(sad.Update(update).ok());
  auto got = sad.Get(update.key());
  EXPECT_EQ(got->sa().hard_lifetime().seconds(), 7200u);
  EXPECT_TRUE(got->sa().encryption_key_set());

  update.mutable_replay()->set_size(5);
  EXPECT_FALSE(sad.Update(update).ok());
  EXPECT_EQ(sad.Get(update.key())->sa().replay().size(), 64u);
  update.set_direction(vpnfleet::common::v1::DIRECTION_INBOUND);
  EXPECT_THAT(std::string(sad.Update(update).message()), HasSubstr("direction"));
}

TEST(SaTable, ListFiltersAndDeleteRemoves) {
  FakeClock clock;
  SaTable sad(&clock, {});
  ASSERT_TRUE(sad.Add(Sa(kGcm)).ok());
  v1::SecurityAssociation other = Sa(kGcm);
  other.mutable_key()->set_spi(0x1000);
  other.set_peer("198.51.100.2");
  other.set_reqid(2);
  ASSERT_TRUE(sad.Add(other).ok());
  v1::ListSasRequest by_reqid;
  by_reqid.set_reqid(2);
  EXPECT_EQ(sad.List(by_reqid).size(), 1u);
  EXPECT_EQ(sad.List({}).size(), 2u);
  ASSERT_TRUE(sad.Delete(other.key()).ok());
  EXPECT_EQ(sad.Delete(other.key()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sad.size(), 1u);
}

}  // namespace
}  // namespace vpnfleet::dataplane
