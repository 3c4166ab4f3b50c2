#include "services/pki/http/http_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vpnfleet::pki {
namespace {

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void Send(int fd, const std::string& s) { ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }

// Everything the server sends until it closes (or `wait` passes).
std::string ReadAll(int fd, std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) {
  std::string out;
  const auto until = std::chrono::steady_clock::now() + wait;
  char buf[4096];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  EXPECT_GE(fd, 0);
  Send(fd, request);
  std::string r = ReadAll(fd);
  close(fd);
  return r;
}

// The server closes a connection just after its last byte goes out: what it
// counts on closing may lag what the client has read by a moment.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 300; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

HttpResponse Echo(const HttpRequest& r) {
  return HttpResponse{200, "text/plain",
                      absl::StrCat(r.method, " ", r.path, " op=", QueryValue(r.query, "operation"),
                                   " body=", r.body)};
}

TEST(HttpHead, ParsesWhatClientsSendAndRefusesTheRest) {
  HttpHead h;
  HttpHeadError e;
  ASSERT_TRUE(ParseHttpHead("POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 12\r\nExpect: 100-continue",
                            100, &h, &e));
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.path, "/scep");
  EXPECT_EQ(h.query, "operation=PKIOperation");
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.expect_continue);
  struct Bad {
    const char* head;
    int status;
  } bad[] = {
      {"GET /scep", 400},
      {"GET scep HTTP/1.1", 400},
      {"get /scep HTTP/1.1", 400},
      {"GET /scep HTTP/2", 400},
      {"POST /scep HTTP/1.1\r\nContent-Length: 101", 413},
      {"POST /scep HTTP/1.1\r\nContent-Length: -1", 400},
      {"POST /scep HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6", 400},
      {"POST /scep HTTP/1.1\r\nTransfer-Encoding: chunked", 411},
      {"GET /scep HTTP/1.1\r\nno colon here", 400},
      {"", 400},
  };
  for (const Bad& b : bad) {
    HttpHead out;
    HttpHeadError err;
    EXPECT_FALSE(ParseHttpHead(b.head, 100, &out, &err)) << b.head;
    EXPECT_EQ(err.status, b.status) << b.head;
  }
}

TEST(HttpHead, QueryValuesAreDecoded) {
  EXPECT_EQ(QueryValue("operation=GetCACert&message=a%2Bb+c%3d", "message"), "a+b c=");
  EXPECT_EQ(QueryValue("operation=GetCACaps", "message"), "");
  EXPECT_EQ(QueryValue("a=%zz%4", "a"), "%zz%4");
  EXPECT_EQ(QueryValue("", "a"), "");
}

TEST(HttpFront, AnswersGetAndPostWithContinue) {
  HttpFrontOptions o;
  auto front = HttpFront::Start(o, Echo);
  ASSERT_TRUE(front.ok()) << front.status();
  const int port = (*front)->port();
  std::string r = Exchange(port, "GET /scep?operation=GetCACaps HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "GET /scep op=GetCACaps body=")) << r;
  // curl's way with a body: Expect: 100-continue, then the body.
  const int fd = Connect(port);
  Send(fd, "POST /scep?operation=PKIOperation HTTP/1.1\r\nContent-Length: 5\r\n"
           "Expect: 100-continue\r\n\r\n");
  char buf[64] = {};
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1);
  const ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "HTTP/1.1 100 Continue\r\n\r\n");
  Send(fd, "hello");
  r = ReadAll(fd);
  close(fd);
  EXPECT_TRUE(absl::EndsWith(r, "POST /scep op=PKIOperation body=hello")) << r;
  EXPECT_EQ((*front)->counters().requests.load(), 2u);
}

