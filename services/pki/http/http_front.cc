#include "services/pki/http/http_front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"

namespace vpnfleet::pki {
namespace {

constexpr uint64_t kListenTag = 0;
constexpr uint64_t kWakeTag = UINT64_MAX;

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

std::string Serialize(const HttpResponse& r) {
  std::string out = absl::StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status),
                                 "\r\nContent-Type: ", r.content_type,
                                 "\r\nContent-Length: ", r.body.size(),
                                 "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
  out += r.body;
  return out;
}

HttpResponse Plain(int status, absl::string_view text) {
  return HttpResponse{status, "text/plain", absl::StrCat(text, "\n")};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view in, bool plus_is_space = true) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

std::string PercentDecodePath(absl::string_view path) { return PercentDecode(path, false); }

std::string QueryValue(const std::string& query, const std::string& name) {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) != name) continue;
    return eq == absl::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
  }
  return {};
}

bool ParseHttpHead(absl::string_view head, size_t max_body, HttpHead* out, HttpHeadError* error) {
  auto fail = [error](int status, const char* why) {
    error->status = status;
    error->why = why;
    return false;
  };
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> first = absl::StrSplit(lines[0], ' ');
  if (first.size() != 3 || first[0].empty() || !absl::StartsWith(first[2], "HTTP/1.") ||
      first[1].empty() || first[1][0] != '/') {
    return fail(400, "malformed request line");
  }
  for (char ch : first[0]) {
    if (!absl::ascii_isupper(ch)) return fail(400, "malformed method");
  }
  out->method = std::string(first[0]);
  absl::string_view target = first[1];
  const size_t q = target.find('?');
  out->path = std::string(target.substr(0, q));
  out->query = q == absl::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  bool has_length = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos || colon == 0) return fail(400, "malformed header line");
    const std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (name == "content-length") {
      uint64_t n = 0;
      if (!absl::SimpleAtoi(value, &n) || (has_length && n != out->content_length)) {
        return fail(400, "bad Content-Length");
      }
      if (n > max_body) return fail(413, "request body too large");
      out->content_length = static_cast<size_t>(n);
      has_length = true;
    } else if (name == "transfer-encoding" && !absl::EqualsIgnoreCase(value, "identity")) {
      return fail(411, "send the body with a Content-Length");
    } else if (name == "expect" && absl::EqualsIgnoreCase(value, "100-continue")) {
      out->expect_continue = true;
    }
  }
  return true;
}

struct HttpFront::Connection {
  enum class State { kReading, kProcessing, kWriting };
  uint64_t id = 0;
  int fd = -1;
  std::string peer;
  State state = State::kReading;
  std::string in;
  size_t header_end = 0;   // past "\r\n\r\n", once seen
  size_t body_length = 0;  // Content-Length
  bool continue_sent = false;
  HttpRequest request;
  std::string out;
  size_t written = 0;
  absl::Time accepted;
  absl::Time deadline;
};

