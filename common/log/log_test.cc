#include "common/log/log.h"

#include "common/log/rate_limit.h"

#include "gtest/gtest.h"

namespace vpnfleet::log {
namespace {

TEST(JsonEscape, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("line\nnext\t"), "line\\nnext\\t");
  EXPECT_EQ(JsonEscape(std::string("\x01", 1)), "\\u0001");
  EXPECT_EQ(JsonEscape("plain"), "plain");
}

TEST(FormatBody, JsonHasMessageAndFieldsAsStrings) {
  EXPECT_EQ(FormatBody(Format::kJson, "SA added", {{"sa", "esp/0x100"}, {"n", 3}}),
            R"("msg":"SA added","sa":"esp/0x100","n":"3")");
}

TEST(FormatBody, JsonCannotBeBrokenByAFieldValue) {
  EXPECT_EQ(FormatBody(Format::kJson, "x", {{"peer", "a\",\"injected\":\"1"}}),
            R"("msg":"x","peer":"a\",\"injected\":\"1")");
}

TEST(FormatBody, TextQuotesValuesWithSpacesOnly) {
  EXPECT_EQ(FormatBody(Format::kText, "serving", {{"port", 7403}, {"error", "no route"}}),
            "serving port=7403 error=\"no route\"");
  EXPECT_EQ(FormatBody(Format::kText, "x", {{"empty", ""}}), "x empty=\"\"");
}

TEST(Parse, FormatsAndLevels) {
  Format f;
  Level l;
  EXPECT_TRUE(ParseFormat("JSON", &f).ok());
  EXPECT_EQ(f, Format::kJson);
  EXPECT_FALSE(ParseFormat("xml", &f).ok());
  EXPECT_TRUE(ParseLevel("warning", &l).ok());
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &l).ok());
}

TEST(Enabled, FollowsTheLevelGivenToInit) {
  Init("log_test", Format::kText, Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kDebug));
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kWarn));
  EXPECT_TRUE(Enabled(Level::kError));
  Init("log_test", Format::kText, Level::kDebug);
  EXPECT_TRUE(Enabled(Level::kDebug));
  Init("log_test", Format::kText, Level::kInfo);
  EXPECT_FALSE(Enabled(Level::kDebug));
}

TEST(RateLimit, BurstThenOneWindowAtATimeCountingWhatWasHeldBack) {
  RateLimit limit(absl::Seconds(10), 2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  uint64_t held = 99;
  EXPECT_TRUE(limit.Allow(t0, &held));
  EXPECT_EQ(held, 0u);
  EXPECT_TRUE(limit.Allow(t0 + absl::Seconds(1), &held));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limit.Allow(t0 + absl::Seconds(2), &held));
  EXPECT_TRUE(limit.Allow(t0 + absl::Seconds(12), &held));
  EXPECT_EQ(held, 5u);
  EXPECT_TRUE(limit.Allow(t0 + absl::Seconds(13), &held));
  EXPECT_EQ(held, 0u);
}

}  // namespace
}  // namespace vpnfleet::log
