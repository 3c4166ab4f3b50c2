#include "services/dataplane/packet/offload.h"

#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/dataplane/packet/byte_order.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

// Checks a transport checksum independently of offload.cc: pseudo-header
// and segment in one buffer through ipv4.cc's InternetChecksum.
bool TransportChecksumValid(const Bytes& pkt) {
  const bool v6 = (pkt[0] >> 4) == 6;
  const size_t ihl = v6 ? 40 : (pkt[0] & 0x0f) * 4u;
  const uint8_t proto = v6 ? pkt[6] : pkt[9];
  const size_t l4 = pkt.size() - ihl;
  Bytes buf;
  if (v6) {
    buf.insert(buf.end(), pkt.begin() + 8, pkt.begin() + 40);
  } else {
    buf.insert(buf.end(), pkt.begin() + 12, pkt.begin() + 20);
  }
  const uint8_t len[4] = {static_cast<uint8_t>(l4 >> 24), static_cast<uint8_t>(l4 >> 16),
                          static_cast<uint8_t>(l4 >> 8), static_cast<uint8_t>(l4)};
  if (v6) {
    buf.insert(buf.end(), len, len + 4);
    buf.insert(buf.end(), {0, 0, 0, proto});
  } else {
    buf.insert(buf.end(), {0, proto, len[2], len[3]});
  }
  buf.insert(buf.end(), pkt.begin() + static_cast<long>(ihl), pkt.end());
  return InternetChecksum(buf.data(), buf.size()) == 0;
}

