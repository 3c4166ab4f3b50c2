#include "common/api/field_limits.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::api {
namespace {

using ::testing::HasSubstr;
namespace ike = vpnfleet::ike::v1;

std::string Message(const absl::Status& st) { return std::string(st.message()); }

TEST(FieldLimits, StringsListsEnumsAndNulsNamedByPathNeverByValue) {
  ike::IkeConfig c;
  auto* map = c.add_crypto_maps();
  map->set_name("VPN");
  map->add_entries()->add_peers("192.0.2.1");
  EXPECT_TRUE(CheckFieldLimits(c, {}).ok());

  map->mutable_entries(0)->add_peers(std::string(5000, 'p'));
  absl::Status st = CheckFieldLimits(c, {});
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_EQ(Message(st), "crypto_maps[0].entries[0].peers[1]: 5000 bytes; at most 1024");
  FieldLimits wider;
  wider.string_bytes["vpnfleet.ike.v1.CryptoMapEntry.peers"] = 8000;
  EXPECT_TRUE(CheckFieldLimits(c, wider).ok());

  map->mutable_entries(0)->set_peers(1, std::string("a\0b", 3));
  EXPECT_EQ(Message(CheckFieldLimits(c, {})), "crypto_maps[0].entries[0].peers[1]: holds a NUL character");
  map->mutable_entries(0)->mutable_peers()->RemoveLast();

  map->mutable_entries(0)->set_kind(static_cast<ike::CryptoMapKind>(99));
  EXPECT_EQ(Message(CheckFieldLimits(c, {})), "crypto_maps[0].entries[0].kind: 99 is not a CryptoMapKind");
  map->mutable_entries(0)->set_kind(ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP);

  FieldLimits few;
  few.repeated["vpnfleet.ike.v1.IkeConfig.crypto_maps"] = 1;
  c.add_crypto_maps();
  EXPECT_EQ(Message(CheckFieldLimits(c, few)), "crypto_maps: 2 items; at most 1");
  // Bytes may hold NUL (keys).
  ike::IkeConfig k;
  k.add_pre_shared_keys()->set_key(std::string("\0\1", 2));
  EXPECT_TRUE(CheckFieldLimits(k, {}).ok());
}

}  // namespace
}  // namespace vpnfleet::api
