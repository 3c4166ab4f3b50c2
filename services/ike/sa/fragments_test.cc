#include "services/ike/sa/fragments.h"

#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

SkCipher::Opened Frag(uint32_t mid, uint16_t number, uint16_t total, std::string inner,
                      uint8_t first = 0) {
  SkCipher::Opened f;
  f.header.message_id = mid;
  f.fragment_number = number;
  f.total_fragments = total;
  f.first_inner = number == 1 ? first : 0;
  f.inner = std::move(inner);
  return f;
}

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(FragmentReassembly, InAnyOrderWithTheFirstPayloadFromFragmentOne) {
  FragmentReassembly r;
  SkCipher::Opened whole;
  EXPECT_EQ(r.Add(Frag(1, 3, 3, "ccc"), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.Add(Frag(1, 1, 3, "aaa", 35), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.Add(Frag(1, 1, 3, "aaa", 35), kT0, &whole), FragmentReassembly::Outcome::kDropped);
  EXPECT_EQ(r.Add(Frag(1, 2, 3, "bb"), kT0, &whole), FragmentReassembly::Outcome::kComplete);
  EXPECT_EQ(whole.inner, "aaabbccc");
  EXPECT_EQ(whole.first_inner, 35);
  EXPECT_EQ(whole.header.message_id, 1u);
  EXPECT_TRUE(r.empty());
}

TEST(FragmentReassembly, ANewMessageOrTotalStartsOver) {
  FragmentReassembly r;
  SkCipher::Opened whole;
  EXPECT_EQ(r.Add(Frag(1, 1, 2, "old", 35), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.Add(Frag(2, 2, 2, "new2"), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.Add(Frag(2, 1, 2, "new1", 41), kT0, &whole), FragmentReassembly::Outcome::kComplete);
  EXPECT_EQ(whole.inner, "new1new2");
  // The sender re-fragmented (§2.6.2): 3 pieces now instead of 2.
  EXPECT_EQ(r.Add(Frag(3, 1, 2, "x", 41), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.Add(Frag(3, 1, 3, "y", 41), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.bytes(), 1u);
}

TEST(FragmentReassembly, BoundedInCountSizeAndTime) {
  FragmentReassembly r;
  SkCipher::Opened whole;
  EXPECT_EQ(r.Add(Frag(1, 1, FragmentReassembly::kMaxFragments + 1, "a"), kT0, &whole),
            FragmentReassembly::Outcome::kDropped);
  EXPECT_EQ(r.Add(Frag(1, 0, 2, "a"), kT0, &whole), FragmentReassembly::Outcome::kDropped);
  EXPECT_EQ(r.Add(Frag(1, 3, 2, "a"), kT0, &whole), FragmentReassembly::Outcome::kDropped);
  const std::string big(FragmentReassembly::kMaxBytes / 2 + 1, 'z');
  EXPECT_EQ(r.Add(Frag(1, 1, 3, big), kT0, &whole), FragmentReassembly::Outcome::kKept);
  EXPECT_EQ(r.Add(Frag(1, 2, 3, big), kT0, &whole), FragmentReassembly::Outcome::kDropped);
  EXPECT_FALSE(r.empty());
  r.Expire(kT0 + FragmentReassembly::kTimeout - absl::Seconds(1));
  EXPECT_FALSE(r.empty());
  r.Expire(kT0 + FragmentReassembly::kTimeout);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.bytes(), 0u);
}

}  // namespace
}  // namespace vpnfleet::ike
