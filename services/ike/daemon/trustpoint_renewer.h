// IOS's `auto-enroll PERCENT` for the IKE daemon's trustpoints: a trustpoint
// with an enrollment URL renews its own certificate over SCEP (RenewalReq
// with a new key, signed by the current pair) once PERCENT of its lifetime
// has passed, and fetches its CA's CRL on a schedule when it checks
// revocation. New files are written beside the old ones and swapped in; the
// daemon notices them (trustpoints.h) and signs the next IKE SAs with the
// new certificate while the SAs already up stay as they are. Exports each
// certificate's expiry and the renewals and CRL fetches, by outcome.
//
// One pass is RunOnce (tests drive it with their own clock and an
// in-process SCEP server); Start runs passes on a thread of its own.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_TRUSTPOINT_RENEWER_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_TRUSTPOINT_RENEWER_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/pki/scep/client.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

struct RenewerOptions {
  std::string pki_dir;  // DIR/NAME/{ca,cert,key,crl}.pem
  absl::Duration check_interval = absl::Seconds(30);
  // A CRL is fetched again this long after the last one (sooner when the
  // one on disk is past its nextUpdate).
  absl::Duration crl_refresh = absl::Minutes(15);
  // After a failed renewal, the next try waits this long.
  absl::Duration retry_after = absl::Minutes(1);
};

class TrustpointRenewer {
 public:
  using ConfigSource = std::function<vpnfleet::ike::v1::IkeConfig()>;
  using TransportFactory =
      std::function<absl::StatusOr<std::unique_ptr<pki::scep::HttpTransport>>(const std::string& url)>;

  // What one pass did to one trustpoint.
  struct Outcome {
    std::string trustpoint;
    enum class Action { kNone, kRenewed, kRenewFailed, kCrlFetched, kCrlFailed } action = Action::kNone;
    std::string detail;  // the new serial, or the error; no secrets
  };

  TrustpointRenewer(const Clock* clock, ConfigSource config, TransportFactory transport,
                    prometheus::Registry* registry, RenewerOptions options);
  ~TrustpointRenewer();  // stops the thread

  std::vector<Outcome> RunOnce();
  void Start();

 private:
  Outcome Renew(const vpnfleet::ike::v1::Trustpoint& tp, absl::Time now);
  Outcome FetchCrl(const vpnfleet::ike::v1::Trustpoint& tp, absl::Time now);

  const Clock* clock_;
  ConfigSource config_;
  TransportFactory transport_;
  RenewerOptions options_;
  std::map<std::string, absl::Time> next_renew_try_, next_crl_;

  prometheus::Family<prometheus::Gauge>* expiry_ = nullptr;
  prometheus::Family<prometheus::Counter>* renewals_ = nullptr;
  prometheus::Family<prometheus::Counter>* crl_fetches_ = nullptr;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_TRUSTPOINT_RENEWER_H_
