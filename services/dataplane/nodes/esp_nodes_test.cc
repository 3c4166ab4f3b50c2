#include "services/dataplane/nodes/esp_nodes.h"

#include <vector>

#include "common/crypto/algorithms.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

std::unique_ptr<EspTransform> Gcm(bool esn = false) {
  EspTransformConfig c;
  c.encryption = cv1::ENCRYPTION_AES_GCM_128;
  c.encryption_key = std::string(20, 'k');
  c.integrity = cv1::INTEGRITY_UNSPECIFIED;
  c.esn = esn;
  auto t = EspTransform::Create(c);
  EXPECT_TRUE(t.ok());
  return *std::move(t);
}

// Buffers with 64 bytes of headroom, as the input node leaves them.
class Packets {
 public:
  explicit Packets(size_t n, uint32_t len = 100, uint32_t capacity = 2048)
      : storage_(n, std::vector<uint8_t>(capacity)), packets_(n) {
    for (size_t i = 0; i < n; ++i) {
      packets_[i] = {storage_[i].data(), capacity, 64, len, false};
      for (uint32_t b = 0; b < len; ++b) packets_[i].data()[b] = static_cast<uint8_t>(i + b);
      frame_.packets[i] = &packets_[i];
    }
    frame_.size = n;
  }
  Frame& frame() { return frame_; }
  Packet& operator[](size_t i) { return packets_[i]; }
  std::vector<uint8_t> Bytes(size_t i) {
    return {packets_[i].data(), packets_[i].data() + packets_[i].len};
  }

 private:
  std::vector<std::vector<uint8_t>> storage_;
  std::vector<Packet> packets_;
  Frame frame_;
};

struct Pair {
  SaRuntime out, in;
  Pair() {
    out.spi = in.spi = 0x1000;
    in.inbound = true;
    out.transform = Gcm();
    in.transform = Gcm();
  }
};

TEST(EspNodes, FrameRoundTripAndCounters) {
  Pair sa;
  Packets pk(256);
  std::vector<std::vector<uint8_t>> before;
  for (size_t i = 0; i < 256; ++i) before.push_back(pk.Bytes(i));
  EspEncrypt(sa.out, pk.frame(), 4);
  EXPECT_EQ(sa.out.counters.pkts_encrypt, 256u);
  EXPECT_EQ(pk[0].len, 100u + 8 + 8 + 2 + 2 + 16);  // header, IV, 2 pad, trailer, ICV
  uint8_t nh[Frame::kMaxPackets];
  EspDecrypt(sa.in, pk.frame(), nh);
  EXPECT_EQ(sa.in.counters.pkts_decrypt, 256u);
  EXPECT_EQ(sa.in.counters.bytes, 256u * 100);
  for (size_t i = 0; i < 256; ++i) {
    ASSERT_FALSE(pk[i].dropped) << i;
    EXPECT_EQ(pk.Bytes(i), before[i]);
    EXPECT_EQ(nh[i], 4);
    EXPECT_EQ(pk[i].offset, 64u);  // back where it started
  }
  EXPECT_EQ(sa.in.replay.highest(), 256u);
}

TEST(EspNodes, ReplaysInTheSameFrameAndLaterAreDropped) {
  Pair sa;
  Packets pk(3);
  pk.frame().size = 1;
  EspEncrypt(sa.out, pk.frame(), 4);
  // Copies of the one ESP packet into the two other buffers.
  for (size_t i = 1; i < 3; ++i) {
    pk[i].offset = pk[0].offset;
    pk[i].len = pk[0].len;
    std::copy(pk[0].data(), pk[0].data() + pk[0].len, pk[i].data());
  }
  pk.frame().size = 2;
  uint8_t nh[Frame::kMaxPackets];
  EspDecrypt(sa.in, pk.frame(), nh);
  EXPECT_FALSE(pk[0].dropped);
  EXPECT_TRUE(pk[1].dropped);  // passed the precheck with the first, caught at accept
  pk.frame().packets[0] = &pk[2];
  pk.frame().size = 1;
  EspDecrypt(sa.in, pk.frame(), nh);  // the same packet again, later
  EXPECT_TRUE(pk[2].dropped);
  EXPECT_EQ(sa.in.counters.drops[static_cast<size_t>(DropReason::kReplayed)], 2u);
  EXPECT_EQ(sa.in.counters.replay_failures, 2u);
}

TEST(EspNodes, TamperedPacketsDoNotMoveTheWindow) {
  Pair sa;
  Packets pk(2);
  EspEncrypt(sa.out, pk.frame(), 4);
  std::vector<uint8_t> second = pk.Bytes(1);
  pk[1].data()[30] ^= 1;  // seq 2, corrupted
  uint8_t nh[Frame::kMaxPackets];
  EspDecrypt(sa.in, pk.frame(), nh);
  EXPECT_FALSE(pk[0].dropped);
  EXPECT_TRUE(pk[1].dropped);
  EXPECT_EQ(sa.in.counters.integrity_failures, 1u);
  EXPECT_EQ(sa.in.replay.highest(), 1u);
  // The genuine packet 2 still gets through.
  pk[1].dropped = false;
  std::copy(second.begin(), second.end(), pk[1].data());
  pk.frame().packets[0] = &pk[1];
  pk.frame().size = 1;
  EspDecrypt(sa.in, pk.frame(), nh);
  EXPECT_FALSE(pk[1].dropped);
}

TEST(EspNodes, WrongSpiTruncatedAndNoRoom) {
  Pair sa;
  Packets pk(3);
  EspEncrypt(sa.out, pk.frame(), 4);
  pk[0].data()[3] ^= 0xFF;  // another SPI
  pk[1].len = 20;           // truncated
  uint8_t nh[Frame::kMaxPackets];
  EspDecrypt(sa.in, pk.frame(), nh);
  EXPECT_EQ(sa.in.counters.drops[static_cast<size_t>(DropReason::kWrongSpi)], 1u);
  EXPECT_EQ(sa.in.counters.drops[static_cast<size_t>(DropReason::kMalformed)], 1u);
  EXPECT_FALSE(pk[2].dropped);

  Packets tight(1, 100, 64 + 100 + 10);  // no tailroom for trailer and ICV
  EspEncrypt(sa.out, tight.frame(), 4);
  EXPECT_TRUE(tight[0].dropped);
  EXPECT_EQ(sa.out.counters.drops[static_cast<size_t>(DropReason::kNoRoom)], 1u);
}

TEST(EspNodes, SequenceNumbersNeverCycle) {
  Pair sa;
  sa.out.next_seq = UINT32_MAX;
  Packets pk(2);
  EspEncrypt(sa.out, pk.frame(), 4);
  EXPECT_FALSE(pk[0].dropped);  // 2^32 - 1 is the last number without ESN
  EXPECT_TRUE(pk[1].dropped);
  EXPECT_EQ(sa.out.counters.drops[static_cast<size_t>(DropReason::kSeqExhausted)], 1u);

  SaRuntime esn;
  esn.spi = 1;
  esn.esn = true;
  esn.transform = Gcm(true);
  esn.next_seq = UINT32_MAX;
  Packets more(2);
  EspEncrypt(esn, more.frame(), 4);
  EXPECT_FALSE(more[1].dropped);  // with ESN, 2^32 follows
  EXPECT_EQ(esn.next_seq, (uint64_t{1} << 32) + 1);
}

}  // namespace
}  // namespace vpnfleet::dataplane