Bytes Payload(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// An IPv4 or IPv6 packet carrying TCP (with a 12-byte timestamp option) or
// UDP; checksum left as the kernel leaves it for CHECKSUM_PARTIAL (the
// pseudo-header sum) when `partial`, else complete.
Bytes Build(bool v6, bool tcp, const Bytes& payload, bool partial, uint8_t flags = 0x18,
            uint32_t seq = 1000, uint16_t ip_id = 77) {
  const size_t ihl = v6 ? 40 : 20, l4h = tcp ? 32 : 8;
  Bytes p(ihl + l4h + payload.size(), 0);
  const uint8_t proto = tcp ? 6 : 17;
  if (v6) {
    p[0] = 0x60;
    StoreBe16(&p[4], static_cast<uint16_t>(p.size() - 40));
    p[6] = proto;
    p[7] = 64;
    p[8] = 0xfd;
    p[23] = 1;
    p[24] = 0xfd;
    p[39] = 2;
  } else {
    WriteIpv4Header(p.data(), 0x0a010002, 0x0a020002, proto, static_cast<uint16_t>(p.size()), 0,
                    64, ip_id, true);
  }
  uint8_t* t = &p[ihl];
  StoreBe16(t, 40000);
  StoreBe16(t + 2, 5201);
  if (tcp) {
    StoreBe32(t + 4, seq);
    StoreBe32(t + 8, 555);
    t[12] = static_cast<uint8_t>((l4h / 4) << 4);
    t[13] = flags;
    StoreBe16(t + 14, 512);
    t[20] = 1;
    t[21] = 1;
    t[22] = 8;
    t[23] = 10;
    StoreBe32(t + 24, 0x11223344);
    StoreBe32(t + 28, 0x55667788);
  } else {
    StoreBe16(t + 4, static_cast<uint16_t>(l4h + payload.size()));
  }
  std::memcpy(&p[ihl + l4h], payload.data(), payload.size());
  const size_t field = tcp ? 16 : 6;
  const size_t l4 = p.size() - ihl;
  uint32_t pseudo = v6 ? OnesSum(&p[8], 32) : OnesSum(&p[12], 8);
  pseudo += proto + static_cast<uint32_t>(l4 >> 16) + static_cast<uint32_t>(l4 & 0xffff);
  pseudo = OnesSum(nullptr, 0, pseudo);
  if (partial) {
    StoreBe16(t + field, static_cast<uint16_t>(pseudo));
  } else {
    StoreBe16(t + field, static_cast<uint16_t>(~OnesSum(t, l4, pseudo)));
  }
  return p;
}

std::vector<Bytes> SegmentAll(const VnetHeader& h, const Bytes& super, OffloadError* error) {
  Segmenter s;
  std::vector<Bytes> out;
  *error = s.Init(h, super.data(), super.size());
  if (*error != OffloadError::kOk) return out;
  while (!s.done()) {
    Bytes seg(4096);
    size_t n = 0;
    *error = s.Next(seg.data(), seg.size(), &n);
    if (*error != OffloadError::kOk) return out;
    seg.resize(n);
    out.push_back(seg);
  }
  return out;
}

VnetHeader Gso(uint8_t type, uint16_t size, uint16_t csum_start, uint16_t csum_offset) {
  VnetHeader h;
  h.flags = VnetHeader::kNeedsCsum;
  h.gso_type = type;
  h.gso_size = size;
  h.csum_start = csum_start;
  h.csum_offset = csum_offset;
  return h;
}

TEST(OnesSumTest, MatchesTheRfc1071ChecksumAtEveryLength) {
  const Bytes data = Payload(300, 1);
  for (size_t n = 0; n <= data.size(); ++n) {
    ASSERT_EQ(static_cast<uint16_t>(~OnesSum(data.data(), n)), InternetChecksum(data.data(), n))
        << n;
  }
}

TEST(OnesSumTest, Rfc1071Example) {
  // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  const uint8_t words[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(OnesSum(words, sizeof words), 0xddf2);
}

TEST(VnetHeaderTest, RoundTripsLittleEndian) {
  VnetHeader h = Gso(VnetHeader::kGsoTcpV4, 1448, 20, 16);
  h.hdr_len = 52;
  uint8_t raw[kVnetHeaderSize];
  WriteVnetHeader(h, raw);
  EXPECT_EQ(raw[4], 1448 & 0xff);
  EXPECT_EQ(raw[5], 1448 >> 8);
  const VnetHeader back = ReadVnetHeader(raw);
  EXPECT_EQ(back.gso_size, 1448);
  EXPECT_EQ(back.hdr_len, 52);
  EXPECT_EQ(back.csum_start, 20);
  EXPECT_EQ(back.csum_offset, 16);
  EXPECT_EQ(back.gso_type, VnetHeader::kGsoTcpV4);
}

class TcpSegmentationTest : public ::testing::TestWithParam<bool> {};

TEST_P(TcpSegmentationTest, SegmentsCarryHeadersSequenceAndChecksumsRight) {
  const bool v6 = GetParam();
  const Bytes payload = Payload(10000, 2);
  const Bytes super = Build(v6, true, payload, true, 0x19 /* FIN|PSH|ACK */, 4000000000u);
  const uint16_t ihl = v6 ? 40 : 20;
  OffloadError e;
  auto segs = SegmentAll(Gso(v6 ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4, 1448, ihl, 16),
                         super, &e);
  ASSERT_EQ(e, OffloadError::kOk);
  ASSERT_EQ(segs.size(), 7u);  // 6 x 1448 + 1312
  Bytes joined;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Bytes& s = segs[i];
    const size_t chunk = i + 1 < segs.size() ? 1448 : 10000 - 6 * 1448;
    ASSERT_EQ(s.size(), ihl + 32 + chunk);
    if (v6) {
      EXPECT_EQ(LoadBe16(&s[4]), s.size() - 40);
    } else {
      Ipv4Info info;
      FlowKey flow;
      ASSERT_EQ(ParseIpv4(s.data(), s.size(), &info, &flow), Ipv4Error::kOk);
      EXPECT_EQ(info.total_size, s.size());
      EXPECT_EQ(LoadBe16(&s[4]), 77 + i) << "IP ID";
      EXPECT_EQ(InternetChecksum(s.data(), 20), 0) << "IP header checksum";
    }
    const uint8_t* t = &s[ihl];
    EXPECT_EQ(LoadBe32(t + 4), static_cast<uint32_t>(4000000000u + i * 1448)) << "wraps mod 2^32";
    const bool last = i + 1 == segs.size();
    EXPECT_EQ(t[13], last ? 0x19 : 0x10) << "FIN and PSH only on the last";
    EXPECT_TRUE(TransportChecksumValid(s)) << i;
    joined.insert(joined.end(), s.begin() + ihl + 32, s.end());
  }
  EXPECT_EQ(joined, payload);
}

