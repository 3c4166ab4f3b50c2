// The SCEP server over HTTP (RFC 8894 §4.1): /scep and Cisco's
// /cgi-bin/pkiclient.exe (GET and POST PKIOperation), plus the CRL at
// /crl/ca.crl (the distribution point in issued certificates) and the OCSP
// responder at /ocsp (RFC 6960 Appendix A: POST, or GET /ocsp/BASE64),
// served by HttpFront so that slow or many clients cannot starve it.
#ifndef VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
#define VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/pki/http/http_front.h"
#include "services/pki/ocsp/ocsp_responder.h"
#include "services/pki/scep/responder.h"

namespace vpnfleet::pki {

class ScepHttpServer {
 public:
  using CrlSource = std::function<absl::StatusOr<std::string>()>;  // DER of the current CRL
  // `options.listen` is "127.0.0.1:18080" (port 0 = any free port);
  // `ocsp` may be null (no /ocsp then).
  static absl::StatusOr<std::unique_ptr<ScepHttpServer>> Start(HttpFrontOptions options,
                                                               scep::Responder* responder,
                                                               CrlSource crl,
                                                               OcspResponder* ocsp = nullptr);
  int port() const { return front_->port(); }
  HttpFrontCounters& counters() { return front_->counters(); }

 private:
  ScepHttpServer(scep::Responder* responder, CrlSource crl, OcspResponder* ocsp)
      : responder_(responder), crl_(std::move(crl)), ocsp_(ocsp) {}
  HttpResponse Handle(const HttpRequest& request);
  HttpResponse Scep(const HttpRequest& request);
  HttpResponse Crl();
  HttpResponse Ocsp(const HttpRequest& request);

  scep::Responder* responder_;
  CrlSource crl_;
  OcspResponder* ocsp_;
  std::unique_ptr<HttpFront> front_;  // last: stopped before the rest goes
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
