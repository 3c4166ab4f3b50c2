// Every line of an IOS configuration is accounted for: it is in the policy,
// it has a diagnostic, or it is skipped with a reason. "In the policy" is
// checked by blanking the line: what it held must then be missing.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/testing/testdata.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "services/controller/ios/ios_parser.h"

namespace vpnfleet::controller::ios {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return vpnfleet::testing::ReadTestData("services/controller/ios/testdata/" + name);
}

// What a parse says, line numbers kept: diagnostics, skipped ranges, policy.
std::string Outcome(const ParseResult& r) {
  std::string out = r.config.SerializeAsString();
  for (const auto& d : r.diagnostics) {
    absl::StrAppend(&out, "|", d.severity(), ":", d.line(), ":", d.entry(), ":", d.field(), ":", d.message());
  }
  return out;
}

struct Fates {
  std::map<uint32_t, std::string> skipped;  // line → reason
  std::set<uint32_t> diagnosed;
  std::vector<uint32_t> read;
};

Fates Account(const std::vector<std::string>& lines, const ParseResult& r) {
  Fates f;
  for (const auto& d : r.diagnostics) {
    if (d.line() > 0) f.diagnosed.insert(d.line());
  }
  for (const auto& s : r.skipped) {
    EXPECT_LE(s.first_line, s.last_line);
    for (uint32_t l = s.first_line; l <= s.last_line && l <= lines.size(); ++l) {
      if (absl::StripAsciiWhitespace(lines[l - 1]).empty()) continue;
      EXPECT_TRUE(f.skipped.emplace(l, s.reason).second) << "line " << l << " skipped twice";
    }
  }
  for (uint32_t l = 1; l <= lines.size(); ++l) {
    if (absl::StripAsciiWhitespace(lines[l - 1]).empty()) continue;
    if (!f.skipped.count(l) && !f.diagnosed.count(l)) f.read.push_back(l);
  }
  return f;
}

