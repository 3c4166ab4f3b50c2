#include "services/dataplane/sad/lifetime.h"

#include "common/clock/clock.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

// The seed's SA: "lifetime of 3600 seconds, lifetime of 4608000 kilobytes",
// with a soft limit at 90% as IOS rekeys.
TEST(SaLifetime, SoftOnceThenHardBySeconds) {
  FakeClock clock;
  const absl::Time added = clock.Now();
  SaLifetime l({3240, 4147200, 0}, {3600, 4608000, 0}, 0, added);
  EXPECT_EQ(l.Check(clock.Now(), 0, 0, added).kind, ExpiryKind::kNone);
  EXPECT_EQ(l.RemainingSeconds(clock.Now()), 3600u);
  EXPECT_EQ(l.RemainingKilobytes(0), 4608000u);
  clock.Advance(absl::Seconds(3240));
  Expiry soft = l.Check(clock.Now(), 0, 0, added);
  EXPECT_EQ(soft.kind, ExpiryKind::kSoft);
  EXPECT_EQ(soft.reason, v1::Expire::REASON_SECONDS);
  EXPECT_EQ(l.Check(clock.Now(), 0, 0, added).kind, ExpiryKind::kNone);  // reported once
  EXPECT_EQ(l.RemainingSeconds(clock.Now()), 360u);
  clock.Advance(absl::Seconds(360));
  Expiry hard = l.Check(clock.Now(), 0, 0, added);
  EXPECT_EQ(hard.kind, ExpiryKind::kHard);
  EXPECT_EQ(hard.reason, v1::Expire::REASON_SECONDS);
  EXPECT_EQ(l.RemainingSeconds(clock.Now()), 0u);
}

TEST(SaLifetime, KilobytesAndPackets) {
  FakeClock clock;
  SaLifetime l({0, 100, 0}, {0, 200, 1000}, 0, clock.Now());
  EXPECT_EQ(l.Check(clock.Now(), 100 * 1024 - 1, 5, clock.Now()).kind, ExpiryKind::kNone);
  Expiry soft = l.Check(clock.Now(), 100 * 1024, 5, clock.Now());
  EXPECT_EQ(soft.kind, ExpiryKind::kSoft);
  EXPECT_EQ(soft.reason, v1::Expire::REASON_KILOBYTES);
  EXPECT_EQ(l.RemainingKilobytes(150 * 1024), 50u);
  Expiry by_packets = l.Check(clock.Now(), 150 * 1024, 1000, clock.Now());
  EXPECT_EQ(by_packets.kind, ExpiryKind::kHard);
  EXPECT_EQ(by_packets.reason, v1::Expire::REASON_PACKETS);
}

TEST(SaLifetime, IdleTimeCountsFromLastUseOrCreation) {
  FakeClock clock;
  const absl::Time added = clock.Now();
  SaLifetime l({}, {86400, 0, 0}, 300, added);
  clock.Advance(absl::Seconds(200));
  const absl::Time used = clock.Now();
  clock.Advance(absl::Seconds(299));
  EXPECT_EQ(l.Check(clock.Now(), 10, 1, used).kind, ExpiryKind::kNone);
  clock.Advance(absl::Seconds(1));
  Expiry idle = l.Check(clock.Now(), 10, 1, used);
  EXPECT_EQ(idle.kind, ExpiryKind::kHard);
  EXPECT_EQ(idle.reason, v1::Expire::REASON_IDLE);

  SaLifetime never_used({}, {}, 300, added);  // idle since it was added
  EXPECT_EQ(never_used.Check(added + absl::Seconds(300), 0, 0, absl::InfinitePast()).reason,
            v1::Expire::REASON_IDLE);
}

TEST(SaLifetime, NoLimitsNeverExpire) {
  FakeClock clock;
  SaLifetime l({}, {}, 0, clock.Now());
  clock.Advance(absl::Hours(24 * 365));
  EXPECT_EQ(l.Check(clock.Now(), UINT64_MAX, UINT64_MAX, clock.Now()).kind, ExpiryKind::kNone);
  EXPECT_EQ(l.RemainingSeconds(clock.Now()), 0u);
}

}  // namespace
}  // namespace vpnfleet::dataplane