TEST_P(TcpSegmentationTest, CoalescingTheSegmentsGivesBackTheSuperPacket) {
  const bool v6 = GetParam();
  const Bytes payload = Payload(20000, 3);
  const Bytes super = Build(v6, true, payload, true, 0x18);
  const uint16_t ihl = v6 ? 40 : 20;
  const VnetHeader gso = Gso(v6 ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4, 1400, ihl, 16);
  OffloadError e;
  auto segs = SegmentAll(gso, super, &e);
  ASSERT_EQ(e, OffloadError::kOk);
  const std::vector<Bytes> wire = segs;  // Finish rewrites the first in place
  TcpCoalescer c;
  for (auto& s : segs) ASSERT_EQ(c.Offer(s.data(), s.size()), TcpCoalescer::Result::kAppended);
  EXPECT_EQ(c.segments(), segs.size());
  VnetHeader out;
  const uint8_t* pieces[TcpCoalescer::kMaxSegments];
  size_t sizes[TcpCoalescer::kMaxSegments];
  const size_t n = c.Finish(&out, pieces, sizes);
  ASSERT_EQ(n, segs.size());
  EXPECT_FALSE(c.pending());
  EXPECT_EQ(out.gso_type, gso.gso_type);
  EXPECT_EQ(out.gso_size, 1400);
  EXPECT_EQ(out.hdr_len, ihl + 32);
  EXPECT_EQ(out.csum_start, ihl);
  EXPECT_EQ(out.csum_offset, 16);
  EXPECT_EQ(out.flags, VnetHeader::kNeedsCsum);
  Bytes joined;
  for (size_t i = 0; i < n; ++i) joined.insert(joined.end(), pieces[i], pieces[i] + sizes[i]);
  // The kernel's view: the very super-packet it handed over (same IP ID,
  // length, partial checksum and PSH) ...
  EXPECT_TRUE(joined == super);
  // ... which segments into the same wire packets again.
  auto again = SegmentAll(out, joined, &e);
  ASSERT_EQ(e, OffloadError::kOk);
  EXPECT_TRUE(again == wire);
}

INSTANTIATE_TEST_SUITE_P(V4AndV6, TcpSegmentationTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Ipv6" : "Ipv4"; });

TEST(UdpSegmentationTest, EachDatagramHasItsLengthAndChecksum) {
  for (bool v6 : {false, true}) {
    const Bytes payload = Payload(5000, 4);
    const Bytes super = Build(v6, false, payload, true);
    OffloadError e;
    auto segs = SegmentAll(Gso(VnetHeader::kGsoUdpL4, 1200, v6 ? 40 : 20, 6), super, &e);
    ASSERT_EQ(e, OffloadError::kOk);
    ASSERT_EQ(segs.size(), 5u);
    for (size_t i = 0; i < segs.size(); ++i) {
      const size_t ihl = v6 ? 40 : 20;
      EXPECT_EQ(LoadBe16(&segs[i][ihl + 4]), segs[i].size() - ihl);
      EXPECT_TRUE(TransportChecksumValid(segs[i])) << v6 << " " << i;
    }
  }
}

TEST(ChecksumCompletionTest, APlainPacketWithAPartialChecksumIsCompleted) {
  for (bool tcp : {false, true}) {
    Bytes p = Build(false, tcp, Payload(333, 5), true);
    EXPECT_FALSE(TransportChecksumValid(p));
    VnetHeader h;
    h.flags = VnetHeader::kNeedsCsum;
    h.csum_start = 20;
    h.csum_offset = tcp ? 16 : 6;
    OffloadError e;
    auto out = SegmentAll(h, p, &e);
    ASSERT_EQ(e, OffloadError::kOk);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(TransportChecksumValid(out[0]));
    EXPECT_EQ(out[0], Build(false, tcp, Payload(333, 5), false));
  }
}

TEST(ChecksumCompletionTest, APacketWithoutOffloadIsCopiedUntouched) {
  const Bytes p = Build(false, true, Payload(100, 6), false);
  OffloadError e;
  auto out = SegmentAll(VnetHeader(), p, &e);
  ASSERT_EQ(e, OffloadError::kOk);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], p);
}

TEST(SegmenterTest, RefusesWhatItCannotSegment) {
  const Bytes tcp4 = Build(false, true, Payload(3000, 7), true);
  const Bytes udp4 = Build(false, false, Payload(3000, 7), true);
  Segmenter s;
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV4, 0, 20, 16), tcp4.data(), tcp4.size()),
            OffloadError::kTooManySegments);
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV4, 1, 20, 16), tcp4.data(), tcp4.size()),
            OffloadError::kTooManySegments);
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV4, 1400, 20, 16), udp4.data(), udp4.size()),
            OffloadError::kBadHeader);
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV6, 1400, 20, 16), tcp4.data(), tcp4.size()),
            OffloadError::kBadHeader);
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoUdp, 1400, 20, 6), udp4.data(), udp4.size()),
            OffloadError::kUnsupportedGso);
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV4, 1400, 20, 16), tcp4.data(), tcp4.size() - 1),
            OffloadError::kTruncated);
  EXPECT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV4, 1400, 20, 16), tcp4.data(), 30),
            OffloadError::kTruncated);
  EXPECT_EQ(s.Init(VnetHeader(), nullptr, 0), OffloadError::kTruncated)
      << "an empty read (fuzz finding: memcpy from a null buffer)";
  VnetHeader plain;
  plain.flags = VnetHeader::kNeedsCsum;
  plain.csum_start = static_cast<uint16_t>(tcp4.size() - 1);
  EXPECT_EQ(s.Init(plain, tcp4.data(), tcp4.size()), OffloadError::kBadChecksumSpan);
  plain.csum_start = 21;
  EXPECT_EQ(s.Init(plain, tcp4.data(), tcp4.size()), OffloadError::kBadChecksumSpan);
  // A segment larger than the caller's buffer is refused, not truncated.
  ASSERT_EQ(s.Init(Gso(VnetHeader::kGsoTcpV4, 2000, 20, 16), tcp4.data(), tcp4.size()),
            OffloadError::kOk);
  uint8_t small[1500];
  size_t n = 0;
  EXPECT_EQ(s.Next(small, sizeof small, &n), OffloadError::kSegmentTooLarge);
}

