#include "common/log/log.h"

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

}  // namespace
}  // namespace vpnfleet::log
