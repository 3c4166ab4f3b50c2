// The engine's Prometheus series (vpnfleet_ike_*), registered once.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_IKE_METRICS_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_IKE_METRICS_H_

#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vpnfleet::ike {

struct DosSettings {
  size_t half_open_limit = 1000;
  size_t cookie_threshold = 64;
  absl::Duration half_open_timeout = absl::Seconds(10);
};

struct IkeMetrics {
  // Also publishes the DoS settings beside the gauge they bound, so an
  // alert can compare the two.
  IkeMetrics(prometheus::Registry& registry, const DosSettings& dos);

  prometheus::Family<prometheus::Counter>& started;    // {role, version}
  prometheus::Family<prometheus::Counter>& succeeded;  // {role, version}
  prometheus::Family<prometheus::Counter>& failed;     // {reason}
  prometheus::Histogram& setup_seconds;
  prometheus::Gauge& active_ike;
  prometheus::Gauge& half_open;
  prometheus::Gauge& active_child;
  prometheus::Gauge& crypto_jobs;
  prometheus::Counter& child_rekeys;
  prometheus::Counter& ike_rekeys;
  prometheus::Counter& retransmits;
  prometheus::Counter& dpd_failures;
  prometheus::Counter& cookies_sent;
  prometheus::Counter& half_open_refused;
  prometheus::Family<prometheus::Counter>& refused;      // {reason}
  prometheus::Family<prometheus::Counter>& invalid_spi;  // {action}
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_IKE_METRICS_H_
