// Standard process metrics (the names every Prometheus client library uses:
// process_cpu_seconds_total, process_resident_memory_bytes, ...), read from
// /proc at scrape time.
#ifndef VPNFLEET_COMMON_METRICS_PROCESS_COLLECTOR_H_
#define VPNFLEET_COMMON_METRICS_PROCESS_COLLECTOR_H_

#include "absl/strings/string_view.h"
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace vpnfleet::metrics {

struct ProcStat {
  double cpu_seconds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  uint64_t virtual_bytes = 0;
  uint64_t resident_bytes = 0;
  uint64_t threads = 0;
};

// Parses the text of /proc/PID/stat. The command name is in parentheses and
// may contain spaces and ')' itself, so fields are counted after the last ')'.
std::optional<ProcStat> ParseProcStat(absl::string_view text, long clock_ticks,
                                      long page_size, double boot_time_seconds);

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace vpnfleet::metrics

#endif  // VPNFLEET_COMMON_METRICS_PROCESS_COLLECTOR_H_
