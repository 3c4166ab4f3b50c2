#include "services/dataplane/packet/esp_format.h"

#include <vector>

#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

constexpr EspLayout kGcm{8, 1, 16};     // RFC 4106: 8-byte IV, stream-like, 16-byte ICV
constexpr EspLayout kCbcSha1{16, 16, 12};  // RFC 3602 + RFC 2404

TEST(EspFormat, PaddingAlignsToFourOrTheBlock) {
  // RFC 4303 §2.4: payload + padding + 2 is a multiple of 4 (or the block).
  for (size_t payload = 0; payload < 100; ++payload) {
    size_t p4 = PaddingFor(payload, 1);
    EXPECT_EQ((payload + p4 + 2) % 4, 0u) << payload;
    EXPECT_LT(p4, 4u);
    size_t p16 = PaddingFor(payload, 16);
    EXPECT_EQ((payload + p16 + 2) % 16, 0u) << payload;
    EXPECT_LT(p16, 16u);
  }
  EXPECT_EQ(PaddingFor(2, 1), 0u);   // 2 + 0 + 2 = 4
  EXPECT_EQ(PaddingFor(84, 16), 10u);  // an 84-byte ICMP packet in AES-CBC: 84 + 10 + 2 = 96
}

TEST(EspFormat, TrailerRoundTrip) {
  std::vector<uint8_t> buf(84 + 16, 0xAA);
  size_t pad = PaddingFor(84, 16);
  size_t n = WriteTrailer(buf.data() + 84, pad, 4 /* IPv4 in tunnel mode */);
  ASSERT_EQ(n, pad + 2);
  EXPECT_EQ(buf[84], 1);
  EXPECT_EQ(buf[84 + pad - 1], pad);
  size_t payload = 0;
  uint8_t nh = 0;
  ASSERT_EQ(ParseTrailer(buf.data(), 84 + n, &payload, &nh), EspError::kOk);
  EXPECT_EQ(payload, 84u);
  EXPECT_EQ(nh, 4);
}

TEST(EspFormat, TrailerErrors) {
  size_t payload;
  uint8_t nh;
  uint8_t too_long[] = {0xAA, 0xAA, 5, 4};  // claims 5 bytes of padding in a 4-byte buffer
  EXPECT_EQ(ParseTrailer(too_long, sizeof too_long, &payload, &nh), EspError::kBadPadLength);
  uint8_t wrong_pad[] = {0xAA, 1, 3, 2, 4};  // padding 1, 3 instead of 1, 2
  EXPECT_EQ(ParseTrailer(wrong_pad, sizeof wrong_pad, &payload, &nh), EspError::kBadPadding);
  uint8_t dummy[] = {0xAA, 0xAA, 0, 59};
  EXPECT_EQ(ParseTrailer(dummy, sizeof dummy, &payload, &nh), EspError::kDummyPacket);
  uint8_t zero_nh[] = {0xAA, 0xAA, 0, 0};
  EXPECT_EQ(ParseTrailer(zero_nh, sizeof zero_nh, &payload, &nh), EspError::kBadNextHeader);
  uint8_t one[] = {4};
  EXPECT_EQ(ParseTrailer(one, 1, &payload, &nh), EspError::kTruncated);
  uint8_t empty_payload[] = {1, 2, 2, 41};  // all padding: a valid, empty IPv6 payload
  ASSERT_EQ(ParseTrailer(empty_payload, 4, &payload, &nh), EspError::kOk);
  EXPECT_EQ(payload, 0u);
}

TEST(EspFormat, ParseSplitsHeaderIvCiphertextAndIcv) {
  std::vector<uint8_t> pkt(8 + 8 + 64 + 16);
  WriteEspHeader(pkt.data(), 0x34F84D56, 7);
  EspView v;
  ASSERT_EQ(ParseEsp(pkt.data(), pkt.size(), kGcm, &v), EspError::kOk);
  EXPECT_EQ(v.spi, 0x34F84D56u);
  EXPECT_EQ(v.seq_low, 7u);
  EXPECT_EQ(v.iv_offset, 8u);
  EXPECT_EQ(v.ciphertext_offset, 16u);
  EXPECT_EQ(v.ciphertext_size, 64u);
  EXPECT_EQ(v.icv_offset, 80u);
  EXPECT_EQ(pkt[0], 0x34);  // network byte order
  EXPECT_EQ(pkt[7], 7);
}

TEST(EspFormat, ParseRejectsShortAndMisalignedPackets) {
  EspView v;
  std::vector<uint8_t> small(8 + 16 + 2 + 12 - 1);
  EXPECT_EQ(ParseEsp(small.data(), small.size(), kCbcSha1, &v), EspError::kTruncated);
  std::vector<uint8_t> misaligned(8 + 16 + 20 + 12);  // 20 bytes of ciphertext, not 16k
  EXPECT_EQ(ParseEsp(misaligned.data(), misaligned.size(), kCbcSha1, &v), EspError::kMisaligned);
  std::vector<uint8_t> odd(8 + 8 + 6 + 16);  // GCM: 6 is not 4-aligned
  EXPECT_EQ(ParseEsp(odd.data(), odd.size(), kGcm, &v), EspError::kMisaligned);
  EXPECT_EQ(ParseEsp(nullptr, 100, kGcm, &v), EspError::kTruncated);
}

}  // namespace
}  // namespace vpnfleet::dataplane
