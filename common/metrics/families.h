// Building Prometheus families by hand, for collectors that compute their
// values at scrape time (the forwarder's counters, the PKI's store counts).
#ifndef VPNFLEET_COMMON_METRICS_FAMILIES_H_
#define VPNFLEET_COMMON_METRICS_FAMILIES_H_

#include <string>
#include <utility>
#include <vector>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace vpnfleet::metrics {

inline prometheus::MetricFamily MakeFamily(std::string name, std::string help,
                                           prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// One sample of a counter or gauge family (by the family's type).
inline void AddSample(prometheus::MetricFamily& f,
                      std::vector<prometheus::ClientMetric::Label> labels, double value) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  if (f.type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace vpnfleet::metrics

#endif  // VPNFLEET_COMMON_METRICS_FAMILIES_H_
