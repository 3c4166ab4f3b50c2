// A small HTTP/1.1 server that slow or many clients cannot starve: one
// event thread reads every connection without blocking (epoll) and hands a
// request to the worker pool only once it has arrived whole, so a client
// trickling bytes holds a descriptor, never a worker. Every request has a
// deadline for its header and one for its body; each client address has a
// connection limit, the server a total one; sizes are bounded. One request
// per connection (Connection: close), which is what SCEP clients do.
#ifndef VPNFLEET_SERVICES_PKI_HTTP_HTTP_FRONT_H_
#define VPNFLEET_SERVICES_PKI_HTTP_HTTP_FRONT_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace vpnfleet::pki {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::string query;   // after '?', still percent-encoded
  std::string body;
  std::string peer;    // the client's address
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

struct HttpFrontOptions {
  std::string listen = "127.0.0.1:0";  // host:port; IPv6 as [::1]:port
  int workers = 8;
  // From the connection's accept: the request line and headers must have
  // arrived by `header_timeout`, the body by `request_timeout`.
  absl::Duration header_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(10);
  // The reply must have been taken by the client within this.
  absl::Duration write_timeout = absl::Seconds(10);
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  int max_connections = 1024;
  int max_connections_per_client = 16;
};

// Monotonic, for metrics.
struct HttpFrontCounters {
  std::atomic<uint64_t> accepted{0}, requests{0}, timeouts{0}, refused_busy{0},
      refused_per_client{0}, too_large{0}, malformed{0};
  std::atomic<int64_t> open{0};
};

// `query` decoding for handlers: the value of `name` in a form-encoded
// query, %XX and '+' decoded; empty when absent.
std::string QueryValue(const std::string& query, const std::string& name);
// A path segment percent-decoded ('+' stays '+', as in base64).
std::string PercentDecodePath(absl::string_view path);

// A request's line and headers (the bytes before the blank line), parsed.
struct HttpHead {
  std::string method, path, query;
  size_t content_length = 0;
  bool expect_continue = false;
};
// The reason a head is refused, as the HTTP status to answer with.
struct HttpHeadError {
  int status = 400;
  std::string why;
};
// Parses `head` (without the final "\r\n\r\n"). Untrusted input: any
// malformed line, a conflicting or oversized Content-Length (over
// `max_body`), or a Transfer-Encoding other than identity is refused.
bool ParseHttpHead(absl::string_view head, size_t max_body, HttpHead* out, HttpHeadError* error);

class HttpFront {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds, listens and starts the event thread and the workers.
  static absl::StatusOr<std::unique_ptr<HttpFront>> Start(HttpFrontOptions options,
                                                          Handler handler);
  ~HttpFront();  // stops the threads and closes every connection

  int port() const { return port_; }
  HttpFrontCounters& counters() { return counters_; }

 private:
  struct Connection;
  struct Done {
    uint64_t id;
    HttpResponse response;
  };

  HttpFront(HttpFrontOptions options, Handler handler);
  void EventLoop();
  void WorkerLoop();
  void Accept();
  void OnReadable(Connection* c);
  void OnWritable(Connection* c);
  void TakeFinished();
  void ExpireDeadlines();
  void Respond(Connection* c, const HttpResponse& r);
  void Close(uint64_t id);

  const HttpFrontOptions options_;
  const Handler handler_;
  HttpFrontCounters counters_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: a worker finished, or we are stopping
  int port_ = 0;
  std::atomic<bool> stopping_{false};

  // Event thread only.
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::unordered_map<std::string, int> per_client_;

  // Between the event thread and the workers.
  std::mutex mu_;
  std::condition_variable work_ready_;
  std::deque<std::pair<uint64_t, HttpRequest>> work_;
  std::vector<Done> done_;

  std::thread event_thread_;
  std::vector<std::thread> workers_;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_HTTP_HTTP_FRONT_H_