HttpFront::HttpFront(HttpFrontOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

absl::StatusOr<std::unique_ptr<HttpFront>> HttpFront::Start(HttpFrontOptions options,
                                                            Handler handler) {
  std::string host;
  int port = 0;
  absl::string_view where = options.listen;
  const size_t colon = where.rfind(':');
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(where.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listen address must be host:port: ", where));
  }
  host = std::string(where.substr(0, colon));
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (absl::StartsWith(host, "[") && absl::EndsWith(host, "]")) host = host.substr(1, host.size() - 2);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (host.empty() || host == "0.0.0.0") {
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    v4->sin_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof *v4;
  } else if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    addr_len = sizeof *v6;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: ", host));
  }
  if (options.workers < 1) options.workers = 1;
  std::unique_ptr<HttpFront> s(new HttpFront(std::move(options), std::move(handler)));
  s->listen_fd_ = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int one = 1;
  setsockopt(s->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 ||
      listen(s->listen_fd_, 512) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", s->options_.listen, ": ",
                                               strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(s->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  s->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  s->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  s->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->epoll_fd_ < 0 || s->wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("epoll/eventfd: ", strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->listen_fd_, &ev);
  ev.data.u64 = kWakeTag;
  epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->wake_fd_, &ev);
  for (int i = 0; i < s->options_.workers; ++i) s->workers_.emplace_back(&HttpFront::WorkerLoop, s.get());
  s->event_thread_ = std::thread(&HttpFront::EventLoop, s.get());
  return s;
}

HttpFront::~HttpFront() {
  stopping_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_ready_.notify_all();
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (event_thread_.joinable()) event_thread_.join();
  for (auto& w : workers_) w.join();
  for (auto& [id, c] : connections_) close(c->fd);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void HttpFront::EventLoop() {
  epoll_event events[64];
  while (!stopping_) {
    // Deadlines are checked at least every 250 ms: timeouts are seconds.
    const int n = epoll_wait(epoll_fd_, events, 64, 250);
    for (int i = 0; i < n && !stopping_; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        Accept();
        continue;
      }
      if (tag == kWakeTag) {
        uint64_t count;
        while (read(wake_fd_, &count, sizeof count) > 0) {
        }
        TakeFinished();
        continue;
      }
      auto it = connections_.find(tag);
      if (it == connections_.end()) continue;
      Connection* c = it->second.get();
      if (events[i].events & (EPOLLERR | EPOLLHUP)) {
        if (c->state != Connection::State::kProcessing) Close(c->id);
        continue;
      }
      if (c->state == Connection::State::kReading && (events[i].events & EPOLLIN)) OnReadable(c);
      else if (c->state == Connection::State::kWriting && (events[i].events & EPOLLOUT)) OnWritable(c);
    }
    ExpireDeadlines();
  }
}

void HttpFront::Accept() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop accepting for this round rather than spin.
        ++counters_.refused_busy;
      }
      return;
    }
    ++counters_.accepted;
    char text[INET6_ADDRSTRLEN] = "?";
    if (peer.ss_family == AF_INET) {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text);
    }
    const std::string who = text;
    int& mine = per_client_[who];
    const bool too_many = static_cast<int>(connections_.size()) >= options_.max_connections;
    const bool too_many_here = mine >= options_.max_connections_per_client;
    if (too_many || too_many_here) {
      // Counted first (what a client is told is already in the metrics), then
      // best effort, without waiting: the client learns why.
      if (too_many) ++counters_.refused_busy; else ++counters_.refused_per_client;
      const std::string busy = Serialize(Plain(503, too_many ? "server busy" : "too many connections from your address"));
      (void)!send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      if (mine == 0) per_client_.erase(who);
      continue;
    }
    ++mine;
    auto c = std::make_unique<Connection>();
    c->id = ++next_id_;
    c->fd = fd;
    c->peer = who;
    c->accepted = absl::Now();
    c->deadline = c->accepted + options_.header_timeout;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = c->id;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      if (--mine == 0) per_client_.erase(who);
      continue;
    }
    ++counters_.open;
    connections_.emplace(c->id, std::move(c));
  }
}

