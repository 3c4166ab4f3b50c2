// Published AEAD vectors run through EspTransform::Open as ESP packets: the
// SPI and sequence number are the vector's AAD (RFC 4106 §5, RFC 7634 §2.1:
// SPI || 32-bit sequence, or SPI || 64-bit ESN), the nonce is the salt from
// the key material || the packet's 8-byte IV. A vector opens only if our
// nonce and AAD construction is exactly the RFC's.
//
// Sources (each case names its section):
//   draft-mcgrew-gcm-test-01 "Test Cases for the use of GCM in ESP"
//     (the RFC 4106 test cases), pages 6-20.
//   RFC 8439 (was RFC 7539) §2.8.2, the ChaCha20-Poly1305 AEAD example;
//     its 12-byte AAD is read as SPI 0x50515253 with ESN 0xc0c1c2c3c4c5c6c7.
//   RFC 3602 §4, cases 5 (transport) and 7 (tunnel): AES-CBC ESP packets
//     without integrity. Our CBC SAs always carry an HMAC, so the test
//     appends an ICV computed with IcvMac (itself checked against RFC 4868
//     and RFC 2202 in icv_vectors_test.cc) and then opens the RFC's packet.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "services/dataplane/crypto/esp_transform.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

struct Vector {
  const char* source;
  cv1::EncryptionAlgorithm alg;
  const char* key_salt;
  const char* iv;
  const char* aad;  // SPI || seq (8 bytes) or SPI || ESN (12 bytes)
  const char* ciphertext;
  const char* tag;
  const char* plaintext;  // empty: checked through the ESP trailer only
};

const Vector kVectors[] = {
    {"draft-mcgrew-gcm-test-01 p.6 (AES-128, ESN)", cv1::ENCRYPTION_AES_GCM_128,
     "4c80cdefbb5d10da906ac73c3613a634 2e443b68", "4956ed7e3b244cfe",
     "00004321 8765432100000000",
     "fecf537e729d5b07dc30df528dd22b76 8d1b98736696a6fd348509fa13ceac34"
     "cfa2436f14a3f3cf65925bf1f4a13c5d 15b21e1884f5ff6247aeabb786b93bce"
     "61bc17d768fd9732",
     "459018148f6cbe722fd04796562dfdb4",
     "45000048699a000080114db7c0a80102 c0a801010a9bf15638d3010000010000"
     "00000000045f736970045f7564700373 69700963796265726369747902646b00"
     "0021000101020201"},
    {"draft-mcgrew-gcm-test-01 p.7 (AES-128)", cv1::ENCRYPTION_AES_GCM_128,
     "feffe9928665731c6d6a8f9467308308 cafebabe", "facedbaddecaf888", "0000a5f8 0000000a",
     "deb22cd9b07c72c16e3a65beeb8df304 a5a5897d33ae530f1ba76d5d114d2a5c"
     "3de81827c10e9a4f51330d0eec416642 cfbb85a5b47e48a4ec3b9ba95d918bd1",
     "83b70d3aa8bc6ee4c309e9d85a41ad4a", ""},
    {"draft-mcgrew-gcm-test-01 p.8 (AES-256)", cv1::ENCRYPTION_AES_GCM_256,
     "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 11223344",
     "0102030405060708", "4a2cbfe3 00000002",
     "ff425c9b724599df7a3bcd510194e00d 6a78107f1b0b1cbf06efae9d65a5d763"
     "748a637985771d347f0545659f14e99d ef842d8e",
     "b335f4eecfdbf831824b4c4915956c96", ""},
    {"draft-mcgrew-gcm-test-01 p.13 (AES-256, ESN)", cv1::ENCRYPTION_AES_GCM_256,
     "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 73616c74",
     "616e640169766563", "17405e67 156f3126dd0db99b",
     "f2d69ecdbd5a0d5b8d5ef38bad4da58d 1f278fde98ef67549d524a3018d9a57f"
     "f4d3a31ce673119e",
     "451626c2415771e3b7eebca614c89b35", ""},
    {"draft-mcgrew-gcm-test-01 p.15 (AES-256, ESN)", cv1::ENCRYPTION_AES_GCM_256,
     "abbccddef00112233445566778899aab abbccddef00112233445566778899aab 73616c74",
     "616e640169766563", "17405e67 156f3126dd0db99b",
     "d4b7ed86a1777f2ea13d6973d324c69e 7b43f826fb56831226508bebd2dceb18"
     "d0a6df10e5487df074113e14c641024e 3e6773d91a62ee429b043a10e3efe6b0"
     "12a49363412364f8",
     "c0cac587f249e56b11e24f30e44ccc76", ""},
    {"draft-mcgrew-gcm-test-01 p.17 (AES-256, ESN all ones)", cv1::ENCRYPTION_AES_GCM_256,
     "6c6567616c697a656d6172696a75616e 61616e64646f69746265666f72656961 7475726e",
     "333021696765746d", "796b6963 ffffffffffffffff",
     "f97ab2aa356d8edce17644ac8c78e25d d24dedbb29ebf1b64a274b39b49c3a86"
     "4cd3d78ca4ae68a32b42458fb57dbe82 1dcc63b9",
     "d0937ba2945f669368661a329fb4c053", ""},
    {"draft-mcgrew-gcm-test-01 p.20 (AES-128, ESN)", cv1::ENCRYPTION_AES_GCM_128,
     "4c80cdefbb5d10da906ac73c3613a634 22433c64", "4855ec7d3a234bfd",
     "00004321 8765432100000007",
     "74752e8aeb5d873cd7c0f4acc36c4bff 84b7d7b98f0ca8b6acda6894bc619069",
     "ef9cbc28fe1b56a7c4e0d58c86cd2bc0", ""},
    {"RFC 8439 §2.8.2 (ChaCha20-Poly1305, ESN)", cv1::ENCRYPTION_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f 07000000",
     "4041424344454647", "50515253 c0c1c2c3c4c5c6c7",
     "d31a8d34648e60db7b86afbc53ef7ec2 a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b 1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58 fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b 6116",
     "1ae10b594f09e26a7e902ecbd0600691",
     // "Ladies and Gentlemen of the class of '99: ..."
     "4c616469657320616e642047656e746c 656d656e206f662074686520636c6173"
     "73206f66202739393a20496620492063 6f756c64206f6666657220796f75206f"
     "6e6c79206f6e65207469702066 6f7220746865206675747572652c207375"
     "6e73637265656e20776f756c64206265 2069742e"},
};