TEST(TcpCoalescerTest, OnlyInOrderSegmentsOfOneFlowWithValidChecksumsJoin) {
  const Bytes pay = Payload(1000, 8);
  Bytes a = Build(false, true, pay, false, 0x10, 1000, 1);
  Bytes b = Build(false, true, pay, false, 0x10, 2000, 2);
  Bytes gap = Build(false, true, pay, false, 0x10, 3500, 3);
  TcpCoalescer c;
  ASSERT_EQ(c.Offer(a.data(), a.size()), TcpCoalescer::Result::kAppended);
  ASSERT_EQ(c.Offer(b.data(), b.size()), TcpCoalescer::Result::kAppended);
  EXPECT_EQ(c.Offer(gap.data(), gap.size()), TcpCoalescer::Result::kFlushFirst);

  Bytes bad = Build(false, true, pay, false, 0x10, 3000, 3);
  bad.back() ^= 1;
  EXPECT_EQ(c.Offer(bad.data(), bad.size()), TcpCoalescer::Result::kNotCandidate)
      << "a corrupt segment is left for the kernel to drop";
  Bytes syn = Build(false, true, pay, false, 0x12, 3000, 3);
  EXPECT_EQ(c.Offer(syn.data(), syn.size()), TcpCoalescer::Result::kNotCandidate);
  Bytes udp = Build(false, false, pay, false);
  EXPECT_EQ(c.Offer(udp.data(), udp.size()), TcpCoalescer::Result::kNotCandidate);
  Bytes other_id = Build(false, true, pay, false, 0x10, 3000, 9);
  EXPECT_EQ(c.Offer(other_id.data(), other_id.size()), TcpCoalescer::Result::kAppended)
      << "DF set: IDs need not follow";
  Bytes longer = Build(false, true, Payload(1001, 8), false, 0x10, 4000, 10);
  EXPECT_EQ(c.Offer(longer.data(), longer.size()), TcpCoalescer::Result::kFlushFirst);
  Bytes shorter = Build(false, true, Payload(10, 8), false, 0x18, 4000, 10);
  EXPECT_EQ(c.Offer(shorter.data(), shorter.size()), TcpCoalescer::Result::kAppended);
  Bytes after = Build(false, true, pay, false, 0x10, 4010, 11);
  EXPECT_EQ(c.Offer(after.data(), after.size()), TcpCoalescer::Result::kFlushFirst)
      << "a short segment ends the super-packet";

  VnetHeader v;
  const uint8_t* pieces[TcpCoalescer::kMaxSegments];
  size_t sizes[TcpCoalescer::kMaxSegments];
  ASSERT_EQ(c.Finish(&v, pieces, sizes), 4u);
  EXPECT_EQ(sizes[0], a.size());
  EXPECT_EQ(LoadBe16(&a[2]), 20 + 32 + 3010) << "the first segment now says the whole length";
  EXPECT_EQ(InternetChecksum(a.data(), 20), 0);
  EXPECT_EQ(a[20 + 13], 0x18) << "the last segment's PSH";
  EXPECT_EQ(v.gso_size, 1000);

  // A single segment is written as it came, with an empty header.
  ASSERT_EQ(c.Offer(after.data(), after.size()), TcpCoalescer::Result::kAppended);
  const Bytes before = after;
  ASSERT_EQ(c.Finish(&v, pieces, sizes), 1u);
  EXPECT_EQ(v.gso_type, VnetHeader::kGsoNone);
  EXPECT_EQ(v.flags, 0);
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace vpnfleet::dataplane
