#include "absl/strings/string_view.h"
#include "common/metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace vpnfleet::metrics {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double BootTimeSeconds() {
  std::istringstream in(ReadFile("/proc/stat"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("btime ", 0) == 0) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(6), &v)) return v;
    }
  }
  return 0;
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor of the directory stream itself
}

prometheus::MetricFamily Gauge(std::string name, std::string help, double v) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric m;
  m.gauge.value = v;
  f.metric.push_back(m);
  return f;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(absl::string_view text, long clock_ticks,
                                      long page_size, double boot_time_seconds) {
  size_t close = text.rfind(')');
  if (close == absl::string_view::npos || clock_ticks <= 0) return std::nullopt;
  std::vector<absl::string_view> f =
      absl::StrSplit(text.substr(close + 1), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state) of proc(5); field N is f[N - 3].
  if (f.size() < 22) return std::nullopt;
  uint64_t utime, stime, threads, start, vsize, rss;
  if (!absl::SimpleAtoi(f[14 - 3], &utime) || !absl::SimpleAtoi(f[15 - 3], &stime) ||
      !absl::SimpleAtoi(f[20 - 3], &threads) || !absl::SimpleAtoi(f[22 - 3], &start) ||
      !absl::SimpleAtoi(f[23 - 3], &vsize) || !absl::SimpleAtoi(f[24 - 3], &rss)) {
    return std::nullopt;
  }
  ProcStat s;
  s.cpu_seconds = static_cast<double>(utime + stime) / clock_ticks;
  s.start_time_seconds = boot_time_seconds + static_cast<double>(start) / clock_ticks;
  s.virtual_bytes = vsize;
  s.resident_bytes = rss * static_cast<uint64_t>(page_size);
  s.threads = threads;
  return s;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  auto stat = ParseProcStat(ReadFile("/proc/self/stat"), sysconf(_SC_CLK_TCK),
                            sysconf(_SC_PAGESIZE), BootTimeSeconds());
  if (stat) {
    prometheus::MetricFamily cpu;
    cpu.name = "process_cpu_seconds_total";
    cpu.help = "Total user and system CPU time spent in seconds.";
    cpu.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric m;
    m.counter.value = stat->cpu_seconds;
    cpu.metric.push_back(m);
    out.push_back(std::move(cpu));
    out.push_back(Gauge("process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.",
                        stat->start_time_seconds));
    out.push_back(Gauge("process_virtual_memory_bytes",
                        "Virtual memory size in bytes.",
                        static_cast<double>(stat->virtual_bytes)));
    out.push_back(Gauge("process_resident_memory_bytes",
                        "Resident memory size in bytes.",
                        static_cast<double>(stat->resident_bytes)));
    out.push_back(Gauge("process_threads", "Number of OS threads in the process.",
                        static_cast<double>(stat->threads)));
  }
  int fds = CountOpenFds();
  if (fds >= 0) {
    out.push_back(Gauge("process_open_fds", "Number of open file descriptors.", fds));
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    out.push_back(Gauge("process_max_fds",
                        "Maximum number of open file descriptors.",
                        static_cast<double>(lim.rlim_cur)));
  }
  return out;
}

}  // namespace vpnfleet::metrics
