// Asks OCSP responders on behalf of the IKE SAs (`revocation-check ocsp`),
// off the engine thread: a few workers (so that one responder that does not
// answer — the HTTP client gives up on a connect after 10 s — does not hold
// up the others), one question in flight per certificate however many SAs
// wait for it, a bounded queue. Each verdict,
// or "unavailable" when no trustworthy answer came, goes into the cache
// the trust store reads; then `answered(key)` tells the manager, which
// resumes the waiting SAs.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_OCSP_FETCHER_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_OCSP_FETCHER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"
#include "services/ike/auth/ocsp.h"

namespace vpnfleet::ike {

// HTTP POST of an OCSPRequest to `url`; the response body.
using OcspPost =
    std::function<absl::StatusOr<std::string>(const std::string& url, const std::string& body)>;

class OcspFetcher {
 public:
  static constexpr size_t kMaxQueued = 256;
  static constexpr int kWorkers = 4;

  // `post` may be null: every question is then answered "unavailable".
  OcspFetcher(std::shared_ptr<auth::OcspCache> cache, const Clock* clock, OcspPost post,
              std::function<void(const std::string& key)> answered,
              prometheus::Registry& registry);
  ~OcspFetcher();  // waits for the questions in flight

  // Queues `query` unless the same certificate is already asked about.
  void Ask(auth::OcspQuery query);

 private:
  void Run();
  void Answer(const auth::OcspQuery& q);

  std::shared_ptr<auth::OcspCache> cache_;
  const Clock* clock_;
  OcspPost post_;
  std::function<void(const std::string&)> answered_;
  prometheus::Family<prometheus::Counter>& checks_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<auth::OcspQuery> queue_;
  std::set<std::string> asked_;  // queued or in flight
  bool stop_ = false;
  std::vector<std::thread> workers_;  // last: started once the rest is ready
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_OCSP_FETCHER_H_
