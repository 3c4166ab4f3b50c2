#include "services/ike/keymat/prf.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

std::string Hex(absl::string_view b) { return absl::BytesToHexString(b); }
std::string Bytes(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// RFC 4231 §4.2 and §4.3 (test cases 1 and 2) through every SHA-2 PRF.
TEST(Prf, Rfc4231HmacSha2Vectors) {
  const std::string key1(20, '\x0b');
  const std::string data1 = "Hi There";
  const std::string key2 = "Jefe";
  const std::string data2 = "what do ya want for nothing?";
  struct Case {
    PrfId id;
    const char* tc1;
    const char* tc2;
  } cases[] = {
      {PrfId::kHmacSha2_256, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {PrfId::kHmacSha2_384,
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"},
      {PrfId::kHmacSha2_512,
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
  };
  for (const Case& c : cases) {
    auto prf = Prf::ForId(static_cast<uint16_t>(c.id));
    ASSERT_TRUE(prf.ok());
    EXPECT_EQ(Hex(prf->Compute(key1, data1).view()), c.tc1);
    EXPECT_EQ(Hex(prf->Compute(key2, data2).view()), c.tc2);
  }
  EXPECT_FALSE(Prf::ForId(4).ok());  // AES128_CBC PRF: not offered
}

// NIST CAVS SP 800-135 IKEv2 KDF sample (SHA-1, DKM of 132 octets), the
// vector libreswan's CAVP tool prints in its source: SKEYSEED, the IKE SA
// keying material, a CHILD SA's keying material without and with PFS,
// and the SKEYSEED of an IKE SA rekey.
TEST(KeySchedule, NistCavsIkev2KdfSha1) {
  auto prf = Prf::ForId(static_cast<uint16_t>(PrfId::kHmacSha1));
  ASSERT_TRUE(prf.ok());
  const std::string gir = Bytes("4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52");
  const std::string gir_new =
      Bytes("863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330");
  const std::string ni = Bytes("32b50d5f4a3763f3"), nr = Bytes("9206a04b26564cb1");
  const uint64_t spi_i = 0x34c9e7c188868785ULL, spi_r = 0x3ff77d760d2b2199ULL;

  SecretBytes skeyseed = SkeySeed(*prf, ni, nr, gir);
  EXPECT_EQ(Hex(skeyseed.view()), "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7");

  // DKM = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr), 132 octets: SK_d (20),
  // SK_ai/SK_ar (20 each, HMAC-SHA1-96 keys), SK_ei/SK_er (16 each), SK_pi/SK_pr (20 each).
  const std::string dkm_hex =
      "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b7660"
      "6f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed"
      "41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4";
  auto keys = DeriveIkeSaKeys(*prf, skeyseed.view(), ni, nr, spi_i, spi_r, {20, 16});
  ASSERT_TRUE(keys.ok());
  const std::string all = absl::StrCat(keys->sk_d.view(), keys->sk_ai.view(), keys->sk_ar.view(),
                                       keys->sk_ei.view(), keys->sk_er.view(), keys->sk_pi.view(),
                                       keys->sk_pr.view());
  EXPECT_EQ(Hex(all), dkm_hex);

  auto child = ChildKeyMaterial(*prf, keys->sk_d.view(), "", ni, nr, 132);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(Hex(child->view()),
            "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c5811a8e7b5d1cdabd9560b2d5"
            "e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee71814ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8"
            "fe20754a2d883ba0c2cf285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e664994d234cb4");
  auto pfs = ChildKeyMaterial(*prf, keys->sk_d.view(), gir_new, ni, nr, 132);
  ASSERT_TRUE(pfs.ok());
  EXPECT_EQ(Hex(pfs->view()),
            "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d37301628190e38c66232eab4b3ab"
            "14c400a5197dd3730ed4820a8a10394d51e1c0400052f63ebd36b0e7ef53aaed31eba4a5080d7d4b566602"
            "3a8bbb5ffb7857240f9a05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054d56fd74c");
  EXPECT_EQ(Hex(RekeySkeySeed(*prf, keys->sk_d.view(), gir_new, ni, nr).view()),
            "63e81194946ebd05df7df5ebf5d8750056bf1f1d");
}

TEST(Prf, PlusStopsAt255Blocks) {
  auto prf = Prf::ForId(static_cast<uint16_t>(PrfId::kHmacSha2_256));
  ASSERT_TRUE(prf.ok());
  EXPECT_TRUE(prf->Plus("k", "s", 255 * 32).ok());
  EXPECT_FALSE(prf->Plus("k", "s", 255 * 32 + 1).ok());
  // prf+ output is a prefix-stable stream: a shorter request is a prefix.
  EXPECT_EQ(prf->Plus("k", "s", 100)->view(), prf->Plus("k", "s", 200)->view().substr(0, 100));
}

}  // namespace
}  // namespace vpnfleet::ike
