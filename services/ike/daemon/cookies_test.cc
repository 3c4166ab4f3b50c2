#include "services/ike/daemon/cookies.h"

#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(CookieSecrets, BoundToTheInitiatorAndTakenForTwoPeriods) {
  SeededRng rng(7);
  CookieSecrets c(&rng, absl::Minutes(2));
  const std::string cookie = c.Make("nonce-i", "198.51.100.9", 0x1122, kT0);
  EXPECT_EQ(cookie.size(), CookieSecrets::kSize);
  EXPECT_TRUE(c.Check(cookie, "nonce-i", "198.51.100.9", 0x1122, kT0 + absl::Seconds(1)));
  // Another nonce, address or SPI: refused.
  EXPECT_FALSE(c.Check(cookie, "nonce-x", "198.51.100.9", 0x1122, kT0));
  EXPECT_FALSE(c.Check(cookie, "nonce-i", "198.51.100.8", 0x1122, kT0));
  EXPECT_FALSE(c.Check(cookie, "nonce-i", "198.51.100.9", 0x1123, kT0));
  std::string flipped = cookie;
  flipped[5] ^= 1;
  EXPECT_FALSE(c.Check(flipped, "nonce-i", "198.51.100.9", 0x1122, kT0));
  EXPECT_FALSE(c.Check(cookie.substr(1), "nonce-i", "198.51.100.9", 0x1122, kT0));
  // After one rotation the old secret still answers; after two, not.
  const absl::Time t1 = kT0 + absl::Minutes(2);
  const std::string fresh = c.Make("nonce-i", "198.51.100.9", 0x1122, t1);
  EXPECT_NE(fresh, cookie);
  EXPECT_TRUE(c.Check(cookie, "nonce-i", "198.51.100.9", 0x1122, t1));
  EXPECT_TRUE(c.Check(fresh, "nonce-i", "198.51.100.9", 0x1122, t1));
  const absl::Time t2 = t1 + absl::Minutes(2);
  EXPECT_FALSE(c.Check(cookie, "nonce-i", "198.51.100.9", 0x1122, t2));
  EXPECT_TRUE(c.Check(fresh, "nonce-i", "198.51.100.9", 0x1122, t2));
}

TEST(CookieSecrets, AQuietSpellForgetsBothSecrets) {
  SeededRng rng(7);
  CookieSecrets c(&rng, absl::Minutes(2));
  const std::string cookie = c.Make("n", "a", 1, kT0);
  EXPECT_FALSE(c.Check(cookie, "n", "a", 1, kT0 + absl::Minutes(10)));
}

}  // namespace
}  // namespace vpnfleet::ike
