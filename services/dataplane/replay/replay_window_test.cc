#include "services/dataplane/replay/replay_window.h"

#include <random>
#include <set>

#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

using V = ReplayWindow::Verdict;

ReplayWindow Make(uint32_t size, bool enabled = true, bool esn = false) {
  auto w = ReplayWindow::Create(size, enabled, esn);
  EXPECT_TRUE(w.ok());
  return *w;
}

// Precheck, then Accept as the forwarder does once the ICV verified.
V Receive(ReplayWindow& w, uint32_t seq_low) {
  ReplayWindow::Check c = w.Precheck(seq_low);
  if (c.verdict != V::kOk) return c.verdict;
  return w.Accept(c.seq);
}

TEST(ReplayWindow, SizeLimits) {
  EXPECT_FALSE(ReplayWindow::Create(31, true, false).ok());
  EXPECT_FALSE(ReplayWindow::Create(4097, true, false).ok());
  EXPECT_EQ(ReplayWindow::Create(0, true, false)->size(), 64u);
  EXPECT_EQ(ReplayWindow::Create(4096, true, false)->size(), 4096u);
  EXPECT_EQ(ReplayWindow::Create(100, true, false)->size(), 100u);  // any size, not only 32k
}

TEST(ReplayWindow, FirstPacketsDuplicatesAndZero) {
  ReplayWindow w = Make(64);
  EXPECT_EQ(Receive(w, 0), V::kBadSequence);  // RFC 4303 §3.3.3: the first packet is 1
  EXPECT_EQ(Receive(w, 1), V::kOk);
  EXPECT_EQ(Receive(w, 1), V::kReplayed);
  EXPECT_EQ(Receive(w, 3), V::kOk);
  EXPECT_EQ(Receive(w, 2), V::kOk);  // late, inside the window
  EXPECT_EQ(Receive(w, 2), V::kReplayed);
  EXPECT_EQ(w.highest(), 3u);
}

TEST(ReplayWindow, WindowEdges) {
  for (uint32_t size : {32u, 64u, 100u, 1024u, 4096u}) {
    ReplayWindow w = Make(size);
    const uint32_t top = 10000;
    ASSERT_EQ(Receive(w, top), V::kOk);
    EXPECT_EQ(w.Precheck(top - size + 1).verdict, V::kOk) << size;  // oldest in the window
    EXPECT_EQ(w.Precheck(top - size).verdict, V::kTooOld) << size;  // just left of it
    EXPECT_EQ(Receive(w, top - size + 1), V::kOk);
    EXPECT_EQ(Receive(w, top - size + 1), V::kReplayed);
    EXPECT_EQ(Receive(w, top + 1), V::kOk);  // the window slides by one
    EXPECT_EQ(w.Precheck(top - size + 1).verdict, V::kTooOld) << size;
  }
}

TEST(ReplayWindow, PrecheckChangesNothingAndAcceptCatchesFrameDuplicates) {
  ReplayWindow w = Make(64);
  ASSERT_EQ(Receive(w, 10), V::kOk);
  // Two copies of packet 11 in one frame: both pass the precheck...
  ReplayWindow::Check a = w.Precheck(11);
  ReplayWindow::Check b = w.Precheck(11);
  ASSERT_EQ(a.verdict, V::kOk);
  ASSERT_EQ(b.verdict, V::kOk);
  EXPECT_EQ(w.highest(), 10u);
  // ...and only the first is accepted once both verified.
  EXPECT_EQ(w.Accept(a.seq), V::kOk);
  EXPECT_EQ(w.Accept(b.seq), V::kReplayed);
}

TEST(ReplayWindow, ForgedPacketsNeverMoveTheWindow) {
  ReplayWindow w = Make(64);
  ASSERT_EQ(Receive(w, 5), V::kOk);
  // A forged packet with a huge number passes the precheck, fails its ICV,
  // and is never accepted: the window stays where it was.
  EXPECT_EQ(w.Precheck(4000000000u).verdict, V::kOk);
  EXPECT_EQ(w.highest(), 5u);
  EXPECT_EQ(Receive(w, 6), V::kOk);
}

