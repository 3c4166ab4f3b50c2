// Prometheus families of the forwarder, computed at scrape time from the
// counters the workers keep (relaxed atomics): nothing on the packet path
// touches prometheus-cpp.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SERVER_FORWARDER_METRICS_H_
#define VPNFLEET_SERVICES_DATAPLANE_SERVER_FORWARDER_METRICS_H_

#include <vector>

#include "prometheus/collectable.h"
#include "services/dataplane/forwarder/engine.h"

namespace vpnfleet::dataplane {

class ForwarderMetrics final : public prometheus::Collectable {
 public:
  explicit ForwarderMetrics(const Engine* engine) : engine_(engine) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Engine* engine_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SERVER_FORWARDER_METRICS_H_