std::string Bytes(const char* hex) {
  return absl::HexStringToBytes(absl::StrReplaceAll(hex, {{" ", ""}}));
}

class EspVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(EspVectors, OpensAsAnEspPacket) {
  const Vector& v = GetParam();
  const std::string aad = Bytes(v.aad);
  const bool esn = aad.size() == 12;
  ASSERT_TRUE(aad.size() == 8 || esn) << v.source;
  EspTransformConfig config;
  config.encryption = v.alg;
  config.encryption_key = Bytes(v.key_salt);
  config.esn = esn;
  auto t = EspTransform::Create(config);
  ASSERT_TRUE(t.ok()) << v.source << ": " << t.status();

  // SPI || low 32 bits of the sequence number || IV || ciphertext || ICV.
  const std::string iv = Bytes(v.iv), ct = Bytes(v.ciphertext), tag = Bytes(v.tag);
  std::string packet = aad.substr(0, 4) + aad.substr(aad.size() - 4) + iv + ct + tag;
  uint64_t seq = 0;
  for (size_t i = 4; i < aad.size(); ++i) seq = seq << 8 | static_cast<uint8_t>(aad[i]);
  EspView view;
  view.iv_offset = 8;
  view.ciphertext_offset = 8 + iv.size();
  view.ciphertext_size = ct.size();
  view.icv_offset = view.ciphertext_offset + ct.size();
  std::vector<uint8_t> buf(packet.begin(), packet.end());
  ASSERT_TRUE((*t)->Open(buf.data(), view, seq)) << v.source;
  const std::string plain(buf.begin() + view.ciphertext_offset,
                          buf.begin() + view.ciphertext_offset + ct.size());
  if (*v.plaintext) {
    EXPECT_EQ(absl::BytesToHexString(plain), absl::BytesToHexString(Bytes(v.plaintext)))
        << v.source;
  } else {
    // The vectors are real ESP packets: the trailer must parse.
    size_t payload = 0;
    uint8_t next_header = 0;
    EXPECT_EQ(ParseTrailer(reinterpret_cast<const uint8_t*>(plain.data()), plain.size(), &payload,
                           &next_header),
              EspError::kOk)
        << v.source;
  }

