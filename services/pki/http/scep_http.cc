#include "services/pki/http/scep_http.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "common/log/log.h"

namespace vpnfleet::pki {
namespace {

HttpResponse Text(int status, const char* text) { return HttpResponse{status, "text/plain", text}; }

}  // namespace

absl::StatusOr<std::unique_ptr<ScepHttpServer>> ScepHttpServer::Start(HttpFrontOptions options,
                                                                      scep::Responder* responder,
                                                                      CrlSource crl,
                                                                      OcspResponder* ocsp) {
  std::unique_ptr<ScepHttpServer> s(new ScepHttpServer(responder, std::move(crl), ocsp));
  ScepHttpServer* self = s.get();
  auto front = HttpFront::Start(std::move(options),
                                [self](const HttpRequest& r) { return self->Handle(r); });
  if (!front.ok()) return front.status();
  s->front_ = std::move(*front);
  return s;
}

HttpResponse ScepHttpServer::Handle(const HttpRequest& request) {
  if (request.path == "/scep" || request.path == "/cgi-bin/pkiclient.exe") return Scep(request);
  if (request.path == "/crl/ca.crl") {
    if (request.method != "GET" && request.method != "HEAD") return Text(405, "GET the CRL\n");
    return Crl();
  }
  if (ocsp_ != nullptr && (request.path == "/ocsp" || absl::StartsWith(request.path, "/ocsp/"))) {
    return Ocsp(request);
  }
  return Text(404, "not here: SCEP is at /scep, the CRL at /crl/ca.crl, OCSP at /ocsp\n");
}

HttpResponse ScepHttpServer::Scep(const HttpRequest& request) {
  const bool post = request.method == "POST";
  if (!post && request.method != "GET") return Text(405, "SCEP takes GET and POST\n");
  scep::ScepRequest req;
  req.operation = QueryValue(request.query, "operation");
  if (req.operation == "PKIOperation") {
    if (post) {
      req.message = request.body;
    } else {
      // The query decoder turned '+' into ' '; base64 has no spaces.
      std::string b64 = absl::StrReplaceAll(QueryValue(request.query, "message"), {{" ", "+"}});
      b64.erase(std::remove_if(b64.begin(), b64.end(), [](char c) { return c == '\n' || c == '\r'; }),
                b64.end());
      if (!absl::Base64Unescape(b64, &req.message)) return Text(400, "message is not base64\n");
    }
  }
  scep::ScepReply reply = responder_->Handle(req);
  return HttpResponse{reply.http_status, reply.content_type, std::move(reply.body)};
}

HttpResponse ScepHttpServer::Ocsp(const HttpRequest& request) {
  constexpr char kType[] = "application/ocsp-response";
  if (request.method == "POST") {
    if (request.path != "/ocsp") return Text(404, "POST OCSP requests to /ocsp\n");
    return HttpResponse{200, kType, ocsp_->Respond(request.body)};
  }
  if (request.method != "GET") return Text(405, "OCSP takes GET and POST\n");
  // Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER}.
  const std::string b64 =
      PercentDecodePath(absl::string_view(request.path).substr(sizeof("/ocsp/") - 1));
  std::string der;
  if (!absl::Base64Unescape(b64, &der)) return Text(400, "request is not base64\n");
  return HttpResponse{200, kType, ocsp_->Respond(der)};
}

HttpResponse ScepHttpServer::Crl() {
  auto crl = crl_();
  if (!crl.ok()) {
    log::Error("pki: cannot serve the CRL", {{"error", crl.status().message()}});
    return Text(500, "CRL unavailable\n");
  }
  return HttpResponse{200, "application/pkix-crl", std::move(*crl)};
}

}  // namespace vpnfleet::pki
