#include "services/pki/http/civet_transport.h"

#include <civetweb.h>
#include <strings.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::pki {
namespace {

constexpr size_t kMaxReply = 1024 * 1024;

}  // namespace

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
  mg_printf(conn, "%s %s%s%s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n", method.c_str(),
            path_.c_str(), query.empty() ? "" : "?", query.c_str(), host_.c_str(), port_);
  if (method == "POST") {
    mg_printf(conn, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type_.c_str(),
              body.size());
    mg_write(conn, body.data(), body.size());
  } else {
    mg_printf(conn, "\r\n");
  }
  if (mg_get_response(conn, err, sizeof err, timeout_ms_) < 0) {
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
    if (out.body.size() > kMaxReply) return absl::ResourceExhaustedError("HTTP reply too large");
  }
  return out;
}

}  // namespace vpnfleet::pki