TEST(ReplayWindow, LargeJumpsClearStaleBits) {
  ReplayWindow w = Make(4096);
  for (uint32_t s = 1; s <= 5000; ++s) ASSERT_EQ(Receive(w, s), V::kOk);
  // Jump by exactly the ring size (8192): every number of the new window is
  // unseen, although its bit positions were used before.
  const uint32_t jump = 5000 + 8192;
  ASSERT_EQ(Receive(w, jump), V::kOk);
  for (uint32_t s = jump - 4095; s < jump; ++s) {
    ASSERT_EQ(w.Precheck(s).verdict, V::kOk) << s;
  }
  EXPECT_EQ(Receive(w, jump), V::kReplayed);
}

TEST(ReplayWindow, DisabledAcceptsReplaysButTracksTheTop) {
  ReplayWindow w = Make(64, /*enabled=*/false);
  EXPECT_EQ(Receive(w, 100), V::kOk);
  EXPECT_EQ(Receive(w, 100), V::kOk);
  EXPECT_EQ(Receive(w, 1), V::kOk);
  EXPECT_EQ(Receive(w, 0), V::kBadSequence);
  EXPECT_EQ(w.highest(), 100u);
}

TEST(ReplayWindow, WithoutEsnNumbersStopAt32Bits) {
  ReplayWindow w = Make(64);
  EXPECT_EQ(Receive(w, UINT32_MAX), V::kOk);
  EXPECT_EQ(w.Accept(uint64_t{1} << 32), V::kBadSequence);
}

// RFC 4303 Appendix A2.2, Case A: Tl >= W - 1, the window lies in one subspace.
TEST(ReplayWindowEsn, CaseAWindowInOneSubspace) {
  ReplayWindow w = Make(64, true, /*esn=*/true);
  const uint64_t top = (uint64_t{1} << 32) | 256;  // Th = 1, Tl = 256, Bl = 193
  ASSERT_EQ(w.Accept(top), V::kOk);
  ReplayWindow::Check in_window = w.Precheck(200);  // Seql >= Bl: Seqh = Th
  EXPECT_EQ(in_window.verdict, V::kOk);
  EXPECT_EQ(in_window.seq, (uint64_t{1} << 32) | 200);
  ReplayWindow::Check next_space = w.Precheck(100);  // Seql < Bl: Seqh = Th + 1
  EXPECT_EQ(next_space.verdict, V::kOk);
  EXPECT_EQ(next_space.seq, (uint64_t{2} << 32) | 100);
  EXPECT_EQ(w.Precheck(256).verdict, V::kReplayed);
}

// Case B: Tl < W - 1, the window spans the end of one subspace and the start
// of the next.
TEST(ReplayWindowEsn, CaseBWindowSpansTwoSubspaces) {
  ReplayWindow w = Make(64, true, true);
  const uint64_t top = (uint64_t{1} << 32) | 16;  // Th = 1, Tl = 16, Bl = 16 - 63 mod 2^32
  ASSERT_EQ(w.Accept(top), V::kOk);
  ReplayWindow::Check late = w.Precheck(0xFFFFFFF0u);  // Seql >= Bl: Seqh = Th - 1
  EXPECT_EQ(late.verdict, V::kOk);
  EXPECT_EQ(late.seq, 0xFFFFFFF0u);
  ReplayWindow::Check current = w.Precheck(5);  // Seql < Bl: Seqh = Th
  EXPECT_EQ(current.seq, (uint64_t{1} << 32) | 5);
  // Left of the window, the RFC's rule reads a number as the next subspace's
  // (Seqh = Th): far in the future. The ICV covers the high bits, so such a
  // packet fails verification and is never accepted.
  ReplayWindow::Check left = w.Precheck(0xFFFFFFC0u);
  EXPECT_EQ(left.verdict, V::kOk);
  EXPECT_EQ(left.seq, (uint64_t{1} << 32) | 0xFFFFFFC0u);
}

