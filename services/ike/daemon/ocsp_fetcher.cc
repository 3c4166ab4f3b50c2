#include "services/ike/daemon/ocsp_fetcher.h"

#include "common/log/log.h"

namespace vpnfleet::ike {

OcspFetcher::OcspFetcher(std::shared_ptr<auth::OcspCache> cache, const Clock* clock, OcspPost post,
                         std::function<void(const std::string&)> answered,
                         prometheus::Registry& registry)
    : cache_(std::move(cache)),
      clock_(clock),
      post_(std::move(post)),
      answered_(std::move(answered)),
      checks_(prometheus::BuildCounter()
                  .Name("vpnfleet_ike_ocsp_checks_total")
                  .Help("OCSP questions about peers' certificates, by verdict (good, revoked, "
                        "unknown, unavailable).")
                  .Register(registry)) {
  for (auth::OcspVerdict v : {auth::OcspVerdict::kGood, auth::OcspVerdict::kRevoked,
                              auth::OcspVerdict::kUnknown, auth::OcspVerdict::kUnavailable}) {
    checks_.Add({{"verdict", auth::OcspVerdictName(v)}});
  }
  for (int i = 0; i < kWorkers; ++i) workers_.emplace_back([this] { Run(); });
}

OcspFetcher::~OcspFetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void OcspFetcher::Ask(auth::OcspQuery query) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || asked_.count(query.key) != 0) return;
    if (queue_.size() < kMaxQueued) {
      asked_.insert(query.key);
      queue_.push_back(std::move(query));
      cv_.notify_one();
      return;
    }
  }
  // Too many questions at once: this one is judged without an answer.
  cache_->Put(query.key,
              {auth::OcspVerdict::kUnavailable, clock_->Now() + absl::Seconds(5),
               "too many OCSP questions at once"},
              clock_->Now());
  checks_.Add({{"verdict", "unavailable"}}).Increment();
  answered_(query.key);
}

void OcspFetcher::Run() {
  for (;;) {
    auth::OcspQuery q;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      q = std::move(queue_.front());
      queue_.pop_front();
    }
    Answer(q);
    {
      std::lock_guard<std::mutex> lock(mu_);
      asked_.erase(q.key);
    }
    answered_(q.key);
  }
}

void OcspFetcher::Answer(const auth::OcspQuery& q) {
  auth::OcspAnswer a;
  if (!post_) {
    a = {auth::OcspVerdict::kUnavailable, clock_->Now() + absl::Seconds(30), "no HTTP client"};
  } else {
    auto body = post_(q.url, q.request_der);
    a = body.ok() ? auth::ReadOcspResponse(*body, q, clock_->Now())
                  : auth::OcspAnswer{auth::OcspVerdict::kUnavailable,
                                     clock_->Now() + absl::Seconds(30),
                                     std::string(body.status().message())};
  }
  checks_.Add({{"verdict", auth::OcspVerdictName(a.verdict)}}).Increment();
  if (a.verdict == auth::OcspVerdict::kGood) {
    log::Info("OCSP: peer certificate good", {{"responder", q.url}, {"subject", q.subject}});
  } else {
    log::Warn("OCSP: peer certificate not vouched for",
              {{"responder", q.url},
               {"subject", q.subject},
               {"verdict", auth::OcspVerdictName(a.verdict)},
               {"detail", a.detail}});
  }
  cache_->Put(q.key, std::move(a), clock_->Now());
}

}  // namespace vpnfleet::ike
