// The SCEP server over HTTP (RFC 8894 §4.1): /scep and Cisco's
// /cgi-bin/pkiclient.exe (GET and POST PKIOperation), plus the CRL at
// /crl/ca.crl (the distribution point in issued certificates), served by
// HttpFront so that slow or many clients cannot starve it.
#ifndef VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
#define VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/pki/http/http_front.h"
#include "services/pki/scep/responder.h"

namespace vpnfleet::pki {

class ScepHttpServer {
 public:
  using CrlSource = std::function<absl::StatusOr<std::string>()>;  // DER of the current CRL
  // `options.listen` is "127.0.0.1:18080" (port 0 = any free port).
  static absl::StatusOr<std::unique_ptr<ScepHttpServer>> Start(HttpFrontOptions options,
                                                               scep::Responder* responder,
                                                               CrlSource crl);
  int port() const { return front_->port(); }
  HttpFrontCounters& counters() { return front_->counters(); }

 private:
  ScepHttpServer(scep::Responder* responder, CrlSource crl)
      : responder_(responder), crl_(std::move(crl)) {}
  HttpResponse Handle(const HttpRequest& request);
  HttpResponse Scep(const HttpRequest& request);
  HttpResponse Crl();

  scep::Responder* responder_;
  CrlSource crl_;
  std::unique_ptr<HttpFront> front_;  // last: stopped before the rest goes
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
