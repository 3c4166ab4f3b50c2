#include "services/ike/crypto/sk_cipher.h"

#include <openssl/evp.h>

#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

struct Suite {
  const char* name;
  uint16_t encr, bits, integ;
};
constexpr Suite kSuites[] = {
    {"aes128cbc-sha256", kEncrAesCbc, 128, kIntegHmacSha2_256_128},
    {"aes256cbc-sha512", kEncrAesCbc, 256, kIntegHmacSha2_512_256},
    {"aes192cbc-sha384", kEncrAesCbc, 192, kIntegHmacSha2_384_192},
    {"aes128cbc-sha1", kEncrAesCbc, 128, kIntegHmacSha1_96},
    {"aes128gcm16", kEncrAesGcm16, 128, 0},
    {"aes256gcm16", kEncrAesGcm16, 256, 0},
    {"chacha20poly1305", kEncrChaCha20Poly1305, 256, 0},
};

SkCipher Make(const Suite& s, char fill = 'k') {
  auto l = SkCipher::KeyLengths(s.encr, s.bits, s.integ);
  EXPECT_TRUE(l.ok()) << s.name;
  auto c = SkCipher::Create(s.encr, s.bits, s.integ, SecretBytes(std::string(l->encr, fill)),
                            SecretBytes(std::string(l->integ, static_cast<char>(fill + 1))));
  EXPECT_TRUE(c.ok()) << s.name << ": " << c.status();
  return std::move(*c);
}

v2::Header AuthHeader() {
  v2::Header h;
  h.initiator_spi = 0x1111111111111111ULL;
  h.responder_spi = 0x2222222222222222ULL;
  h.exchange_type = static_cast<uint8_t>(v2::ExchangeType::kIkeAuth);
  h.flags = v2::kFlagInitiator;
  h.message_id = 1;
  return h;
}

TEST(SkCipher, SealOpenEverySuiteAndRefuseEveryTamperedOctet) {
  const std::string inner = "IDi|AUTH|SA|TSi|TSr as an encoded chain, any length: 37 o";
  for (const Suite& s : kSuites) {
    SkCipher c = Make(s);
    const std::string iv(c.iv_size(), '\x5a');
    auto wire = c.Seal(AuthHeader(), 35, inner, iv);
    ASSERT_TRUE(wire.ok()) << s.name << ": " << wire.status();
    EXPECT_EQ(wire->find("IDi|AUTH"), std::string::npos) << s.name;
    auto opened = c.Open(*wire);
    ASSERT_TRUE(opened.ok()) << s.name << ": " << opened.status();
    EXPECT_EQ(opened->inner, inner);
    EXPECT_EQ(opened->first_inner, 35);
    EXPECT_EQ(opened->header.message_id, 1u);
    // The ICV covers the header, the SK header, the IV and the ciphertext:
    // one flipped bit anywhere is refused. (Octets 16..27 of the header are
    // covered too; the decoder refuses some first.)
    for (size_t at = 0; at < wire->size(); ++at) {
      std::string bad = *wire;
      bad[at] ^= 0x01;
      EXPECT_FALSE(c.Open(bad).ok()) << s.name << " octet " << at;
    }
    // Another key does not open it.
    EXPECT_FALSE(Make(s, 'q').Open(*wire).ok()) << s.name;
  }
}

// The AEAD framing against a direct EVP computation: nonce = salt | IV,
// AAD = IKE header | SK payload header (RFC 5282 §5.1), Pad Length 0.
TEST(SkCipher, GcmFramingMatchesRfc5282) {
  const Suite s = kSuites[4];
  const std::string key(16, 'k'), salt(4, 'k');
  SkCipher c = Make(s);
  const std::string iv = "12345678";
  const std::string inner = "payloads";
  auto wire = c.Seal(AuthHeader(), 35, inner, iv);
  ASSERT_TRUE(wire.ok());
  const std::string aad = wire->substr(0, 32);
  EXPECT_EQ(wire->substr(32, 8), iv);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr, nullptr), 1);
  ASSERT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr), 1);
  const std::string nonce = salt + iv;
  ASSERT_EQ(EVP_EncryptInit_ex(ctx, nullptr, nullptr,
                               reinterpret_cast<const unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(nonce.data())), 1);
  int n = 0;
  EVP_EncryptUpdate(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                    static_cast<int>(aad.size()));
  const std::string plain = inner + std::string(1, '\0');
  unsigned char ct[64], tag[16];
  EVP_EncryptUpdate(ctx, ct, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  int fin = 0;
  EVP_EncryptFinal_ex(ctx, ct + n, &fin);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_EQ(wire->substr(40, plain.size()), std::string(reinterpret_cast<char*>(ct), n + fin));
  EXPECT_EQ(wire->substr(wire->size() - 16), std::string(reinterpret_cast<char*>(tag), 16));
}

