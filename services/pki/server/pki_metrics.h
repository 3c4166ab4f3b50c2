// The PKI's Prometheus families, computed at scrape time from the
// enrollment counters, the SCEP responder's counters and the store.
#ifndef VPNFLEET_SERVICES_PKI_SERVER_PKI_METRICS_H_
#define VPNFLEET_SERVICES_PKI_SERVER_PKI_METRICS_H_

#include <memory>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "services/pki/enrollment/enrollment.h"
#include "services/pki/http/http_front.h"
#include "services/pki/ocsp/ocsp_responder.h"
#include "services/pki/scep/responder.h"

namespace vpnfleet::pki {

class PkiMetrics final : public prometheus::Collectable {
 public:
  // `owner` keeps the enrollment and responder alive as long as a scrape
  // can reach them.
  PkiMetrics(Enrollment* enrollment, scep::Responder* responder,
             const HttpFrontCounters* http = nullptr, std::shared_ptr<void> owner = {},
             OcspCounters* ocsp = nullptr)
      : enrollment_(enrollment),
        responder_(responder),
        http_(http),
        owner_(std::move(owner)),
        ocsp_(ocsp) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Enrollment* enrollment_;
  scep::Responder* responder_;
  const HttpFrontCounters* http_;  // the SCEP server's connections, if it runs
  std::shared_ptr<void> owner_;
  OcspCounters* ocsp_;  // the OCSP responder's answers, if it runs
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_SERVER_PKI_METRICS_H_
