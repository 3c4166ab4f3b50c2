// The reader's cost grows with the size of what it reads, not with its
// square: a configuration of tens of thousands of lists, transform sets,
// map entries, keys or trustpoints (a hub's, or a hostile upload of a few
// megabytes) reads in about the time it takes to split its lines.
//
// Each shape is read at n and at 16n lines, timed in this thread's CPU
// time (what other processes do to the machine counts less), and the ratio
// must stay far below the 256 of a quadratic walk: 48 leaves room for the
// cache and allocation effects of the larger copy and for a busy machine
// (measured 15-17 alone), while one nested walk over what was read so far
// shows as 100 or more.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/controller/ios/ios_parser.h"

namespace vpnfleet::controller::ios {
namespace {

double ThreadCpuSeconds() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The fastest of three reads, so one preemption or page-fault burst does
// not decide the verdict.
double SecondsToRead(const std::string& text) {
  double best = 1e9;
  for (int i = 0; i < 3; ++i) {
    const double t0 = ThreadCpuSeconds();
    ParseResult r = ParseIosConfig(text, "scale");
    best = std::min(best, ThreadCpuSeconds() - t0);
    EXPECT_FALSE(r.config.crypto_maps().empty() && r.config.access_lists().empty() &&
                 r.config.transform_sets().empty() && r.config.isakmp_policies().empty() &&
                 r.config.pre_shared_keys().empty() && r.config.trustpoints().empty())
        << "nothing was read: the shape measures the wrong path";
  }
  return best;
}

using Shape = std::function<std::string(int n)>;

std::string Octets(int i) { return absl::StrCat(10 + i / 65536, ".", (i / 256) % 256, ".", i % 256); }

// A map entry whose ACL is named, so FinishAcls reads every list.
std::string MatchedLists(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "ip access-list extended L", i, "\n permit ip host ", Octets(i), " any\n");
  }
  absl::StrAppend(&s, "crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac\n");
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto map M ", i + 1, " ipsec-isakmp\n set peer ", Octets(i),
                    "\n set transform-set T\n match address L", i, "\n");
  }
  return s;
}

std::string UnmatchedNumberedLists(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "access-list ", 100 + i % 100, " permit tcp any host ", Octets(i), " eq 80\n",
                    "ip access-list extended NAT", i, "\n permit ip any any\n");
  }
  return s;
}

std::string OneLongList(int n) {
  std::string s = "ip access-list extended BIG\n";
  for (int i = 0; i < n; ++i) absl::StrAppend(&s, " permit ip host ", Octets(i), " any\n");
  return s + "crypto ipsec transform-set T esp-gcm 256\n"
             "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.1\n set transform-set T\n match address BIG\n";
}

std::string TransformSets(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto ipsec transform-set T", i, " esp-aes 256 esp-sha256-hmac\n mode tunnel\n");
  }
  absl::StrAppend(&s, "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.1\n set transform-set");
  for (int i = 0; i < 6; ++i) absl::StrAppend(&s, " T", i * (n / 6));
  return s + "\n";
}

std::string Maps(int n) {
  std::string s = "crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac\n";
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto map M", i, " 10 ipsec-isakmp\n set peer ", Octets(i), "\n set transform-set T\n");
  }
  for (int i = 0; i < n; ++i) absl::StrAppend(&s, "interface Gi", i, "\n crypto map M", i, "\n");
  return s;
}

std::string IsakmpPoliciesAndKeys(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto isakmp policy ", i + 1, "\n encr aes 256\n authentication pre-share\n group 14\n",
                    "crypto isakmp key k", i, " address ", Octets(i), "\n");
  }
  return s;
}

std::string Trustpoints(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto pki trustpoint TP", i, "\n enrollment url http://ca.example/scep\n",
                    " subject-name CN=r", i, "\n revocation-check none\n");
  }
  return s;
}

std::string Ikev2(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto ikev2 keyring K", i, "\n peer p\n  address ", Octets(i),
                    "\n  pre-shared-key k", i, "\ncrypto ikev2 profile P", i, "\n match identity remote address ",
                    Octets(i), " 255.255.255.255\n authentication remote pre-share\n",
                    " authentication local pre-share\n keyring local K", i, "\n");
  }
  absl::StrAppend(&s, "crypto ipsec transform-set T esp-gcm 256\n");
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&s, "crypto map M ", i + 1, " ipsec-isakmp\n set peer ", Octets(i),
                    "\n set transform-set T\n set ikev2-profile P", i, "\n");
  }
  return s;
}

struct Case {
  const char* name;
  Shape shape;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class IosScaleTest : public ::testing::TestWithParam<Case> {};

TEST_P(IosScaleTest, SixteenTimesTheLinesIsAboutSixteenTimesTheWork) {
  // Sized so the larger file is about 6 MB (the limit is 8 MiB) and the
  // smaller one takes milliseconds, not microseconds, to read.
  const size_t unit = GetParam().shape(1000).size() / 1000;
  const int large_n = static_cast<int>((6u << 20) / unit);
  const std::string small = GetParam().shape(large_n / 16);
  const std::string large = GetParam().shape(large_n);
  ASSERT_LE(large.size(), kMaxConfigBytes) << "a file that large is refused before it is read";
  const double t_small = SecondsToRead(small);
  const double t_large = SecondsToRead(large);
  const double ratio = t_large / std::max(t_small, 1e-4);
  std::printf("%s: %zu bytes in %.3f s, %zu bytes in %.3f s (ratio %.1f)\n", GetParam().name, small.size(), t_small,
              large.size(), t_large, ratio);
  EXPECT_LT(ratio, 48.0) << GetParam().name << " grows faster than its input";
}

INSTANTIATE_TEST_SUITE_P(Shapes, IosScaleTest,
                         ::testing::Values(Case{"matched_lists", MatchedLists},
                                           Case{"unmatched_lists", UnmatchedNumberedLists},
                                           Case{"one_long_list", OneLongList},
                                           Case{"transform_sets", TransformSets}, Case{"maps", Maps},
                                           Case{"isakmp", IsakmpPoliciesAndKeys},
                                           Case{"trustpoints", Trustpoints}, Case{"ikev2", Ikev2}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace vpnfleet::controller::ios