TEST(HttpFront, RefusesOversizeAndMalformedRequests) {
  HttpFrontOptions o;
  o.max_body_bytes = 16;
  o.max_header_bytes = 256;
  auto front = HttpFront::Start(o, Echo);
  ASSERT_TRUE(front.ok());
  const int port = (*front)->port();
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, "POST /scep HTTP/1.1\r\nContent-Length: 17\r\n\r\n"), "HTTP/1.1 413"));
  EXPECT_TRUE(absl::StartsWith(
      Exchange(port, "GET /" + std::string(400, 'a') + " HTTP/1.1\r\n\r\n"), "HTTP/1.1 431"));
  EXPECT_TRUE(absl::StartsWith(Exchange(port, "BREW /pot HTCPCP/1.0\r\n\r\n"), "HTTP/1.1 400"));
  EXPECT_EQ((*front)->counters().too_large.load(), 2u);
  EXPECT_EQ((*front)->counters().malformed.load(), 1u);
  EXPECT_EQ((*front)->counters().requests.load(), 0u);
}

TEST(HttpFront, ASlowClientTimesOutWithoutHoldingAWorker) {
  HttpFrontOptions o;
  o.workers = 1;
  o.max_connections_per_client = 64;  // all of them come from 127.0.0.1 here
  o.header_timeout = absl::Milliseconds(600);
  o.request_timeout = absl::Milliseconds(900);
  auto front = HttpFront::Start(o, Echo);
  ASSERT_TRUE(front.ok());
  const int port = (*front)->port();
  // Twenty clients trickle their headers; the one worker still answers.
  std::vector<int> slow;
  for (int i = 0; i < 20; ++i) {
    slow.push_back(Connect(port));
    Send(slow.back(), "POST /scep HTTP/1.1\r\n");
  }
  const auto start = std::chrono::steady_clock::now();
  std::string r = Exchange(port, "GET /scep?operation=GetCACaps HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200")) << r;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  // The trickling ones are cut off at their deadline with 408.
  for (int fd : slow) {
    Send(fd, "X-Slow: 1\r\n");
    std::string got = ReadAll(fd, std::chrono::milliseconds(3000));
    EXPECT_TRUE(absl::StartsWith(got, "HTTP/1.1 408")) << got;
    close(fd);
  }
  EXPECT_EQ((*front)->counters().timeouts.load(), 20u);
  EXPECT_TRUE(Eventually([&] { return (*front)->counters().open.load() == 0; }));
  // A header in time but a body that never comes: cut off too.
  const int fd = Connect(port);
  Send(fd, "POST /scep HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  EXPECT_TRUE(absl::StartsWith(ReadAll(fd, std::chrono::milliseconds(3000)), "HTTP/1.1 408"));
  close(fd);
}

TEST(HttpFront, OneAddressCannotTakeEveryConnection) {
  HttpFrontOptions o;
  o.max_connections_per_client = 4;
  auto front = HttpFront::Start(o, Echo);
  ASSERT_TRUE(front.ok());
  const int port = (*front)->port();
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(Connect(port));
  // Let the server take the four before the fifth arrives.
  ASSERT_TRUE(Eventually([&] { return (*front)->counters().open.load() == 4; }));
  std::string r = Exchange(port, "GET /scep HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 503")) << r;
  EXPECT_EQ((*front)->counters().refused_per_client.load(), 1u);
  for (int fd : held) close(fd);
  ASSERT_TRUE(Eventually([&] { return (*front)->counters().open.load() == 0; }));
  r = Exchange(port, "GET /scep HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200")) << r;
}

TEST(HttpFront, ARequestHalfClosedAfterItsBodyIsStillAnswered) {
  auto front = HttpFront::Start(HttpFrontOptions{}, Echo);
  ASSERT_TRUE(front.ok());
  const int fd = Connect((*front)->port());
  Send(fd, "POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nok");
  shutdown(fd, SHUT_WR);
  std::string r = ReadAll(fd);
  close(fd);
  EXPECT_TRUE(absl::EndsWith(r, "POST /x op= body=ok")) << r;
}

}  // namespace
}  // namespace vpnfleet::pki
