// An HttpTransport that hands requests straight to a Responder in the same
// process: the SCEP client and server meet without sockets, as in the unit
// tests and the fuzz targets. Queries are decoded as the HTTP glue decodes
// them. `drop_capability` removes one line from GetCACaps (e.g. to make the
// client fall back to GET).
#ifndef VPNFLEET_SERVICES_PKI_SCEP_LOOPBACK_TRANSPORT_H_
#define VPNFLEET_SERVICES_PKI_SCEP_LOOPBACK_TRANSPORT_H_

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "services/pki/scep/client.h"
#include "services/pki/scep/responder.h"

namespace vpnfleet::pki::scep {

class LoopbackTransport final : public HttpTransport {
 public:
  explicit LoopbackTransport(Responder* responder, std::string drop_capability = "")
      : responder_(responder), drop_(std::move(drop_capability)) {}

  absl::StatusOr<HttpResponse> Get(const std::string& query) override {
    ScepRequest req = Decode(query);
    if (req.operation == "PKIOperation") {
      std::string raw;
      if (!absl::Base64Unescape(Param(query, "message"), &raw)) {
        return HttpResponse{400, "text/plain", "message is not base64"};
      }
      req.message = raw;
      ++gets_;
    }
    return Call(req);
  }
  absl::StatusOr<HttpResponse> Post(const std::string& query, const std::string& body) override {
    ScepRequest req = Decode(query);
    req.message = body;
    ++posts_;
    return Call(req);
  }
  int gets() const { return gets_; }
  int posts() const { return posts_; }

 private:
  static std::string Param(const std::string& query, absl::string_view name) {
    for (absl::string_view kv : absl::StrSplit(query, '&')) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
      if (p.first == name) {
        return absl::StrReplaceAll(p.second, {{"%2B", "+"}, {"%2F", "/"}, {"%3D", "="}});
      }
    }
    return {};
  }
  static ScepRequest Decode(const std::string& query) {
    ScepRequest r;
    r.operation = Param(query, "operation");
    return r;
  }
  absl::StatusOr<HttpResponse> Call(const ScepRequest& req) {
    ScepReply reply = responder_->Handle(req);
    if (req.operation == "GetCACaps" && !drop_.empty()) {
      reply.body = absl::StrReplaceAll(reply.body, {{drop_ + "\n", ""}});
    }
    return HttpResponse{reply.http_status, reply.content_type, reply.body};
  }

  Responder* responder_;
  std::string drop_;
  int gets_ = 0, posts_ = 0;
};

}  // namespace vpnfleet::pki::scep

#endif  // VPNFLEET_SERVICES_PKI_SCEP_LOOPBACK_TRANSPORT_H_
