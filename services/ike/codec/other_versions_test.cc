#include "services/ike/codec/other_versions.h"

#include "gtest/gtest.h"
#include "services/ike/codec/ikev2_message.h"

namespace vpnfleet::ike::v2 {
namespace {

// The first message of an IKEv1 Main Mode as strongSwan sends it: header
// only matters here (cookie, zero responder cookie, version 1.0, exchange 2).
std::string MainModeFirst() {
  std::string m(28 + 8, '\0');
  const char cookie[] = "\x11\x22\x33\x44\x55\x66\x77\x88";
  m.replace(0, 8, cookie, 8);
  m[16] = 1;     // SA
  m[17] = 0x10;  // 1.0
  m[18] = 2;     // Identity Protection (Main Mode)
  m[27] = static_cast<char>(m.size());
  return m;
}

TEST(OtherVersions, MajorVersion) {
  EXPECT_EQ(MajorVersion(MainModeFirst()), 1);
  EXPECT_FALSE(MajorVersion("short").has_value());
}

TEST(OtherVersions, Ikev1FirstMessageGetsNoProposalChosen) {
  auto r = Ikev1Refusal(MainModeFirst(), 0x01020304);
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 40u);
  EXPECT_EQ(r->substr(0, 8), MainModeFirst().substr(0, 8));
  EXPECT_EQ(r->substr(8, 8), std::string(8, '\0'));
  EXPECT_EQ(static_cast<uint8_t>((*r)[16]), 11);  // Notification
  EXPECT_EQ(static_cast<uint8_t>((*r)[17]), 0x10);
  EXPECT_EQ(static_cast<uint8_t>((*r)[18]), 5);   // Informational
  EXPECT_EQ(r->substr(20, 4), std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(static_cast<uint8_t>((*r)[27]), 40);  // length
  EXPECT_EQ(static_cast<uint8_t>((*r)[31]), 12);  // payload length
  EXPECT_EQ(static_cast<uint8_t>((*r)[35]), 1);   // DOI IPsec
  EXPECT_EQ(static_cast<uint8_t>((*r)[36]), 1);   // protocol ISAKMP
  EXPECT_EQ(static_cast<uint8_t>((*r)[39]), 14);  // NO-PROPOSAL-CHOSEN
}

TEST(OtherVersions, LaterIkev1MessagesAndIkev2GetNoIkev1Answer) {
  std::string later = MainModeFirst();
  later[8] = 1;  // a responder cookie: not a first message
  EXPECT_FALSE(Ikev1Refusal(later, 1).has_value());
  std::string v2 = MainModeFirst();
  v2[17] = 0x20;
  EXPECT_FALSE(Ikev1Refusal(v2, 1).has_value());
  EXPECT_FALSE(Ikev1Refusal("", 1).has_value());
}

TEST(OtherVersions, HigherMajorVersionGetsInvalidMajorVersionThatDecodes) {
  std::string v3 = MainModeFirst();
  v3[17] = 0x30;
  v3[18] = 34;    // IKE_SA_INIT
  v3[19] = 0x08;  // initiator
  v3[23] = 0;     // message ID 0
  auto r = InvalidMajorVersion(v3);
  ASSERT_TRUE(r.has_value());
  auto m = Decode(*r);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->header.exchange_type, 34);
  EXPECT_TRUE(m->header.flags & kFlagResponse);
  ASSERT_EQ(m->payloads.size(), 1u);
  const auto* n = std::get_if<NotifyPayload>(&m->payloads[0].body);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->type, 5);
  // Versions 1 and 2, and responses, get none.
  EXPECT_FALSE(InvalidMajorVersion(MainModeFirst()).has_value());
  v3[19] = 0x20;
  EXPECT_FALSE(InvalidMajorVersion(v3).has_value());
}

}  // namespace
}  // namespace vpnfleet::ike::v2
