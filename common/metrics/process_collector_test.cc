#include "common/metrics/process_collector.h"

#include <set>

#include "gtest/gtest.h"

namespace vpnfleet::metrics {
namespace {

// A /proc/PID/stat line whose command name holds a space and a ')'.
constexpr char kStat[] =
    "4242 (vpn fleet) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 7 0 "
    "1000 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

TEST(ParseProcStat, CountsFieldsAfterTheLastParenthesis) {
  auto s = ParseProcStat(kStat, /*clock_ticks=*/100, /*page_size=*/4096,
                         /*boot_time_seconds=*/1700000000);
  ASSERT_TRUE(s.has_value());
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 2.0);  // (150 + 50) / 100
  EXPECT_EQ(s->threads, 7u);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1700000010.0);  // 1000 ticks after boot
  EXPECT_EQ(s->virtual_bytes, 104857600u);
  EXPECT_EQ(s->resident_bytes, 2560u * 4096u);
}

TEST(ParseProcStat, RejectsGarbage) {
  EXPECT_FALSE(ParseProcStat("", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2", 100, 4096, 0).has_value());
  EXPECT_FALSE(ParseProcStat(kStat, 0, 4096, 0).has_value());
}

TEST(ProcessCollector, ReportsTheStandardProcessMetrics) {
  std::set<std::string> names;
  for (const auto& family : ProcessCollector().Collect()) names.insert(family.name);
  for (const char* want : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_start_time_seconds",
                           "process_open_fds", "process_max_fds"}) {
    EXPECT_TRUE(names.count(want)) << want;
  }
}

}  // namespace
}  // namespace vpnfleet::metrics
