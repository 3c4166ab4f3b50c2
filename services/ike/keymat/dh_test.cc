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

// RFC 5114 Appendix A.3 test data, 2048-bit MODP group with a 256-bit
// prime-order subgroup (IKE group 24, IOS `group 24`).
TEST(Dh, Rfc5114Group24) {
  const std::string xa = Bytes(
      "0881382CDB87660C6DC13E614938D5B9C8B2F248581CC5E31B35454397FCE50E");
  const std::string ya = Bytes(
      "2E9380C8323AF97545BC4941DEB0EC3742C62FE0ECE824A6ABDBE66C59BEE024"
      "2911BFB967235CEBA35AE13E4EC752BE630B92DC4BDE2847A9C62CB815274542"
      "1FB7EB60A63C0FE9159FCCE726CE7CD8523D7450667EF840E4919121EB5F01C8"
      "C9B0D3D648A93BFB75689E8244AC134AF544711CE79A02DCC34226684780DDDC"
      "B498594106C37F5BC79856487AF5AB022A2E5E42F09897C1A85A11EA0212AF04"
      "D9B4CEBC937C3C1A3E15A8A0342E337615C84E7FE3B8B9B87FB1E73A15AF12A3"
      "0D746E06DFC34F290D797CE51AA13AA785BF6658AFF5E4B093003CBEAF665B3C"
      "2E113A3A4E905269341DC0711426685F4EF37E868A8126FF3F2279B57CA67E29");
  const std::string xb = Bytes(
      "7D62A7E3EF36DE617B13D1AFB82C780D83A23BD4EE6705645121F371F546A53D");
  const std::string yb = Bytes(
      "575F0351BD2B1B817448BDF87A6C362C1E289D3903A30B9832C5741FA250363E"
      "7ACBC7F77F3DACBC1F131ADD8E03367EFF8FBBB3E1C5784424809B25AFE4D226"
      "2A1A6FD2FAB64105CA30A674E07F7809852088632FC049233791AD4EDD083A97"
      "8B883EE618BC5E0DD047415F2D95E683CF14826B5FBE10D3CE41C6C120C78AB2"
      "0008C698BF7F0BCAB9D7F407BED0F43AFB2970F57F8D12043963E66DDD320D59"
      "9AD9936C8F44137C08B180EC5E985CEBE186F3D549677E80607331EE17AF3380"
      "A725B0782317D7DD43F59D7AF9568A9BB63A84D365F92244ED120988219302F4"
      "2924C7CA90B89D24F71B0AB697823D7DEB1AFF5B0E8E4A45D49F7F53757E1913");
  const std::string z =
      "86c70bf8d0bb81bb01078a17219cb7d27203db2a19c877f1d1f19fd7d77ef225"
      "46a68f005ad52dc84553b78fc60330be51ea7c0672cac1515e4b35c047b9a551"
      "b88f39dc26da14a09ef74774d47c762dd177f9ed5bc2f11e52c879bd95098504"
      "cd9eecd8a8f9b3efbd1f008ac5853097d9d1837f2b18f77cd7be01af80a7c7b5"
      "ea3ca54cc02d0c116fee3f95bb87399385875d7e86747e676e728938acbff709"
      "8e05be4dcfb24052b83aeffb14783f029adbde7f53fae92084224090e007cee9"
      "4d4bf2bace9ffd4b57d2af7c724d0caa19bf0501f6f17b4aa10f425e3ea76080"
      "b4b9d6b3cefea115b2ceb8789bb8a3b0ea87febe63b6c8f846ec6db0c26c5d7c";
  auto a = DhExchange::FromPrivate(24, xa, ya);
  auto b = DhExchange::FromPrivate(24, xb, yb);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  auto s1 = a->Compute(yb);
  auto s2 = b->Compute(ya);
  ASSERT_TRUE(s1.ok()) << s1.status();
  ASSERT_TRUE(s2.ok()) << s2.status();
  EXPECT_EQ(Hex(s1->view()), z);
  EXPECT_EQ(Hex(s2->view()), z);
  // RFC 6989 §2.2: a value outside the order-q subgroup is refused. 2 is in
  // range (1 < 2 < p-1) but 2^q mod p is not 1 for this group.
  std::string two(256, '\0');
  two[255] = 2;
  EXPECT_FALSE(a->Compute(two).ok());
  // Legacy (RFC 8247 SHOULD NOT): only with the switch.
  EXPECT_EQ(DhExchange::Generate(24).status().code(), absl::StatusCode::kFailedPrecondition);
  auto fresh_a = DhExchange::Generate(24, /*allow_legacy=*/true);
  auto fresh_b = DhExchange::Generate(24, /*allow_legacy=*/true);
  ASSERT_TRUE(fresh_a.ok()) << fresh_a.status();
  ASSERT_TRUE(fresh_b.ok());
  EXPECT_EQ(fresh_a->public_value().size(), 256u);
  auto f1 = fresh_a->Compute(fresh_b->public_value());
  auto f2 = fresh_b->Compute(fresh_a->public_value());
  ASSERT_TRUE(f1.ok() && f2.ok());
  EXPECT_EQ(f1->view(), f2->view());
  EXPECT_EQ(f1->size(), 256u);
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
