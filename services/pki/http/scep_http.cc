#include "services/pki/http/scep_http.h"

#include <civetweb.h>

#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/log/log.h"

namespace vpnfleet::pki {
namespace {

// A CSR, a self-signed certificate and their envelope fit in a few KiB; a
// request many times that is refused before it is read.
constexpr long long kMaxBody = 64 * 1024;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    default:
      return "Internal Server Error";
  }
}

int Reply(mg_connection* conn, int status, const std::string& type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, Reason(status), type.c_str(), body.size());
  mg_write(conn, body.data(), body.size());
  return status;
}

std::string Var(const char* query, const char* name) {
  if (query == nullptr) return {};
  const size_t n = strlen(query);
  std::string buf(n + 1, '\0');
  const int got = mg_get_var(query, n, name, buf.data(), buf.size());
  if (got < 0) return {};
  buf.resize(static_cast<size_t>(got));
  return buf;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ScepHttpServer>> ScepHttpServer::Start(const std::string& listen,
                                                                      scep::Responder* responder,
                                                                      CrlSource crl, int threads) {
  mg_init_library(0);
  std::unique_ptr<ScepHttpServer> s(new ScepHttpServer(responder, std::move(crl)));
  const std::string thread_count = absl::StrCat(threads);
  const char* options[] = {"listening_ports", listen.c_str(), "num_threads", thread_count.c_str(),
                           "request_timeout_ms", "15000", "enable_keep_alive", "no", nullptr};
  mg_callbacks callbacks;
  memset(&callbacks, 0, sizeof callbacks);
  s->ctx_ = mg_start(&callbacks, s.get(), options);
  if (s->ctx_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot serve SCEP on ", listen));
  }
  mg_set_request_handler(s->ctx_, "/scep", &ScepHttpServer::HandleScep, s.get());
  mg_set_request_handler(s->ctx_, "/cgi-bin/pkiclient.exe", &ScepHttpServer::HandleScep, s.get());
  mg_set_request_handler(s->ctx_, "/crl/ca.crl", &ScepHttpServer::HandleCrl, s.get());
  mg_server_port ports[4];
  const int n = mg_get_server_ports(s->ctx_, 4, ports);
  if (n < 1) return absl::UnavailableError("SCEP server has no port");
  s->port_ = ports[0].port;
  return s;
}

ScepHttpServer::~ScepHttpServer() {
  if (ctx_ != nullptr) mg_stop(ctx_);
}

int ScepHttpServer::HandleScep(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<ScepHttpServer*>(self_ptr);
  const mg_request_info* info = mg_get_request_info(conn);
  scep::ScepRequest req;
  req.operation = Var(info->query_string, "operation");
  const bool post = strcmp(info->request_method, "POST") == 0;
  if (!post && strcmp(info->request_method, "GET") != 0) {
    return Reply(conn, 405, "text/plain", "SCEP takes GET and POST\n");
  }
  if (req.operation == "PKIOperation") {
    if (post) {
      if (info->content_length > kMaxBody) {
        return Reply(conn, 413, "text/plain", "pkiMessage too large\n");
      }
      char buf[8192];
      int got;
      while ((got = mg_read(conn, buf, sizeof buf)) > 0) {
        req.message.append(buf, static_cast<size_t>(got));
        if (static_cast<long long>(req.message.size()) > kMaxBody) {
          return Reply(conn, 413, "text/plain", "pkiMessage too large\n");
        }
      }
    } else {
      // mg_get_var decoded %XX and turned '+' into ' '; base64 has no spaces.
      std::string b64 = absl::StrReplaceAll(Var(info->query_string, "message"), {{" ", "+"}});
      b64.erase(std::remove_if(b64.begin(), b64.end(), [](char c) { return c == '\n' || c == '\r'; }),
                b64.end());
      if (!absl::Base64Unescape(b64, &req.message)) {
        return Reply(conn, 400, "text/plain", "message is not base64\n");
      }
    }
  }
  scep::ScepReply reply = self->responder_->Handle(req);
  return Reply(conn, reply.http_status, reply.content_type, reply.body);
}

int ScepHttpServer::HandleCrl(mg_connection* conn, void* self_ptr) {
  auto* self = static_cast<ScepHttpServer*>(self_ptr);
  auto crl = self->crl_();
  if (!crl.ok()) {
    log::Error("pki: cannot serve the CRL", {{"error", crl.status().message()}});
    return Reply(conn, 500, "text/plain", "CRL unavailable\n");
  }
  return Reply(conn, 200, "application/pkix-crl", *crl);
}

}  // namespace vpnfleet::pki