// A line about crypto must never be skipped as something that is not.
bool MentionsCrypto(const std::string& line) {
  std::string lower = absl::AsciiStrToLower(line);
  for (absl::string_view word : {"crypto", "isakmp", "ikev2", "ipsec", "pre-shared", "transform-set"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

void ExpectEveryLineAccountedFor(const std::string& name) {
  SCOPED_TRACE(name);
  const std::string text = Fixture(name);
  const std::vector<std::string> lines = absl::StrSplit(text, '\n');
  const ParseResult r = ParseIosConfig(text);
  const Fates f = Account(lines, r);
  for (const auto& [line, reason] : f.skipped) {
    EXPECT_FALSE(f.diagnosed.count(line)) << "line " << line << " is skipped and has a diagnostic";
    EXPECT_FALSE(reason.empty()) << "line " << line;
    const bool not_crypto = reason == kSkipNotCrypto || reason == kSkipInterface;
    // An interface list that lets IKE in names isakmp as a port: it is a
    // list no crypto map matches, not skipped as "not crypto".
    EXPECT_FALSE(not_crypto && MentionsCrypto(lines[line - 1]))
        << "line " << line << " '" << lines[line - 1] << "' skipped as: " << reason;
  }
  // Each line said to be read holds something: without it the policy or
  // the diagnostics differ. A line said again later (skipped as "the same
  // ... as line L") is blanked together with its repeats.
  std::map<uint32_t, std::vector<uint32_t>> repeats;
  for (const auto& [line, reason] : f.skipped) {
    size_t at = reason.find("as line ");
    if (absl::StartsWith(reason, "the same ") && at != std::string::npos) {
      uint32_t of = 0;
      ASSERT_TRUE(absl::SimpleAtoi(reason.substr(at + 8, reason.find(':', at) - at - 8), &of)) << reason;
      repeats[of].push_back(line);
    }
  }
  const std::string whole = Outcome(r);
  for (uint32_t l : f.read) {
    std::vector<std::string> without = lines;
    without[l - 1] = "";
    for (uint32_t again : repeats[l]) without[again - 1] = "";
    const ParseResult other = ParseIosConfig(absl::StrJoin(without, "\n"));
    EXPECT_TRUE(Outcome(other) != whole) << "line " << l << " '" << lines[l - 1]
                                         << "' is neither skipped nor diagnosed, yet nothing reads it";
  }
}

TEST(IosLines, EveryLineOfEveryFixtureIsReadDiagnosedOrSkippedWithAReason) {
  for (const char* name : {"branch1.cfg", "vpn101.cfg", "rsa-encr.cfg", "ikev2-hub.cfg", "isakmp-profile.cfg",
                           "branch-running-config.cfg", "vti-hub.cfg"}) {
    ExpectEveryLineAccountedFor(name);
  }
}

// A whole running configuration imports: NAT and line lists (standard),
// an interface list with established/echo-reply that no crypto map uses,
// routing and AAA are skipped with reasons, the crypto is read.
TEST(IosLines, AWholeRunningConfigurationImports) {
  const ParseResult r = ParseIosConfig(Fixture("branch-running-config.cfg"));
  std::string diagnostics;
  for (const auto& d : r.diagnostics) absl::StrAppend(&diagnostics, d.line(), ": ", d.message(), "\n");
  ASSERT_TRUE(r.ok()) << diagnostics;
  ASSERT_EQ(r.config.access_lists_size(), 1) << "only the crypto ACL";
  EXPECT_EQ(r.config.access_lists(0).name(), "VPN-TRAFFIC");
  EXPECT_EQ(r.config.crypto_maps(0).entries(0).peers_size(), 2);
  std::set<std::string> reasons;
  for (const auto& s : r.skipped) reasons.insert(s.reason);
  EXPECT_TRUE(reasons.count(std::string(kSkipNotCrypto)));
  EXPECT_TRUE(reasons.count(std::string(kSkipInterface)));
  EXPECT_TRUE(reasons.count("a standard access list: not a crypto ACL, and no crypto map matches it"));
  bool outside_in = false;
  for (const auto& s : r.skipped) {
    outside_in = outside_in || (absl::StrContains(s.reason, "no crypto map matches") &&
                                absl::StrContains(s.reason, "established"));
  }
  EXPECT_TRUE(outside_in) << "OUTSIDE-IN is skipped, saying which word is not a selector";
}

// Route-based tunnels are refused where they are written; the lines under
// a refused `crypto ipsec profile` go with it, not as "not crypto".
TEST(IosLines, RouteBasedTunnelsAreRefusedLineByLine) {
  const std::string text = Fixture("vti-hub.cfg");
  const std::vector<std::string> lines = absl::StrSplit(text, '\n');
  const ParseResult r = ParseIosConfig(text);
  EXPECT_FALSE(r.ok());
  std::map<std::string, uint32_t> line_of;
  for (uint32_t l = 1; l <= lines.size(); ++l) line_of[std::string(absl::StripAsciiWhitespace(lines[l - 1]))] = l;
  std::map<uint32_t, std::string> errors;
  for (const auto& d : r.diagnostics) errors[d.line()] = d.message();
  EXPECT_THAT(errors[line_of["crypto ipsec profile SPOKES"]], HasSubstr("unsupported"));
  EXPECT_THAT(errors[line_of["tunnel mode ipsec ipv4"]], HasSubstr("route-based tunnels"));
  EXPECT_THAT(errors[line_of["tunnel protection ipsec profile SPOKES"]], HasSubstr("route-based tunnels"));
  EXPECT_EQ(errors.size(), 3u);
  Fates f = Account(lines, r);
  EXPECT_THAT(f.skipped[line_of["set pfs group14"]],
              HasSubstr(absl::StrCat("part of the command on line ", line_of["crypto ipsec profile SPOKES"])));
  // The crypto map beside them is read all the same.
  EXPECT_EQ(r.config.crypto_maps(0).entries(0).match_address(), "150");
}

}  // namespace
}  // namespace vpnfleet::controller::ios
