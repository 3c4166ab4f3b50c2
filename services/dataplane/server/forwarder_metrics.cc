#include "services/dataplane/server/forwarder_metrics.h"

#include <fstream>
#include <limits>
#include <string>
#include <tuple>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

#include "common/metrics/families.h"
#include "services/dataplane/sad/sa_table.h"

namespace vpnfleet::dataplane {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using metrics::AddSample;
using metrics::MakeFamily;

}  // namespace

std::vector<MetricFamily> ForwarderMetrics::Collect() const {
  std::vector<MetricFamily> out;
  const Engine& e = *engine_;
  const uint32_t workers = e.workers();

  MetricFamily map_packets = MakeFamily("vpnfleet_dataplane_crypto_map_packets_total",
                                        "Packets carried by the SAs of each crypto map, by direction (in: "
                                        "decapsulated, out: encapsulated), SAs already gone included.",
                                        MetricType::Counter);
  MetricFamily map_bytes = MakeFamily("vpnfleet_dataplane_crypto_map_bytes_total",
                                      "Inner bytes carried by the SAs of each crypto map, by direction.",
                                      MetricType::Counter);
  for (const auto& [map, t] : e.TrafficByCryptoMap()) {
    AddSample(map_packets, {{"crypto_map", map}, {"direction", "in"}}, static_cast<double>(t.packets_in));
    AddSample(map_packets, {{"crypto_map", map}, {"direction", "out"}}, static_cast<double>(t.packets_out));
    AddSample(map_bytes, {{"crypto_map", map}, {"direction", "in"}}, static_cast<double>(t.bytes_in));
    AddSample(map_bytes, {{"crypto_map", map}, {"direction", "out"}}, static_cast<double>(t.bytes_out));
  }
  out.push_back(std::move(map_packets));
  out.push_back(std::move(map_bytes));

  if (per_sa_limit_ > 0) {
    MetricFamily packets = MakeFamily("vpnfleet_dataplane_sa_packets_total",
                                      "Packets carried per SA (encapsulated or decapsulated); opt-in, capped.",
                                      MetricType::Counter);
    MetricFamily bytes = MakeFamily("vpnfleet_dataplane_sa_bytes_total", "Inner bytes carried per SA; opt-in, capped.",
                                    MetricType::Counter);
    MetricFamily omitted = MakeFamily("vpnfleet_dataplane_sa_series_omitted",
                                      "SAs left out of the per-SA series by the --per_sa_metrics cap.",
                                      MetricType::Gauge);
    size_t shown = 0, left_out = 0;
    for (const SaSnapshot& sa : e.Sas()) {
      if (shown == per_sa_limit_) {
        ++left_out;
        continue;
      }
      ++shown;
      const bool in = sa.direction == vpnfleet::common::v1::DIRECTION_INBOUND;
      const SaCounters& c = sa.runtime->counters;
      std::vector<ClientMetric::Label> labels = {{"sa", SaKeyString(sa.key)}, {"direction", in ? "in" : "out"}};
      AddSample(packets, labels, static_cast<double>(in ? c.pkts_decaps.load() : c.pkts_encaps.load()));
      AddSample(bytes, labels, static_cast<double>(c.bytes.load()));
    }
    AddSample(omitted, {}, static_cast<double>(left_out));
    out.push_back(std::move(packets));
    out.push_back(std::move(bytes));
    out.push_back(std::move(omitted));
  }

  const ForwarderTotals totals = e.Totals();
  MetricFamily drops = MakeFamily("vpnfleet_dataplane_drops_total",
                              "Packets dropped by the forwarder, by reason.", MetricType::Counter);
  for (size_t r = 0; r < totals.drops.size(); ++r) {
    if (static_cast<ForwardDrop>(r) == ForwardDrop::kSaDrop) continue;  // itemised below
    AddSample(drops, {{"reason", ForwardDropName(static_cast<ForwardDrop>(r))}},
               static_cast<double>(totals.drops[r]));
  }
  const auto sa_drops = e.SaDropTotals();
  for (size_t r = 0; r < sa_drops.size(); ++r) {
    AddSample(drops, {{"reason", DropReasonName(static_cast<DropReason>(r))}},
               static_cast<double>(sa_drops[r]));
  }
  out.push_back(std::move(drops));

  MetricFamily io = MakeFamily("vpnfleet_dataplane_interface_packets_total",
                           "Packets read and written, by side.", MetricType::Counter);
  const std::pair<const char*, std::pair<uint64_t, uint64_t>> sides[] = {
      {"tun", {totals.inner_rx, totals.inner_tx}},
      {"udp_encap", {totals.udp_rx, totals.udp_tx}},
      {"raw_ipsec", {totals.raw_rx, totals.raw_tx}}};
  for (const auto& [name, rx_tx] : sides) {
    AddSample(io, {{"interface", name}, {"direction", "rx"}}, static_cast<double>(rx_tx.first));
    AddSample(io, {{"interface", name}, {"direction", "tx"}}, static_cast<double>(rx_tx.second));
  }
  out.push_back(std::move(io));

  MetricFamily offload = MakeFamily(
      "vpnfleet_dataplane_offload_packets_total",
      "Super-packets: TUN reads segmented (tun, gso_rx), TUN writes of coalesced TCP "
      "(tun, gro_tx), UDP sends of a run of ESP datagrams (udp_encap, gso_tx), UDP "
      "receives that held a run (udp_encap, gro_rx).",
      MetricType::Counter);
  const std::tuple<const char*, const char*, uint64_t> offloads[] = {
      {"tun", "gso_rx", totals.tun_gso_rx}, {"tun", "gro_tx", totals.tun_gro_tx},
      {"udp_encap", "gso_tx", totals.udp_gso_tx}, {"udp_encap", "gro_rx", totals.udp_gro_rx}};
  for (const auto& [interface, kind, value] : offloads) {
    AddSample(offload, {{"interface", interface}, {"kind", kind}}, static_cast<double>(value));
  }
  out.push_back(std::move(offload));

  if (!tun_.empty()) {
    // The kernel's own drops on the TUN device, read from sysfs at scrape.
    MetricFamily kernel = MakeFamily(
        "vpnfleet_dataplane_kernel_drops_total",
        "Packets the kernel dropped on the TUN device: tx = its queue towards the forwarder "
        "was full, rx = a write from the forwarder was refused. Socket receive-buffer "
        "overflows are drops_total{reason=\"socket_overflow\"}.",
        MetricType::Counter);
    for (const char* direction : {"rx", "tx"}) {
      std::ifstream in("/sys/class/net/" + tun_ + "/statistics/" + direction + "_dropped");
      uint64_t value = 0;
      if (in >> value) {
        AddSample(kernel, {{"interface", "tun"}, {"direction", direction}},
                  static_cast<double>(value));
      }
    }
    out.push_back(std::move(kernel));
  }

  MetricFamily events = MakeFamily("vpnfleet_dataplane_events_total",
                               "Events raised by the packet path (after rate limiting).",
                               MetricType::Counter);
  AddSample(events, {{"kind", "acquire"}}, static_cast<double>(totals.acquires));
  AddSample(events, {{"kind", "unknown_spi"}}, static_cast<double>(totals.unknown_spi_events));
  out.push_back(std::move(events));

  MetricFamily busy = MakeFamily("vpnfleet_dataplane_worker_busy_seconds_total",
                             "Time each worker spent processing frames.", MetricType::Counter);
  MetricFamily frames = MakeFamily("vpnfleet_dataplane_frame_packets",
                               "Packets per frame (vector size) through the forwarding graph.",
                               MetricType::Histogram);
  ClientMetric hist;
  uint64_t cumulative = 0;
  for (size_t b = 0; b < totals.frame_sizes.size(); ++b) {
    cumulative += totals.frame_sizes[b];
    ClientMetric::Bucket bucket;
    bucket.upper_bound = static_cast<double>(uint64_t{1} << b);
    bucket.cumulative_count = cumulative;
    hist.histogram.bucket.push_back(bucket);
  }
  ClientMetric::Bucket inf;
  inf.upper_bound = std::numeric_limits<double>::infinity();
  inf.cumulative_count = cumulative;
  hist.histogram.bucket.push_back(inf);
  for (uint32_t w = 0; w < workers; ++w) {
    AddSample(busy, {{"worker", std::to_string(w)}},
               static_cast<double>(e.counters(w).busy_ns.load()) / 1e9);
  }
  hist.histogram.sample_count = cumulative;
  hist.histogram.sample_sum = static_cast<double>(totals.frame_packets);
  frames.metric.push_back(std::move(hist));
  out.push_back(std::move(busy));
  out.push_back(std::move(frames));
  return out;
}

}  // namespace vpnfleet::dataplane
