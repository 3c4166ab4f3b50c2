#include "services/dataplane/crypto/esp_transform.h"

#include <vector>

#include "common/crypto/algorithms.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

struct Case {
  const char* name;
  cv1::EncryptionAlgorithm enc;
  cv1::IntegrityAlgorithm integ;
};

const Case kCases[] = {
    {"aes128gcm16", cv1::ENCRYPTION_AES_GCM_128, cv1::INTEGRITY_UNSPECIFIED},
    {"aes256gcm16", cv1::ENCRYPTION_AES_GCM_256, cv1::INTEGRITY_UNSPECIFIED},
    {"chacha20poly1305", cv1::ENCRYPTION_CHACHA20_POLY1305, cv1::INTEGRITY_UNSPECIFIED},
    {"aes128-sha1", cv1::ENCRYPTION_AES_CBC_128, cv1::INTEGRITY_HMAC_SHA1_96},
    {"aes192-sha256", cv1::ENCRYPTION_AES_CBC_192, cv1::INTEGRITY_HMAC_SHA2_256_128},
    {"aes256-sha384", cv1::ENCRYPTION_AES_CBC_256, cv1::INTEGRITY_HMAC_SHA2_384_192},
    {"aes256-sha512", cv1::ENCRYPTION_AES_CBC_256, cv1::INTEGRITY_HMAC_SHA2_512_256},
    {"null-sha256", cv1::ENCRYPTION_NULL, cv1::INTEGRITY_HMAC_SHA2_256_128},
    {"3des-md5", cv1::ENCRYPTION_3DES, cv1::INTEGRITY_HMAC_MD5_96},
    {"des-sha1", cv1::ENCRYPTION_DES, cv1::INTEGRITY_HMAC_SHA1_96},
};

EspTransformConfig Config(const Case& c, bool esn, char key_byte = 'k') {
  EspTransformConfig cfg;
  cfg.encryption = c.enc;
  cfg.encryption_key = std::string(crypto::EncryptionKeyLength(c.enc), key_byte);
  cfg.integrity = c.integ;
  cfg.integrity_key = std::string(crypto::IntegrityKeyLength(c.integ), key_byte);
  cfg.esn = esn;
  cfg.allow_legacy = true;
  return cfg;
}

// Builds a sealed packet around `payload` the way the encrypt node will.
std::vector<uint8_t> SealPacket(EspTransform& t, const std::vector<uint8_t>& payload, uint64_t seq) {
  const EspLayout& l = t.layout();
  const size_t pad = PaddingFor(payload.size(), l.block_size);
  std::vector<uint8_t> pkt(kEspHeaderSize + l.iv_size + payload.size() + pad + 2 + l.icv_size);
  WriteEspHeader(pkt.data(), 0x1000, static_cast<uint32_t>(seq));
  uint8_t* text = pkt.data() + kEspHeaderSize + l.iv_size;
  std::copy(payload.begin(), payload.end(), text);
  WriteTrailer(text + payload.size(), pad, 4);
  size_t n = t.Seal(pkt.data(), payload.size() + pad + 2, seq);
  EXPECT_EQ(n, pkt.size());
  return pkt;
}

bool OpenPacket(EspTransform& t, std::vector<uint8_t> pkt, uint64_t seq, std::vector<uint8_t>* out) {
  EspView v;
  if (ParseEsp(pkt.data(), pkt.size(), t.layout(), &v) != EspError::kOk) return false;
  if (!t.Open(pkt.data(), v, seq)) return false;
  size_t payload = 0;
  uint8_t nh = 0;
  if (ParseTrailer(pkt.data() + v.ciphertext_offset, v.ciphertext_size, &payload, &nh) !=
      EspError::kOk) {
    return false;
  }
  out->assign(pkt.begin() + static_cast<long>(v.ciphertext_offset),
              pkt.begin() + static_cast<long>(v.ciphertext_offset + payload));
  return nh == 4;
}

