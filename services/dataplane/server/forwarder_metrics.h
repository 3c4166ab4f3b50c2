// Prometheus families of the forwarder, computed at scrape time from the
// counters the workers keep (relaxed atomics): nothing on the packet path
// touches prometheus-cpp.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SERVER_FORWARDER_METRICS_H_
#define VPNFLEET_SERVICES_DATAPLANE_SERVER_FORWARDER_METRICS_H_

#include <string>
#include <utility>
#include <vector>

#include "prometheus/collectable.h"
#include "services/dataplane/forwarder/engine.h"

namespace vpnfleet::dataplane {

// Traffic is counted by crypto map and direction (a bounded set of series
// whatever the number of tunnels). Series per SA, two per SA and new ones at
// every rekey, are opt-in (`--per_sa_metrics N`) and capped at N SAs: a hub of
// 100,000 tunnels would otherwise emit 400,000 series.
class ForwarderMetrics final : public prometheus::Collectable {
 public:
  // `tun`: the TUN device whose kernel-side drops (its queue towards us
  // full: tx; our writes refused: rx) are exported beside ours; empty: none.
  explicit ForwarderMetrics(const Engine* engine, size_t per_sa_series_limit = 0,
                            std::string tun = "")
      : engine_(engine), per_sa_limit_(per_sa_series_limit), tun_(std::move(tun)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Engine* engine_;
  size_t per_sa_limit_;
  std::string tun_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SERVER_FORWARDER_METRICS_H_
