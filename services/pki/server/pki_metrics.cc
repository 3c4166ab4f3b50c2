#include "services/pki/server/pki_metrics.h"

#include <string>

#include "common/metrics/families.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace vpnfleet::pki {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using metrics::AddSample;
using metrics::MakeFamily;

}  // namespace

std::vector<MetricFamily> PkiMetrics::Collect() const {
  std::vector<MetricFamily> out;
  EnrollmentCounters& c = enrollment_->counters();
  MetricFamily enrollments = MakeFamily("vpnfleet_pki_enrollments_total",
                                    "SCEP enrollments and renewals, by result.", MetricType::Counter);
  const std::pair<const char*, uint64_t> results[] = {
      {"issued", c.issued.load()},     {"renewed", c.renewed.load()},
      {"pending", c.pending.load()},   {"approved", c.approved.load()},
      {"rejected", c.rejected.load()}, {"refused", c.refused.load()}};
  for (const auto& [result, n] : results) AddSample(enrollments, {{"result", result}}, static_cast<double>(n));
  out.push_back(std::move(enrollments));

  MetricFamily revocations = MakeFamily("vpnfleet_pki_revocations_total", "Certificates revoked.",
                                    MetricType::Counter);
  AddSample(revocations, {}, static_cast<double>(c.revoked.load()));
  out.push_back(std::move(revocations));

  scep::ScepCounters& s = responder_->counters();
  MetricFamily scep = MakeFamily("vpnfleet_pki_scep_requests_total",
                             "SCEP HTTP requests, and those refused before enrollment, by kind.",
                             MetricType::Counter);
  AddSample(scep, {{"kind", "all"}}, static_cast<double>(s.requests.load()));
  AddSample(scep, {{"kind", "malformed"}}, static_cast<double>(s.malformed.load()));
  AddSample(scep, {{"kind", "bad_signature"}}, static_cast<double>(s.bad_signature.load()));
  AddSample(scep, {{"kind", "bad_envelope"}}, static_cast<double>(s.bad_envelope.load()));
  out.push_back(std::move(scep));

  if (ocsp_ != nullptr) {
    // Every answer counts, with status 0 included, so alerts see the first.
    MetricFamily ocsp = MakeFamily(
        "vpnfleet_pki_ocsp_responses_total",
        "OCSP answers: per certificate asked about (good, revoked, unknown), and requests "
        "refused whole (malformed, unauthorized: about another CA's certificates, "
        "internal_error).",
        MetricType::Counter);
    AddSample(ocsp, {{"status", "good"}}, static_cast<double>(ocsp_->good.load()));
    AddSample(ocsp, {{"status", "revoked"}}, static_cast<double>(ocsp_->revoked.load()));
    AddSample(ocsp, {{"status", "unknown"}}, static_cast<double>(ocsp_->unknown.load()));
    AddSample(ocsp, {{"status", "malformed"}}, static_cast<double>(ocsp_->malformed.load()));
    AddSample(ocsp, {{"status", "unauthorized"}}, static_cast<double>(ocsp_->unauthorized.load()));
    AddSample(ocsp, {{"status", "internal_error"}},
              static_cast<double>(ocsp_->internal_error.load()));
    out.push_back(std::move(ocsp));
  }

  if (http_ != nullptr) {
    MetricFamily conns = MakeFamily(
        "vpnfleet_pki_http_connections_total",
        "Connections to the SCEP/CRL HTTP server: accepted, and those closed without an answer "
        "by reason (timeout: the request did not arrive in time; busy, per_client: over the "
        "connection limits; too_large, malformed: refused requests).",
        MetricType::Counter);
    AddSample(conns, {{"outcome", "accepted"}}, static_cast<double>(http_->accepted.load()));
    AddSample(conns, {{"outcome", "timeout"}}, static_cast<double>(http_->timeouts.load()));
    AddSample(conns, {{"outcome", "busy"}}, static_cast<double>(http_->refused_busy.load()));
    AddSample(conns, {{"outcome", "per_client"}}, static_cast<double>(http_->refused_per_client.load()));
    AddSample(conns, {{"outcome", "too_large"}}, static_cast<double>(http_->too_large.load()));
    AddSample(conns, {{"outcome", "malformed"}}, static_cast<double>(http_->malformed.load()));
    out.push_back(std::move(conns));
    MetricFamily open = MakeFamily("vpnfleet_pki_http_open_connections",
                                   "Connections the SCEP/CRL HTTP server holds now.", MetricType::Gauge);
    AddSample(open, {}, static_cast<double>(http_->open.load()));
    out.push_back(std::move(open));
  }

  const absl::Time now = enrollment_->clock().Now();
  auto counts = enrollment_->store().Count(now);
  if (counts.ok()) {
    MetricFamily certs = MakeFamily("vpnfleet_pki_certificates", "Issued certificates, by state.",
                                MetricType::Gauge);
    AddSample(certs, {{"state", "valid"}}, static_cast<double>(counts->valid));
    AddSample(certs, {{"state", "revoked"}}, static_cast<double>(counts->revoked));
    AddSample(certs, {{"state", "expired"}}, static_cast<double>(counts->expired));
    out.push_back(std::move(certs));
    MetricFamily pending = MakeFamily("vpnfleet_pki_pending_requests",
                                  "Enrollment requests waiting for approval.", MetricType::Gauge);
    AddSample(pending, {}, static_cast<double>(counts->pending));
    out.push_back(std::move(pending));
  }
  auto crl = enrollment_->store().GetCrl();
  if (crl.ok() && !crl->der.empty()) {
    MetricFamily age = MakeFamily("vpnfleet_pki_crl_age_seconds",
                              "Seconds since the published CRL was signed.", MetricType::Gauge);
    AddSample(age, {}, absl::ToDoubleSeconds(now - crl->this_update));
    out.push_back(std::move(age));
    MetricFamily left = MakeFamily("vpnfleet_pki_crl_next_update_seconds",
                               "Seconds until the published CRL's nextUpdate.", MetricType::Gauge);
    AddSample(left, {}, absl::ToDoubleSeconds(crl->next_update - now));
    out.push_back(std::move(left));
  }
  // Seconds, as Prometheus wants base units; dashboards divide by 86400
  // for the "days to CA expiry" an operator reads.
  MetricFamily expiry = MakeFamily("vpnfleet_pki_ca_expires_in_seconds",
                               "Seconds until the CA certificate expires.", MetricType::Gauge);
  AddSample(expiry, {},
      absl::ToDoubleSeconds(
          absl::FromUnixSeconds(enrollment_->ca().Describe().not_after_unix_seconds()) - now));
  out.push_back(std::move(expiry));
  return out;
}

}  // namespace vpnfleet::pki
