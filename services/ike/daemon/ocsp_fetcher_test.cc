// The OCSP fetcher: one POST per certificate however many SAs ask while it
// is in flight, the verdict (here "unavailable": the responder's answer is
// not one) cached before the manager hears of it, and no HTTP client or a
// transport error is an answer too.
#include "services/ike/daemon/ocsp_fetcher.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "gtest/gtest.h"

namespace vpnfleet::ike {
namespace {

auth::OcspQuery Query(const std::string& key) {
  auth::OcspQuery q;
  q.key = key;
  q.url = "http://127.0.0.1:1/ocsp";
  q.request_der = "request";
  return q;
}

struct Answers {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> keys;
  std::vector<bool> cached;  // was the verdict in the cache when we were told?
  void Add(const std::string& k, bool in_cache = true) {
    std::lock_guard<std::mutex> lock(mu);
    keys.push_back(k);
    cached.push_back(in_cache);
    cv.notify_all();
  }
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return keys.size() >= n; });
  }
};

TEST(OcspFetcher, OnePostPerCertificateAndTheCacheFilledFirst) {
  prometheus::Registry registry;
  FakeClock clock;
  auto cache = std::make_shared<auth::OcspCache>();
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open = false;
  int posts = 0;
  Answers answers;
  OcspFetcher fetcher(
      cache, &clock,
      [&](const std::string& url, const std::string& body) -> absl::StatusOr<std::string> {
        EXPECT_EQ(url, "http://127.0.0.1:1/ocsp");
        EXPECT_EQ(body, "request");
        std::unique_lock<std::mutex> lock(gate_mu);
        ++posts;
        gate_cv.wait(lock, [&] { return open; });
        return std::string("not an OCSP response");
      },
      [&](const std::string& key) { answers.Add(key, cache->Find(key, clock.Now()).has_value()); },
      registry);
  fetcher.Ask(Query("a"));
  fetcher.Ask(Query("a"));  // the same certificate while in flight: shared
  fetcher.Ask(Query("b"));
  {
    std::lock_guard<std::mutex> lock(gate_mu);
    open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(answers.WaitFor(2));
  EXPECT_EQ(posts, 2);
  std::vector<std::string> keys = answers.keys;  // workers answer in any order
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(answers.cached, (std::vector<bool>{true, true}));
  auto a = cache->Find("a", clock.Now());
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->verdict, auth::OcspVerdict::kUnavailable);
  EXPECT_EQ(a->detail, "the answer is not an OCSPResponse");
}

TEST(OcspFetcher, NoClientAndTransportErrorsAreUnavailable) {
  prometheus::Registry registry;
  FakeClock clock;
  auto cache = std::make_shared<auth::OcspCache>();
  Answers answers;
  {
    OcspFetcher none(cache, &clock, nullptr, [&](const std::string& k) { answers.Add(k); },
                     registry);
    none.Ask(Query("x"));
    ASSERT_TRUE(answers.WaitFor(1));
  }
  EXPECT_EQ(cache->Find("x", clock.Now())->detail, "no HTTP client");
  prometheus::Registry registry2;
  OcspFetcher failing(
      cache, &clock,
      [](const std::string&, const std::string&) -> absl::StatusOr<std::string> {
        return absl::UnavailableError("cannot reach 127.0.0.1:1");
      },
      [&](const std::string& k) { answers.Add(k); }, registry2);
  failing.Ask(Query("y"));
  ASSERT_TRUE(answers.WaitFor(2));
  auto y = cache->Find("y", clock.Now());
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(y->verdict, auth::OcspVerdict::kUnavailable);
  EXPECT_EQ(y->detail, "cannot reach 127.0.0.1:1");
  // Cached for a while only: asked again later.
  EXPECT_FALSE(cache->Find("y", clock.Now() + absl::Minutes(1)).has_value());
}

}  // namespace
}  // namespace vpnfleet::ike