TEST(EspTransform, RoundTripEveryTransformAndSize) {
  for (const Case& c : kCases) {
    for (bool esn : {false, true}) {
      auto out = EspTransform::Create(Config(c, esn));
      auto in = EspTransform::Create(Config(c, esn));
      ASSERT_TRUE(out.ok() && in.ok()) << c.name << " " << out.status() << in.status();
      for (size_t size : {0u, 1u, 20u, 64u, 1400u}) {
        std::vector<uint8_t> payload(size);
        for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 7);
        const uint64_t seq = esn ? (uint64_t{3} << 32) + 5 : 5;
        std::vector<uint8_t> pkt = SealPacket(**out, payload, seq);
        std::vector<uint8_t> got;
        ASSERT_TRUE(OpenPacket(**in, pkt, seq, &got)) << c.name << " esn " << esn << " size " << size;
        EXPECT_EQ(got, payload) << c.name;
        if (c.enc != cv1::ENCRYPTION_NULL && size >= 20) {
          // Encrypted: the payload does not appear in the packet.
          EXPECT_EQ(std::search(pkt.begin(), pkt.end(), payload.begin() + 1, payload.begin() + 20),
                    pkt.end()) << c.name;
        }
      }
    }
  }
}

TEST(EspTransform, AnyFlippedBitIsRejected) {
  for (const Case& c : kCases) {
    auto out = EspTransform::Create(Config(c, false));
    auto in = EspTransform::Create(Config(c, false));
    ASSERT_TRUE(out.ok() && in.ok());
    std::vector<uint8_t> payload(60, 0x42);
    std::vector<uint8_t> pkt = SealPacket(**out, payload, 9);
    std::vector<uint8_t> got;
    // SPI, sequence number, IV, ciphertext and ICV are all covered.
    for (size_t i = 0; i < pkt.size(); ++i) {
      std::vector<uint8_t> bad = pkt;
      bad[i] ^= 0x01;
      EXPECT_FALSE(OpenPacket(**in, bad, 9, &got)) << c.name << " byte " << i;
    }
    EXPECT_TRUE(OpenPacket(**in, pkt, 9, &got)) << c.name;
  }
}

TEST(EspTransform, EsnHighBitsAreAuthenticated) {
  for (const Case& c : kCases) {
    auto out = EspTransform::Create(Config(c, true));
    auto in = EspTransform::Create(Config(c, true));
    ASSERT_TRUE(out.ok() && in.ok());
    const uint64_t seq = (uint64_t{1} << 32) | 77;
    std::vector<uint8_t> pkt = SealPacket(**out, std::vector<uint8_t>(40, 1), seq);
    std::vector<uint8_t> got;
    // Same low 32 bits on the wire, other high bits inferred: rejected.
    EXPECT_FALSE(OpenPacket(**in, pkt, (uint64_t{2} << 32) | 77, &got)) << c.name;
    EXPECT_TRUE(OpenPacket(**in, pkt, seq, &got)) << c.name;
  }
}

TEST(EspTransform, WrongKeyIsRejected) {
  for (const Case& c : kCases) {
    auto out = EspTransform::Create(Config(c, false, 'k'));
    auto in = EspTransform::Create(Config(c, false, 'K'));
    ASSERT_TRUE(out.ok() && in.ok());
    std::vector<uint8_t> pkt = SealPacket(**out, std::vector<uint8_t>(40, 1), 1);
    std::vector<uint8_t> got;
    EXPECT_FALSE(OpenPacket(**in, pkt, 1, &got)) << c.name;
  }
}

TEST(EspTransform, CreateRejectsBadConfigs) {
  EspTransformConfig cfg = Config(kCases[0], false);
  cfg.encryption_key.pop_back();
  EXPECT_FALSE(EspTransform::Create(cfg).ok());
  cfg = Config(kCases[3], false);
  cfg.integrity = cv1::INTEGRITY_UNSPECIFIED;
  EXPECT_FALSE(EspTransform::Create(cfg).ok());
  cfg = Config(kCases[8], false);
  cfg.allow_legacy = false;
  EXPECT_FALSE(EspTransform::Create(cfg).ok());
  cfg = Config(kCases[0], false);
  cfg.integrity = cv1::INTEGRITY_HMAC_SHA1_96;
  EXPECT_FALSE(EspTransform::Create(cfg).ok());
}

}  // namespace
}  // namespace vpnfleet::dataplane
