#include "services/dataplane/packet/ipv4.h"

#include <vector>

#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

// The IPv4 header checksum example used in many references (e.g. RFC 1071's
// method applied to 4500 0073 0000 4000 4011 xxxx c0a8 0001 c0a8 00c7):
// the checksum is 0xb861.
TEST(Ipv4, HeaderChecksumKnownValue) {
  std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(InternetChecksum(h.data(), h.size()), 0xb861);
  uint8_t w[20];
  WriteIpv4Header(w, 0xc0a80001, 0xc0a800c7, 17, 0x73, 0, 64, 0, true);
  EXPECT_EQ(w[10], 0xb8);
  EXPECT_EQ(w[11], 0x61);
}

TEST(Ipv4, DecrementTtlPatchesTheChecksumIncrementally) {
  for (uint8_t ttl : {2, 64, 128, 255}) {
    uint8_t h[20];
    WriteIpv4Header(h, 0x0a000001, 0x0a000002, 6, 40, 0x10, ttl, 0x1234, false);
    ASSERT_TRUE(DecrementTtl(h));
    EXPECT_EQ(h[8], ttl - 1);
    EXPECT_EQ(InternetChecksum(h, 20), 0) << int(ttl);
  }
  uint8_t h[20];
  WriteIpv4Header(h, 1, 2, 6, 40, 0, 1, 0, false);
  EXPECT_FALSE(DecrementTtl(h));
}

TEST(Ipv4, ParseReadsSelectorsAndRejectsBrokenHeaders) {
  std::vector<uint8_t> p(28);
  WriteIpv4Header(p.data(), 0x0a010002, 0x0a020002, 17, 28, 0xb8, 64, 9, true);
  p[20] = 0x13; p[21] = 0x88;  // 5000
  p[22] = 0x00; p[23] = 0x35;  // 53
  Ipv4Info info;
  FlowKey flow;
  ASSERT_EQ(ParseIpv4(p.data(), p.size(), &info, &flow), Ipv4Error::kOk);
  EXPECT_TRUE(info.dont_fragment);
  EXPECT_EQ(info.tos, 0xb8);
  EXPECT_EQ(flow.src_port, 5000);
  EXPECT_EQ(flow.dst_port, 53);
  EXPECT_EQ(flow.src[0], 10);
  EXPECT_EQ(flow.dst[1], 2);

  EXPECT_EQ(ParseIpv4(p.data(), 19, &info, &flow), Ipv4Error::kTruncated);
  EXPECT_EQ(ParseIpv4(p.data(), 27, &info, &flow), Ipv4Error::kTruncated);  // Total Length 28
  auto bad = p;
  bad[0] = 0x65;
  EXPECT_EQ(ParseIpv4(bad.data(), bad.size(), &info, &flow), Ipv4Error::kNotIpv4);
  bad = p;
  bad[0] = 0x44;
  EXPECT_EQ(ParseIpv4(bad.data(), bad.size(), &info, &flow), Ipv4Error::kBadHeaderLength);
  // A later fragment has no ports.
  auto frag = p;
  frag[6] = 0x00;
  frag[7] = 0x10;
  ASSERT_EQ(ParseIpv4(frag.data(), frag.size(), &info, &flow), Ipv4Error::kOk);
  EXPECT_TRUE(info.fragment);
  EXPECT_EQ(flow.dst_port, 0);
}

TEST(Ipv4, FragNeededQuotesTheHeaderAndEightBytes) {
  std::vector<uint8_t> p(1500, 0xaa);
  WriteIpv4Header(p.data(), 0x0a010002, 0x0a020002, 6, 1500, 0, 63, 7, true);
  uint8_t out[128];
  size_t n = BuildFragNeeded(p.data(), p.size(), 0xc6336401, 1438, out);
  ASSERT_EQ(n, 20u + 8 + 28);
  Ipv4Info info;
  FlowKey flow;
  ASSERT_EQ(ParseIpv4(out, n, &info, &flow), Ipv4Error::kOk);
  EXPECT_EQ(info.src, 0xc6336401u);
  EXPECT_EQ(info.dst, 0x0a010002u);
  EXPECT_EQ(InternetChecksum(out, 20), 0);
  EXPECT_EQ(InternetChecksum(out + 20, n - 20), 0);
  EXPECT_EQ(out[26] << 8 | out[27], 1438);
  EXPECT_EQ(std::vector<uint8_t>(out + 28, out + 56), std::vector<uint8_t>(p.begin(), p.begin() + 28));
}

}  // namespace
}  // namespace vpnfleet::dataplane