  // One bit off in the tag, the AAD's sequence number or the IV: refused.
  for (size_t flip : {view.icv_offset, size_t{7}, view.iv_offset}) {
    std::vector<uint8_t> bad(packet.begin(), packet.end());
    bad[flip] ^= 1;
    EXPECT_FALSE((*t)->Open(bad.data(), view, flip == 7 ? seq ^ 1 : seq)) << v.source << " " << flip;
  }
  if (esn) {  // the high half is authenticated though not sent
    std::vector<uint8_t> again(packet.begin(), packet.end());
    EXPECT_FALSE((*t)->Open(again.data(), view, seq ^ (uint64_t{1} << 40))) << v.source;
  }
}

INSTANTIATE_TEST_SUITE_P(Published, EspVectors, ::testing::ValuesIn(kVectors),
                         [](const ::testing::TestParamInfo<Vector>& info) {
                           return "vector" + std::to_string(info.index);
                         });

struct CbcCase {
  const char* source;
  const char* key;
  const char* packet;  // SPI, sequence number, IV, ciphertext
  uint8_t next_header;
  const char* payload;
};

const CbcCase kCbcCases[] = {
    {"RFC 3602 case 5 (transport, ping)", "90d382b410eeba7ad938c46cec1a82bf",
     "00004321 00000001 e96e8c08ab465763fd098d45dd3ff893"
     "f663c25d325c18c6a9453e194e120849 a4870b66cc6b9965330013b4898dc856"
     "a4699e523a55db080b59ec3a8e4b7e52 775b07d1db34ed9c538ab50c551b874a"
     "a269add047ad2d5913ac19b7cfbad4a6",
     1,
     "08000ebda70a00008e9c083db95b0700 08090a0b0c0d0e0f1011121314151617"
     "18191a1b1c1d1e1f2021222324252627 28292a2b2c2d2e2f3031323334353637"},
    {"RFC 3602 case 7 (tunnel, ping)", "0123456789abcdef0123456789abcdef",
     "00008765 00000002 f4e765244f6407adf13dc1380f673f37"
     "773b5241a4c449225e4f3ce5ed611b0c 237ca96cf74a93013c1b0ea1a0cf70f8"
     "e4ecaec78ac53aad7a0f022b859243c6 47752e94a859352b8a4d4d2decd136e5"
     "c177f132ad3fbfb2201ac9904c74ee0a 109e0ca1e4dfe9d5a100b842f1c22f0d",
     4,
     "450000540904000040 01f988c0a87b03c0a87bc8 08009f76a90a0100b49c083d"
     "02a2040008090a0b0c0d0e0f10111213 1415161718191a1b1c1d1e1f20212223"
     "2425262728292a2b2c2d2e2f30313233 34353637"},
};

TEST(Rfc3602, CbcEspPacketsOpen) {
  const std::string akey(32, 'a');
  for (const CbcCase& c : kCbcCases) {
    EspTransformConfig cfg;
    cfg.encryption = cv1::ENCRYPTION_AES_CBC_128;
    cfg.encryption_key = Bytes(c.key);
    cfg.integrity = cv1::INTEGRITY_HMAC_SHA2_256_128;
    cfg.integrity_key = akey;
    auto t = EspTransform::Create(cfg);
    ASSERT_TRUE(t.ok()) << t.status();
    std::string packet = Bytes(c.packet);
    auto mac = IcvMac::Create(cfg.integrity, akey, false);
    ASSERT_TRUE(mac.ok());
    uint8_t icv[16];
    ASSERT_TRUE((*mac)->Begin() &&
                (*mac)->Update(reinterpret_cast<const uint8_t*>(packet.data()), packet.size()) &&
                (*mac)->Finish(icv));
    packet.append(reinterpret_cast<char*>(icv), sizeof icv);
    std::vector<uint8_t> buf(packet.begin(), packet.end());
    EspView view;
    ASSERT_EQ(ParseEsp(buf.data(), buf.size(), (*t)->layout(), &view), EspError::kOk) << c.source;
    const uint64_t seq = view.seq_low;
    ASSERT_TRUE((*t)->Open(buf.data(), view, seq)) << c.source;
    size_t payload = 0;
    uint8_t next_header = 0;
    ASSERT_EQ(ParseTrailer(buf.data() + view.ciphertext_offset, view.ciphertext_size, &payload,
                           &next_header),
              EspError::kOk)
        << c.source;
    EXPECT_EQ(next_header, c.next_header) << c.source;
    EXPECT_EQ(absl::BytesToHexString(std::string(buf.begin() + view.ciphertext_offset,
                                                 buf.begin() + view.ciphertext_offset + payload)),
              absl::BytesToHexString(Bytes(c.payload)))
        << c.source;
  }
}

}  // namespace
}  // namespace vpnfleet::dataplane