TEST(ReplayWindowEsn, CrossesTheWrapAndRejectsSubspaceMinusOne) {
  ReplayWindow w = Make(64, true, true);
  // Before anything arrived, a number from "subspace -1" cannot exist.
  EXPECT_EQ(w.Precheck(0xFFFFFFF0u).verdict, V::kTooOld);
  ASSERT_EQ(Receive(w, 1), V::kOk);
  ASSERT_EQ(w.Accept(0xFFFFFF00u), V::kOk);  // the SA has been busy
  ASSERT_EQ(Receive(w, 0xFFFFFFFEu), V::kOk);
  ASSERT_EQ(Receive(w, 0xFFFFFFFFu), V::kOk);
  ASSERT_EQ(Receive(w, 0), V::kOk);  // 2^32: zero on the wire, valid with ESN
  EXPECT_EQ(w.highest(), uint64_t{1} << 32);
  ASSERT_EQ(Receive(w, 1), V::kOk);
  EXPECT_EQ(Receive(w, 0xFFFFFFFFu), V::kReplayed);  // late copy from subspace 0
  EXPECT_EQ(Receive(w, 0xFFFFFFFDu), V::kOk);        // late, never seen
}

// A naive model of RFC 4303 §3.4.3: the set of accepted numbers and the top.
class Reference {
 public:
  explicit Reference(uint32_t size) : size_(size) {}
  V Receive(uint64_t seq) {
    if (seq == 0) return V::kBadSequence;
    if (seq <= top_ && top_ - seq >= size_) return V::kTooOld;
    if (!seen_.insert(seq).second) return V::kReplayed;
    if (seq > top_) top_ = seq;
    return V::kOk;
  }
  uint64_t top() const { return top_; }

 private:
  uint32_t size_;
  uint64_t top_ = 0;
  std::set<uint64_t> seen_;
};

TEST(ReplayWindow, MatchesTheReferenceOnRandomTraffic) {
  std::mt19937_64 rng(4303);
  for (uint32_t size : {32u, 64u, 100u, 1000u, 4096u}) {
    ReplayWindow w = Make(size);
    Reference ref(size);
    for (int i = 0; i < 200000; ++i) {
      // Mostly forward with reordering, some duplicates, some far-old, some jumps.
      int64_t base = static_cast<int64_t>(ref.top());
      int64_t delta;
      switch (rng() % 10) {
        case 0: delta = -static_cast<int64_t>(rng() % (2 * size + 10)); break;
        case 1: delta = static_cast<int64_t>(rng() % 20000); break;
        case 2: delta = 0; break;
        default: delta = static_cast<int64_t>(rng() % 8) - 3;
      }
      int64_t s = base + delta;
      if (s < 0 || s > static_cast<int64_t>(UINT32_MAX)) s = base + 1;
      ASSERT_EQ(Receive(w, static_cast<uint32_t>(s)), ref.Receive(static_cast<uint64_t>(s)))
          << "size " << size << " step " << i << " seq " << s << " top " << ref.top();
    }
  }
}

TEST(ReplayWindowEsn, MatchesTheReferenceAcrossSubspaceBoundaries) {
  std::mt19937_64 rng(7);
  for (uint32_t size : {32u, 64u, 4096u}) {
    ReplayWindow w = Make(size, true, true);
    Reference ref(size);
    uint64_t start = 0xFFFF0000u;
    ASSERT_EQ(w.Accept(start), V::kOk);
    ASSERT_EQ(ref.Receive(start), V::kOk);
    for (int i = 0; i < 300000; ++i) {
      uint64_t top = ref.top();
      // Numbers the RFC's inference recovers exactly: not left of the window.
      uint64_t lo = top >= size - 1 ? top - (size - 1) : 1;
      uint64_t s = (rng() % 4 == 0) ? lo + rng() % (top - lo + 1) : top + rng() % 40;
      ReplayWindow::Check c = w.Precheck(static_cast<uint32_t>(s));
      V got = c.verdict;
      if (got == V::kOk) {
        ASSERT_EQ(c.seq, s) << "inferred the wrong subspace";
        got = w.Accept(c.seq);
      }
      ASSERT_EQ(got, ref.Receive(s)) << "size " << size << " seq " << s;
    }
    EXPECT_GT(w.highest(), uint64_t{1} << 32);  // crossed at least one wrap
  }
}

}  // namespace
}  // namespace vpnfleet::dataplane
