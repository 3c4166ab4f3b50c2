// Expected values come from keymat/testdata/ikev1_vectors.py, an
// independent computation with Python's hmac and hashlib of RFC 2409's
// formulas over the same inputs.
#include "services/ike/keymat/ikev1_keys.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::ikev1 {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }
std::string ToHex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

std::string Range(int first, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(first + i));
  return s;
}

struct Inputs {
  std::string psk = "fleet-preshared-key";
  std::string ni = Range(1, 16);
  std::string nr = Range(0x21, 24);
  std::string gxy = std::string(256, '\x33');
  std::string gxi = std::string(256, '\x44');
  std::string gxr = std::string(256, '\x55');
  std::string cky_i = Hex("0102030405060708");
  std::string cky_r = Hex("1112131415161718");
  std::string sai_b = Hex("00000001000000010000002c");
  std::string idii_b = Hex("01000000c0000201");
  std::string idir_b = Hex("01000000c6336401");
};

Hash Sha256() { return *Hash::ForId(static_cast<uint16_t>(HashId::kSha2_256), false); }

TEST(Ikev1Keys, SkeyidForEachAuthenticationMethod) {
  const Inputs in;
  const Hash h = Sha256();
  EXPECT_EQ(ToHex(SkeyidPsk(h, in.psk, in.ni, in.nr).view()),
            "519522f3083d168ead1a837ef637c5745e25866ef2ca165e49143cffdedc8bd3");
  EXPECT_EQ(ToHex(SkeyidSignature(h, in.ni, in.nr, in.gxy).view()),
            "d66213e2b69233b3a7bb6657414e205c2c355b92f6f3b06427a0f6a4f642692b");
  EXPECT_EQ(ToHex(SkeyidEncryptedNonces(h, in.ni, in.nr, in.cky_i, in.cky_r).view()),
            "85f9bc9a0ac0ca2d784448766939846184a601cc426a5925b838bd8a9dcd3a16");
}

TEST(Ikev1Keys, Phase1KeysIvAndHashes) {
  const Inputs in;
  const Hash h = Sha256();
  auto k = DerivePhase1(h, SkeyidPsk(h, in.psk, in.ni, in.nr), in.gxy, in.cky_i, in.cky_r,
                        in.gxi, in.gxr, 32, 16);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(ToHex(k->skeyid_d.view()),
            "435eaf375ef9b9b94323b817e0f9741696941f27e9b6163f27d8d0876616933f");
  EXPECT_EQ(ToHex(k->skeyid_a.view()),
            "39f0eb203920d97d3e290928296d23e0ea239b7daf2c0fd478483471d2a3bc22");
  EXPECT_EQ(ToHex(k->skeyid_e.view()),
            "6e617d2d750ace386e58fa700af4812e4e2223070956c6e3f64e810762caa8d7");
  EXPECT_EQ(ToHex(k->encryption_key.view()), ToHex(k->skeyid_e.view()));
  EXPECT_EQ(ToHex(k->iv), "f7a78f39d63ac4f93e99723c55b494ca");
  EXPECT_EQ(ToHex(PhaseOneHash(h, k->skeyid.view(), true, in.gxi, in.gxr, in.cky_i, in.cky_r,
                               in.sai_b, in.idii_b)),
            "8f5ccd4aa14555ef34779d2d398eaf805059a27353a9f4ff9ba4d0f43955ccec");
  EXPECT_EQ(ToHex(PhaseOneHash(h, k->skeyid.view(), false, in.gxi, in.gxr, in.cky_i, in.cky_r,
                               in.sai_b, in.idir_b)),
            "9a1866bb5376fcea9ee9157d5b423eeb9e2fefe80f6a431fdc3a06880fe5b724");
  EXPECT_EQ(ToHex(QuickModeHash3(h, k->skeyid_a.view(), 0x9abcdef0, in.ni, in.nr)),
            "9b11038a4d49c1a30aca652a928f99e065a769aa62ee1637baf7e9dbe133e228");
}