TEST(SkCipher, SuitesAndSizesAreChecked) {
  EXPECT_FALSE(SkCipher::KeyLengths(kEncrAesCbc, 128, 0).ok());           // CBC needs integrity
  EXPECT_FALSE(SkCipher::KeyLengths(kEncrAesGcm16, 128, 12).ok());        // AEAD takes none
  EXPECT_FALSE(SkCipher::KeyLengths(kEncrAesCbc, 100, 12).ok());
  EXPECT_FALSE(SkCipher::KeyLengths(3, 0, 2).ok());                       // 3DES: not for IKE SAs here
  EXPECT_EQ(SkCipher::KeyLengths(kEncrAesGcm16, 256, 0)->encr, 36u);      // key + salt
  EXPECT_EQ(SkCipher::KeyLengths(kEncrChaCha20Poly1305, 0, 0)->encr, 36u);
  EXPECT_FALSE(SkCipher::Create(kEncrAesGcm16, 128, 0, SecretBytes("short"), SecretBytes()).ok());
  SkCipher c = Make(kSuites[0]);
  EXPECT_FALSE(c.Seal(AuthHeader(), 35, "x", "short iv").ok());
  // A message without SK, and an SK too short for an IV and an ICV.
  v2::Message plain;
  plain.header = AuthHeader();
  EXPECT_FALSE(c.Open(*v2::Encode(plain)).ok());
  v2::Payload sk;
  sk.type = static_cast<uint8_t>(v2::PayloadType::kSk);
  sk.body = v2::SkPayload{35, std::string(20, 'x')};
  plain.payloads.push_back(sk);
  EXPECT_FALSE(c.Open(*v2::Encode(plain)).ok());
}

// RFC 7383 §2.5: each SKF fragment is protected on its own; its header
// (fragment number, total) is covered, so a fragment cannot be renumbered.
TEST(SkCipher, FragmentsSealAndOpenOnTheirOwn) {
  for (const Suite& s : kSuites) {
    SkCipher c = Make(s);
    const std::string iv(c.iv_size(), '\x33');
    auto second = c.Seal(AuthHeader(), 35, "the second piece", iv, 2, 3);
    ASSERT_TRUE(second.ok()) << s.name << ": " << second.status();
    EXPECT_LE(second->size(), c.Overhead(true) + 16);
    auto opened = c.Open(*second);
    ASSERT_TRUE(opened.ok()) << s.name << ": " << opened.status();
    EXPECT_EQ(opened->inner, "the second piece");
    EXPECT_EQ(opened->fragment_number, 2);
    EXPECT_EQ(opened->total_fragments, 3);
    EXPECT_EQ(opened->first_inner, 0);  // only fragment 1 names the first payload
    auto first = c.Open(*c.Seal(AuthHeader(), 35, "piece one", iv, 1, 3));
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->first_inner, 35);
    // Renumbered (octets 32..33 hold the fragment number): refused.
    std::string renumbered = *second;
    renumbered[33] = 3;
    EXPECT_FALSE(c.Open(renumbered).ok()) << s.name;
    EXPECT_FALSE(c.Seal(AuthHeader(), 35, "x", iv, 4, 3).ok());
    EXPECT_FALSE(c.Seal(AuthHeader(), 35, "x", iv, 0, 3).ok());
  }
}

}  // namespace
}  // namespace vpnfleet::ike
