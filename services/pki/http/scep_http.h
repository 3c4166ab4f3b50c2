// The SCEP server over HTTP with civetweb (RFC 8894 §4.1): /scep and
// Cisco's /cgi-bin/pkiclient.exe (GET and POST PKIOperation), plus the CRL
// at /crl/ca.crl (the distribution point in issued certificates).
#ifndef VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
#define VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/pki/scep/responder.h"

struct mg_context;
struct mg_connection;

namespace vpnfleet::pki {

class ScepHttpServer {
 public:
  using CrlSource = std::function<absl::StatusOr<std::string>()>;  // DER of the current CRL
  // `listen` is "127.0.0.1:18080" (port 0 = any free port).
  static absl::StatusOr<std::unique_ptr<ScepHttpServer>> Start(const std::string& listen,
                                                               scep::Responder* responder,
                                                               CrlSource crl, int threads = 8);
  ~ScepHttpServer();
  int port() const { return port_; }

 private:
  ScepHttpServer(scep::Responder* responder, CrlSource crl)
      : responder_(responder), crl_(std::move(crl)) {}
  static int HandleScep(mg_connection* conn, void* self);
  static int HandleCrl(mg_connection* conn, void* self);

  scep::Responder* responder_;
  CrlSource crl_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
