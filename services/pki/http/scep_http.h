// SCEP over HTTP with civetweb (RFC 8894 §4.1): the server side serves
// /scep and Cisco's /cgi-bin/pkiclient.exe (GET and POST PKIOperation) plus
// the CRL at /crl/ca.crl (the distribution point in issued certificates);
// the client side is an HttpTransport for ScepClient.
#ifndef VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
#define VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/pki/scep/client.h"
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

// "http://host:port/path" → an HttpTransport to that SCEP endpoint.
class CivetTransport final : public scep::HttpTransport {
 public:
  static absl::StatusOr<std::unique_ptr<CivetTransport>> ForUrl(const std::string& url);
  absl::StatusOr<scep::HttpResponse> Get(const std::string& query) override;
  absl::StatusOr<scep::HttpResponse> Post(const std::string& query, const std::string& body) override;

 private:
  CivetTransport(std::string host, int port, std::string path)
      : host_(std::move(host)), port_(port), path_(std::move(path)) {}
  absl::StatusOr<scep::HttpResponse> Request(const std::string& method, const std::string& query,
                                             const std::string& body);
  std::string host_;
  int port_;
  std::string path_;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_HTTP_SCEP_HTTP_H_