TEST(Ikev1Keys, AppendixBStretchesAShortSkeyidE) {
  // SHA-1 gives 20 octets; AES-256 needs 32: K1 | K2 cut to 32.
  const Inputs in;
  const Hash h = *Hash::ForId(static_cast<uint16_t>(HashId::kSha1), false);
  auto k = DerivePhase1(h, SkeyidPsk(h, in.psk, in.ni, in.nr), in.gxy, in.cky_i, in.cky_r,
                        in.gxi, in.gxr, 32, 16);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(ToHex(k->skeyid_e.view()), "90275d4bdc64c6e46bdc6793c42f7e8b1af4430b");
  EXPECT_EQ(ToHex(k->encryption_key.view()),
            "b02986522abbcfb99ef69cf31d53871c34d3cdc77b394bacfde1095ef7bac0ea");
}

TEST(Ikev1Keys, Phase2IvFromTheLastPhase1Block) {
  EXPECT_EQ(ToHex(Phase2Iv(Sha256(), Range(0xa0, 16), 0x9abcdef0, 16)),
            "ea61940cb8541c7d2c962b427effd8bb");
}

TEST(Ikev1Keys, QuickModeKeymatWithAndWithoutPfs) {
  const Inputs in;
  const Hash h = Sha256();
  const std::string skeyid_d =
      Hex("435eaf375ef9b9b94323b817e0f9741696941f27e9b6163f27d8d0876616933f");
  auto pfs = QuickModeKeymat(h, skeyid_d, std::string(32, '\x66'), 3, 0xc0ffee01, in.ni, in.nr,
                             64);
  ASSERT_TRUE(pfs.ok());
  EXPECT_EQ(ToHex(pfs->view()),
            "93cf12bd0aa1829dfb1f1e17041c4aff0ef6f4bb4805869df459419e30bd2eaa"
            "6cdb16d4e5d5c35a9c15a5196b5c73d2e925dbc3bbca1a02772135b0b5d50213");
  auto plain = QuickModeKeymat(h, skeyid_d, "", 3, 0xc0ffee01, in.ni, in.nr, 80);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(ToHex(plain->view()),
            "3958209381b4f12ec13d677bbad34ed10aafd9a317c533c3b95b59c833713105"
            "ff93b71c136fc3d82864df38b6da2641fc8cb0d20a909456828cb43fa751f607"
            "e72d9009dd6a6cc6128bbea205b44b1d");
  EXPECT_FALSE(QuickModeKeymat(h, skeyid_d, "", 3, 1, in.ni, in.nr, 100000).ok());
}

TEST(Ikev1Keys, LegacyHashOnlyWhenAllowed) {
  EXPECT_FALSE(Hash::ForId(static_cast<uint16_t>(HashId::kMd5), false).ok());
  auto md5 = Hash::ForId(static_cast<uint16_t>(HashId::kMd5), true);
  ASSERT_TRUE(md5.ok());
  // RFC 2202 test case 2: HMAC-MD5("Jefe", "what do ya want for nothing?").
  EXPECT_EQ(ToHex(md5->Prf("Jefe", "what do ya want for nothing?").view()),
            "750c783e6ab0b503eaa86e310a5db738");
  EXPECT_FALSE(Hash::ForId(3, true).ok());  // Tiger
  // No IV wider than the hash, no key of nothing.
  const Inputs in;
  EXPECT_FALSE(DerivePhase1(*md5, SecretBytes("k"), in.gxy, in.cky_i, in.cky_r, in.gxi, in.gxr,
                            16, 32).ok());
  EXPECT_FALSE(DerivePhase1(*md5, SecretBytes("k"), in.gxy, in.cky_i, in.cky_r, in.gxi, in.gxr,
                            0, 16).ok());
}

}  // namespace
}  // namespace vpnfleet::ike::ikev1