void HttpFront::OnReadable(Connection* c) {
  char buf[16 * 1024];
  bool eof = false;  // the client has sent all it will (or gave up)
  for (;;) {
    const ssize_t got = recv(c->fd, buf, sizeof buf, 0);
    if (got == 0) {
      eof = true;
      break;
    }
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      Close(c->id);
      return;
    }
    c->in.append(buf, static_cast<size_t>(got));
    if (c->header_end == 0 && c->in.size() > options_.max_header_bytes + 4 &&
        c->in.find("\r\n\r\n") == std::string::npos) {
      ++counters_.too_large;
      Respond(c, Plain(431, "request header too large"));
      return;
    }
    if (c->header_end != 0 && c->in.size() > c->header_end + options_.max_body_bytes) break;
  }
  if (c->header_end == 0) {
    const size_t end = c->in.find("\r\n\r\n");
    if (end == std::string::npos) {  // more to come, unless the client is done
      if (eof) Close(c->id);
      return;
    }
    c->header_end = end + 4;
    if (c->header_end > options_.max_header_bytes) {
      ++counters_.too_large;
      Respond(c, Plain(431, "request header too large"));
      return;
    }
    HttpHead head;
    HttpHeadError error;
    if (!ParseHttpHead(absl::string_view(c->in).substr(0, end), options_.max_body_bytes, &head,
                       &error)) {
      if (error.status == 413) ++counters_.too_large; else ++counters_.malformed;
      Respond(c, Plain(error.status, error.why));
      return;
    }
    c->request.method = std::move(head.method);
    c->request.path = std::move(head.path);
    c->request.query = std::move(head.query);
    c->request.peer = c->peer;
    c->body_length = head.content_length;
    const bool expect_continue = head.expect_continue;
    c->deadline = c->accepted + options_.request_timeout;
    if (expect_continue && c->body_length > 0 && c->in.size() == c->header_end) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      (void)!send(c->fd, kContinue, sizeof kContinue - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      c->continue_sent = true;
    }
  }
  if (c->in.size() < c->header_end + c->body_length) {  // more to come, unless the client is done
    if (eof) Close(c->id);
    return;
  }
  c->request.body = c->in.substr(c->header_end, c->body_length);
  c->in.clear();
  c->in.shrink_to_fit();
  c->state = Connection::State::kProcessing;
  epoll_event ev{};
  ev.events = 0;  // nothing to read until the reply is written
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  ++counters_.requests;
  {
    std::lock_guard<std::mutex> lock(mu_);
    work_.emplace_back(c->id, std::move(c->request));
  }
  work_ready_.notify_one();
}

void HttpFront::WorkerLoop() {
  for (;;) {
    std::pair<uint64_t, HttpRequest> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_ready_.wait(lock, [this] { return stopping_ || !work_.empty(); });
      if (stopping_) return;
      job = std::move(work_.front());
      work_.pop_front();
    }
    HttpResponse r = handler_(job.second);
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_.push_back(Done{job.first, std::move(r)});
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
}

void HttpFront::TakeFinished() {
  std::vector<Done> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished.swap(done_);
  }
  for (Done& d : finished) {
    auto it = connections_.find(d.id);
    if (it == connections_.end()) continue;
    Respond(it->second.get(), d.response);
  }
}

void HttpFront::Respond(Connection* c, const HttpResponse& r) {
  c->out = Serialize(r);
  c->written = 0;
  c->state = Connection::State::kWriting;
  c->deadline = absl::Now() + options_.write_timeout;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
  OnWritable(c);
}

void HttpFront::OnWritable(Connection* c) {
  while (c->written < c->out.size()) {
    const ssize_t n = send(c->fd, c->out.data() + c->written, c->out.size() - c->written,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT brings us back
      if (errno == EINTR) continue;
      break;
    }
    c->written += static_cast<size_t>(n);
  }
  // Written (or the client is gone): half-close so that the client reads
  // every byte before it sees the end, then close.
  shutdown(c->fd, SHUT_WR);
  Close(c->id);
}

void HttpFront::ExpireDeadlines() {
  const absl::Time now = absl::Now();
  std::vector<uint64_t> late;
  for (auto& [id, c] : connections_) {
    if (c->state != Connection::State::kProcessing && now >= c->deadline) late.push_back(id);
  }
  for (uint64_t id : late) {
    Connection* c = connections_[id].get();
    ++counters_.timeouts;
    if (c->state == Connection::State::kReading) {
      // A reply the client may never read: one try, no waiting.
      const std::string timeout = Serialize(Plain(408, "request not received in time"));
      (void)!send(c->fd, timeout.data(), timeout.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    Close(id);
  }
}

void HttpFront::Close(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection* c = it->second.get();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  auto pc = per_client_.find(c->peer);
  if (pc != per_client_.end() && --pc->second <= 0) per_client_.erase(pc);
  --counters_.open;
  connections_.erase(it);
}

}  // namespace vpnfleet::pki
