#include "services/pki/server/pki_metrics.h"

#include <string>

#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace vpnfleet::pki {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void Add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(std::move(m));
}

}  // namespace

std::vector<MetricFamily> PkiMetrics::Collect() const {
  std::vector<MetricFamily> out;
  EnrollmentCounters& c = enrollment_->counters();
  MetricFamily enrollments = Family("vpnfleet_pki_enrollments_total",
                                    "SCEP enrollments and renewals, by result.", MetricType::Counter);
  const std::pair<const char*, uint64_t> results[] = {
      {"issued", c.issued.load()},     {"renewed", c.renewed.load()},
      {"pending", c.pending.load()},   {"approved", c.approved.load()},
      {"rejected", c.rejected.load()}, {"refused", c.refused.load()}};
  for (const auto& [result, n] : results) Add(enrollments, {{"result", result}}, static_cast<double>(n));
  out.push_back(std::move(enrollments));

  MetricFamily revocations = Family("vpnfleet_pki_revocations_total", "Certificates revoked.",
                                    MetricType::Counter);
  Add(revocations, {}, static_cast<double>(c.revoked.load()));
  out.push_back(std::move(revocations));

  scep::ScepCounters& s = responder_->counters();
  MetricFamily scep = Family("vpnfleet_pki_scep_requests_total",
                             "SCEP HTTP requests, and those refused before enrollment, by kind.",
                             MetricType::Counter);
  Add(scep, {{"kind", "all"}}, static_cast<double>(s.requests.load()));
  Add(scep, {{"kind", "malformed"}}, static_cast<double>(s.malformed.load()));
  Add(scep, {{"kind", "bad_signature"}}, static_cast<double>(s.bad_signature.load()));
  Add(scep, {{"kind", "bad_envelope"}}, static_cast<double>(s.bad_envelope.load()));
  out.push_back(std::move(scep));

  const absl::Time now = enrollment_->clock().Now();
  auto counts = enrollment_->store().Count(now);
  if (counts.ok()) {
    MetricFamily certs = Family("vpnfleet_pki_certificates", "Issued certificates, by state.",
                                MetricType::Gauge);
    Add(certs, {{"state", "valid"}}, static_cast<double>(counts->valid));
    Add(certs, {{"state", "revoked"}}, static_cast<double>(counts->revoked));
    Add(certs, {{"state", "expired"}}, static_cast<double>(counts->expired));
    out.push_back(std::move(certs));
    MetricFamily pending = Family("vpnfleet_pki_pending_requests",
                                  "Enrollment requests waiting for approval.", MetricType::Gauge);
    Add(pending, {}, static_cast<double>(counts->pending));
    out.push_back(std::move(pending));
  }
  auto crl = enrollment_->store().GetCrl();
  if (crl.ok() && !crl->der.empty()) {
    MetricFamily age = Family("vpnfleet_pki_crl_age_seconds",
                              "Seconds since the published CRL was signed.", MetricType::Gauge);
    Add(age, {}, absl::ToDoubleSeconds(now - crl->this_update));
    out.push_back(std::move(age));
    MetricFamily left = Family("vpnfleet_pki_crl_next_update_seconds",
                               "Seconds until the published CRL's nextUpdate.", MetricType::Gauge);
    Add(left, {}, absl::ToDoubleSeconds(crl->next_update - now));
    out.push_back(std::move(left));
  }
  // Seconds, as Prometheus wants base units; dashboards divide by 86400
  // for the "days to CA expiry" an operator reads.
  MetricFamily expiry = Family("vpnfleet_pki_ca_expires_in_seconds",
                               "Seconds until the CA certificate expires.", MetricType::Gauge);
  Add(expiry, {},
      absl::ToDoubleSeconds(
          absl::FromUnixSeconds(enrollment_->ca().Describe().not_after_unix_seconds()) - now));
  out.push_back(std::move(expiry));
  return out;
}

}  // namespace vpnfleet::pki
