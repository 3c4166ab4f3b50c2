#include "services/ike/keymat/dh.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

std::string Bytes(absl::string_view spaced_hex) {
  return absl::HexStringToBytes(absl::StrReplaceAll(spaced_hex, {{" ", ""}}));
}
std::string Hex(absl::string_view b) { return absl::BytesToHexString(b); }

// RFC 5903 §8.1, 256-bit random ECP group (IKE group 19): the KE data is
// x | y and g^ir is the x coordinate alone.
TEST(Dh, Rfc5903EcpGroup19) {
  const std::string i =
      Bytes("C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433");
  const std::string gi =
      Bytes("DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
            "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3");
  const std::string r =
      Bytes("C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53");
  const std::string gr =
      Bytes("D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
            "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB");
  const std::string girx = "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de";
  auto initiator = DhExchange::FromPrivate(19, i, gi);
  auto responder = DhExchange::FromPrivate(19, r, gr);
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  ASSERT_TRUE(responder.ok()) << responder.status();
  auto s1 = initiator->Compute(gr);
  auto s2 = responder->Compute(gi);
  ASSERT_TRUE(s1.ok()) << s1.status();
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_EQ(Hex(s1->view()), girx);
  EXPECT_EQ(Hex(s2->view()), girx);
  // A point off the curve is refused before any arithmetic.
  std::string off = gr;
  off[63] ^= 0x01;
  EXPECT_FALSE(initiator->Compute(off).ok());
  EXPECT_FALSE(initiator->Compute(gr.substr(1)).ok());
}

// RFC 7748 §6.1 (IKE group 31, RFC 8031).
TEST(Dh, Rfc7748X25519) {
  auto alice = DhExchange::FromPrivate(
      31, Bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = DhExchange::FromPrivate(
      31, Bytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(alice.ok() && bob.ok());
  EXPECT_EQ(Hex(alice->public_value()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(Hex(bob->public_value()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(Hex(alice->Compute(bob->public_value())->view()), k);
  EXPECT_EQ(Hex(bob->Compute(alice->public_value())->view()), k);
  // RFC 7748 §6.1 / RFC 8031 §2: an all-zero shared secret (a small-order
  // peer value) is refused.
  EXPECT_FALSE(alice->Compute(std::string(32, '\0')).ok());
}

TEST(Dh, FreshPairsAgreeInEveryGroup) {
  for (uint16_t group : {14, 15, 16, 19, 20, 21, 31}) {
    auto a = DhExchange::Generate(group);
    auto b = DhExchange::Generate(group);
    ASSERT_TRUE(a.ok()) << group << ": " << a.status();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->public_value().size(), DhExchange::PublicValueSize(group)) << group;
    auto s1 = a->Compute(b->public_value());
    auto s2 = b->Compute(a->public_value());
    ASSERT_TRUE(s1.ok()) << group << ": " << s1.status();
    ASSERT_TRUE(s2.ok());
    EXPECT_EQ(s1->view(), s2->view()) << group;
    // MODP secrets keep their leading zeros: always the prime's length.
    if (group >= 14 && group <= 16) {
      EXPECT_EQ(s1->size(), DhExchange::PublicValueSize(group));
    }
  }
}

TEST(Dh, ModpPeerValuesOutOfRangeAndLegacyGroups) {
  auto a = DhExchange::Generate(14);
  ASSERT_TRUE(a.ok());
  std::string one(256, '\0');
  one[255] = 1;
  EXPECT_FALSE(a->Compute(one).ok());
  EXPECT_FALSE(a->Compute(std::string(256, '\xff')).ok());  // above the prime
  EXPECT_FALSE(a->Compute(std::string(128, '\x42')).ok());  // wrong length
  EXPECT_EQ(DhExchange::Generate(5).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(DhExchange::Generate(5, /*allow_legacy=*/true).ok());
  EXPECT_EQ(DhExchange::Generate(2).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(DhExchange::Generate(99).ok());
}

TEST(Dh, OakleyGroups1And2BehindTheLegacySwitch) {
  // RFC 2409 §6.1/6.2, for old IKEv1 peers (`group 2` in IOS configurations).
  for (uint16_t group : {2, 1}) {
    EXPECT_FALSE(DhExchange::Generate(group).ok());
    auto a = DhExchange::Generate(group, true);
    auto b = DhExchange::Generate(group, true);
    ASSERT_TRUE(a.ok()) << group << ": " << a.status();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(a->public_value().size(), group == 1 ? 96u : 128u);
    auto s1 = a->Compute(b->public_value());
    auto s2 = b->Compute(a->public_value());
    ASSERT_TRUE(s1.ok()) << s1.status();
    ASSERT_TRUE(s2.ok());
    EXPECT_EQ(s1->view(), s2->view());
    EXPECT_EQ(s1->size(), a->public_value().size());
    // p - 1 (all ones but the last bit of the prime) is no valid public value.
    std::string p_minus_1(a->public_value().size(), '\xff');
    p_minus_1.back() = '\xfe';
    EXPECT_FALSE(a->Compute(p_minus_1).ok());
  }
}

}  // namespace
}  // namespace vpnfleet::ike
