// The SCEP client's HTTP (RFC 8894 §4.1) over civetweb's client API: an
// HttpTransport for ScepClient, one connection per request.
#ifndef VPNFLEET_SERVICES_PKI_HTTP_CIVET_TRANSPORT_H_
#define VPNFLEET_SERVICES_PKI_HTTP_CIVET_TRANSPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/pki/scep/client.h"

namespace vpnfleet::pki {

// "http://host:port/path" → an HttpTransport to that SCEP endpoint.
class CivetTransport final : public scep::HttpTransport {
 public:
  static absl::StatusOr<std::unique_ptr<CivetTransport>> ForUrl(const std::string& url);
  absl::StatusOr<scep::HttpResponse> Get(const std::string& query) override;
  absl::StatusOr<scep::HttpResponse> Post(const std::string& query, const std::string& body) override;

  // What POST bodies are (SCEP's by default; "application/ocsp-request" for OCSP).
  void set_content_type(std::string type) { content_type_ = std::move(type); }
  // How long to wait for the answer.
  void set_timeout_ms(int ms) { timeout_ms_ = ms; }

 private:
  CivetTransport(std::string host, int port, std::string path)
      : host_(std::move(host)), port_(port), path_(std::move(path)) {}
  absl::StatusOr<scep::HttpResponse> Request(const std::string& method, const std::string& query,
                                             const std::string& body);
  std::string host_;
  int port_;
  std::string path_;
  std::string content_type_ = "application/x-pki-message";
  int timeout_ms_ = 30000;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_HTTP_CIVET_TRANSPORT_H_
