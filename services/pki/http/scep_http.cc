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
constexpr int kClientTimeoutMs = 30000;

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

absl::StatusOr<std::unique_ptr<CivetTransport>> CivetTransport::ForUrl(const std::string& url) {
  constexpr absl::string_view kScheme = "http://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat("SCEP URL must be http://host:port/path: ", url));
  }
  absl::string_view rest = absl::string_view(url).substr(kScheme.size());
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  std::string path = slash == absl::string_view::npos ? "/scep" : std::string(rest.substr(slash));
  std::string host(authority);
  int port = 80;
  const size_t colon = authority.rfind(':');
  if (colon != absl::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("bad port in ", url));
    }
  }
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in ", url));
  mg_init_library(0);
  return std::unique_ptr<CivetTransport>(new CivetTransport(host, port, path));
}

absl::StatusOr<scep::HttpResponse> CivetTransport::Get(const std::string& query) {
  return Request("GET", query, "");
}

absl::StatusOr<scep::HttpResponse> CivetTransport::Post(const std::string& query,
                                                        const std::string& body) {
  return Request("POST", query, body);
}

absl::StatusOr<scep::HttpResponse> CivetTransport::Request(const std::string& method,
                                                           const std::string& query,
                                                           const std::string& body) {
  char err[256] = {0};
  mg_connection* conn = mg_connect_client(host_.c_str(), port_, 0, err, sizeof err);
  if (conn == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot reach ", host_, ":", port_, ": ", err));
  }
  std::unique_ptr<mg_connection, decltype(&mg_close_connection)> guard(conn, mg_close_connection);
  mg_printf(conn, "%s %s?%s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n", method.c_str(),
            path_.c_str(), query.c_str(), host_.c_str(), port_);
  if (method == "POST") {
    mg_printf(conn, "Content-Type: application/x-pki-message\r\nContent-Length: %zu\r\n\r\n",
              body.size());
    mg_write(conn, body.data(), body.size());
  } else {
    mg_printf(conn, "\r\n");
  }
  if (mg_get_response(conn, err, sizeof err, kClientTimeoutMs) < 0) {
    return absl::UnavailableError(absl::StrCat("no HTTP response from ", host_, ":", port_, ": ", err));
  }
  const mg_response_info* info = mg_get_response_info(conn);
  scep::HttpResponse out;
  out.status = info->status_code;
  for (int i = 0; i < info->num_headers; ++i) {
    if (strcasecmp(info->http_headers[i].name, "Content-Type") == 0) {
      out.content_type = info->http_headers[i].value;
    }
  }
  char buf[8192];
  int got;
  while ((got = mg_read(conn, buf, sizeof buf)) > 0) {
    out.body.append(buf, static_cast<size_t>(got));
    if (out.body.size() > 1024 * 1024) return absl::ResourceExhaustedError("HTTP reply too large");
  }
  return out;
}

}  // namespace vpnfleet::pki
