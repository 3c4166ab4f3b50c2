#include "services/ike/daemon/ike_metrics.h"

namespace vpnfleet::ike {
namespace {

prometheus::Counter& NewCounter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Family<prometheus::Counter>& NewFamily(prometheus::Registry& r, const char* name,
                                                   const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

}  // namespace

IkeMetrics::IkeMetrics(prometheus::Registry& registry, const DosSettings& dos)
    : started(NewFamily(registry, "vpnfleet_ike_negotiations_started_total",
                        "IKE SA negotiations started, by role and IKE version (1, 2).")),
      succeeded(NewFamily(registry, "vpnfleet_ike_negotiations_succeeded_total",
                          "IKE SAs established, by role and IKE version (1, 2).")),
      failed(NewFamily(registry, "vpnfleet_ike_negotiations_failed_total",
                       "Failed negotiations (IKE and CHILD SAs), by reason.")),
      setup_seconds(prometheus::BuildHistogram()
                        .Name("vpnfleet_ike_setup_seconds")
                        .Help("Time from the first IKE_SA_INIT to an established IKE SA.")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{
                                     0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                     2.5, 5, 10})),
      active_ike(NewGauge(registry, "vpnfleet_ike_sas", "IKE SAs that exist (any state).")),
      half_open(NewGauge(registry, "vpnfleet_ike_half_open_sas",
                         "Responder IKE SAs waiting for IKE_AUTH (cookies above "
                         "--cookie_threshold, refused above --half_open_limit).")),
      active_child(NewGauge(registry, "vpnfleet_ike_child_sas", "CHILD SA pairs installed.")),
      crypto_jobs(NewGauge(registry, "vpnfleet_ike_crypto_jobs",
                           "IKE_SA_INIT and IKE_AUTH requests handed to the crypto workers "
                           "and not yet answered.")),
      child_rekeys(NewCounter(registry, "vpnfleet_ike_child_rekeys_total", "CHILD SAs re-keyed.")),
      ike_rekeys(NewCounter(registry, "vpnfleet_ike_sa_rekeys_total",
                            "IKE SAs re-keyed into a successor (either side starting it).")),
      retransmits(NewCounter(registry, "vpnfleet_ike_retransmits_total",
                             "IKE messages sent again (ours, and answers to repeated requests).")),
      dpd_failures(NewCounter(registry, "vpnfleet_ike_dpd_failures_total",
                              "Peers declared dead by liveness checks.")),
      cookies_sent(NewCounter(registry, "vpnfleet_ike_cookies_sent_total",
                              "COOKIE challenges sent to IKE_SA_INIT requests.")),
      half_open_refused(NewCounter(registry, "vpnfleet_ike_half_open_refused_total",
                                   "IKE_SA_INIT requests dropped at the half-open limit.")),
      refused(NewFamily(registry, "vpnfleet_ike_messages_refused_total",
                        "IKE messages refused before any SA existed for them, by reason "
                        "(IKEV1_NOT_CONFIGURED, INVALID_MAJOR_VERSION, MALFORMED).")),
      invalid_spi(NewFamily(registry, "vpnfleet_ike_invalid_spi_total",
                            "ESP on unknown SPIs reported by the dataplane, by what we did "
                            "(notified the peer, initiated to it, ignored).")) {
  // The series alert rules and dashboards read exist from the start, at zero,
  // so the first failure is an increase and not a new series.
  for (const char* role : {"initiator", "responder"}) {
    for (const char* version : {"1", "2"}) {
      started.Add({{"role", role}, {"version", version}});
      succeeded.Add({{"role", role}, {"version", version}});
    }
  }
  for (const char* reason : {"NO_PROPOSAL_CHOSEN", "AUTHENTICATION_FAILED", "INVALID_KE_PAYLOAD", "TIMEOUT",
                             "DPD_TIMEOUT", "NO_ROUTE_TO_PEER", "TS_UNACCEPTABLE", "CERTIFICATE_UNTRUSTED"}) {
    failed.Add({{"reason", reason}});
  }
  for (const char* reason : {"IKEV1_NOT_CONFIGURED", "INVALID_MAJOR_VERSION", "MALFORMED"}) {
    refused.Add({{"reason", reason}});
  }
  for (const char* action : {"notified", "initiated", "ignored"}) invalid_spi.Add({{"action", action}});
  NewGauge(registry, "vpnfleet_ike_half_open_limit",
           "--half_open_limit: half-open responder SAs above which IKE_SA_INIT is dropped.")
      .Set(static_cast<double>(dos.half_open_limit));
  NewGauge(registry, "vpnfleet_ike_cookie_threshold",
           "--cookie_threshold: half-open responder SAs above which cookies are asked for.")
      .Set(static_cast<double>(dos.cookie_threshold));
  NewGauge(registry, "vpnfleet_ike_half_open_timeout_seconds",
           "--half_open_timeout: how long a responder SA may wait for IKE_AUTH.")
      .Set(absl::ToDoubleSeconds(dos.half_open_timeout));
}

}  // namespace vpnfleet::ike
