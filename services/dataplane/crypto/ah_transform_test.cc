// AH packets (RFC 4302) built by hand: format, the masked IPv4 header, and
// which changes the ICV notices. Interoperability with an independent
// implementation is tests/interop/scapy_esp_test.py.
#include "services/dataplane/crypto/ah_transform.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/dataplane/packet/ah_format.h"
#include "services/dataplane/packet/byte_order.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

// IPv4 (optionally with options) + AH (SHA-256-128) + `payload` bytes.
std::vector<uint8_t> AhPacket(const std::vector<uint8_t>& options, size_t payload, uint64_t seq) {
  const size_t ihl = 20 + options.size();
  std::vector<uint8_t> p(ihl + AhSize(16) + payload);
  WriteIpv4Header(p.data(), 0xC6336401, 0xC6336402, kProtoAh, static_cast<uint16_t>(p.size()),
                  0x28, 61, 0x1234, true);
  p[0] = static_cast<uint8_t>(0x40 | ihl / 4);
  std::copy(options.begin(), options.end(), p.begin() + 20);
  WriteAhHeader(p.data() + ihl, kProtoIpInIp, 16, 0x4242, static_cast<uint32_t>(seq));
  for (size_t i = 0; i < payload; ++i) p[ihl + AhSize(16) + i] = static_cast<uint8_t>(i * 7);
  return p;
}

std::unique_ptr<AhTransform> Transform(bool esn) {
  auto t = AhTransform::Create(cv1::INTEGRITY_HMAC_SHA2_256_128, std::string(32, 'k'), esn, false);
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

bool Verifies(AhTransform& t, const std::vector<uint8_t>& p, uint64_t seq) {
  AhView v;
  if (ParseAh(p.data(), p.size(), t.icv_size(), &v) != AhError::kOk) return false;
  return t.Verify(p.data(), v, seq);
}

TEST(AhFormat, ParseSplitsHeaderAndRefusesWhatIsNotWholeAh) {
  auto p = AhPacket({}, 40, 9);
  AhView v;
  ASSERT_EQ(ParseAh(p.data(), p.size(), 16, &v), AhError::kOk);
  EXPECT_EQ(v.ip_header_size, 20u);
  EXPECT_EQ(v.payload_offset, 20u + 28u);
  EXPECT_EQ(v.next_header, kProtoIpInIp);
  EXPECT_EQ(v.spi, 0x4242u);
  EXPECT_EQ(v.seq_low, 9u);
  EXPECT_EQ(PeekAhSpi(p.data(), p.size()), 0x4242u);
  EXPECT_EQ(ParseAh(p.data(), p.size(), 12, &v), AhError::kBadLength);  // another ICV size
  EXPECT_EQ(ParseAh(p.data(), 30, 16, &v), AhError::kTruncated);
  auto frag = p;
  frag[7] = 8;  // fragment offset
  EXPECT_EQ(ParseAh(frag.data(), frag.size(), 16, &v), AhError::kFragment);
  auto esp = p;
  esp[9] = kProtoEsp;
  EXPECT_EQ(ParseAh(esp.data(), esp.size(), 16, &v), AhError::kNotAh);
  EXPECT_EQ(PeekAhSpi(esp.data(), esp.size()), 0u);
  auto v6 = p;
  v6[0] = 0x65;
  EXPECT_EQ(ParseAh(v6.data(), v6.size(), 16, &v), AhError::kNotIpv4);
}

TEST(AhFormat, MaskedHeaderZeroesMutableFieldsAndOptions) {
  // Router Alert (immutable, kept), Record Route (mutable, zeroed), EOL.
  const std::vector<uint8_t> options = {148, 4, 0, 0, 7, 7, 4, 10, 0, 0, 1, 0};
  auto p = AhPacket(options, 0, 1);
  uint8_t out[60];
  ASSERT_EQ(MaskedIpv4Header(p.data(), 32, out), AhError::kOk);
  EXPECT_EQ(out[1], 0);   // TOS
  EXPECT_EQ(out[6], 0);   // DF
  EXPECT_EQ(out[8], 0);   // TTL
  EXPECT_EQ(out[10], 0);  // checksum
  EXPECT_EQ(LoadBe16(out + 4), 0x1234);  // Identification is covered
  EXPECT_EQ(out[20], 148);
  EXPECT_EQ(out[21], 4);
  for (int i = 24; i < 31; ++i) EXPECT_EQ(out[i], 0) << i;
  const std::vector<uint8_t> bad = {7, 40, 0, 0};  // length past the header
  auto q = AhPacket(bad, 0, 1);
  EXPECT_EQ(MaskedIpv4Header(q.data(), 24, out), AhError::kBadOption);
}

TEST(AhTransform, IcvCoversImmutableFieldsOnly) {
  auto t = Transform(false);
  auto p = AhPacket({148, 4, 0, 0}, 64, 5);
  ASSERT_TRUE(t->Seal(p.data(), p.size(), 5));
  EXPECT_TRUE(Verifies(*t, p, 5));
  // What routers change in transit: TOS, flags, TTL, checksum.
  for (size_t at : std::vector<size_t>{1, 6, 8, 10, 11}) {
    auto q = p;
    q[at] ^= at == 6 ? 0x40 : 0x11;  // DF only: a fragment offset makes it a fragment
    EXPECT_TRUE(Verifies(*t, q, 5)) << "mutable byte " << at;
  }
  // Everything else: length, Identification, protocol, addresses, the
  // immutable option, the AH header, the ICV, the payload.
  for (size_t at : std::vector<size_t>{3, 4, 5, 13, 19, 22, 24, 28, 31, 40, 52, p.size() - 1}) {
    auto q = p;
    q[at] ^= 0x01;
    EXPECT_FALSE(Verifies(*t, q, 5)) << "immutable byte " << at;
  }
}

TEST(AhTransform, EsnHighBitsAreAuthenticatedButNotSent) {
  auto t = Transform(true);
  const uint64_t seq = (uint64_t{3} << 32) | 17;
  auto p = AhPacket({}, 30, seq);
  ASSERT_TRUE(t->Seal(p.data(), p.size(), seq));
  EXPECT_EQ(LoadBe32(p.data() + 28), 17u);
  EXPECT_TRUE(Verifies(*t, p, seq));
  EXPECT_FALSE(Verifies(*t, p, seq + (uint64_t{1} << 32)));
  // Without ESN the same packet is a different ICV.
  auto plain = Transform(false);
  EXPECT_FALSE(Verifies(*plain, p, seq));
}

TEST(AhTransform, WrongKeyAndLegacyRules) {
  auto t = Transform(false);
  auto p = AhPacket({}, 10, 1);
  ASSERT_TRUE(t->Seal(p.data(), p.size(), 1));
  auto other = AhTransform::Create(cv1::INTEGRITY_HMAC_SHA2_256_128, std::string(32, 'j'), false,
                                   false);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(Verifies(**other, p, 1));
  EXPECT_FALSE(
      AhTransform::Create(cv1::INTEGRITY_HMAC_MD5_96, std::string(16, 'k'), false, false).ok());
  EXPECT_FALSE(AhTransform::Create(cv1::INTEGRITY_HMAC_SHA1_96, "short", false, false).ok());
}

}  // namespace
}  // namespace vpnfleet::dataplane
