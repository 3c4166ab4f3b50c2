#include "services/dataplane/io/outer_batch.h"

#include <netinet/udp.h>

#include <cerrno>
#include <cstring>

#include "common/net/udp_source.h"

namespace vpnfleet::dataplane {
namespace {

// UDP GSO: at most this many datagrams, and bytes, in one send (the
// kernel's UDP_MAX_SEGMENTS was 64 before Linux 6.1; a datagram <= 64 KiB).
constexpr size_t kMaxGsoSegments = 64;
constexpr size_t kMaxGsoBytes = 65000;

}  // namespace

void OuterBatch::Add(const Packet& p) noexcept {
  if (n_ == kBatch) Flush();
  const size_t i = n_++;
  iov_[i] = {p.data(), p.len};
  struct sockaddr_in& a = addr_[i];
  a = net::SockaddrV4(p.outer_dst, p.outer_dport);
  struct msghdr& h = msgs_[i].msg_hdr;
  std::memset(&h, 0, sizeof h);
  h.msg_name = &a;
  h.msg_namelen = sizeof a;
  h.msg_iov = &iov_[i];
  h.msg_iovlen = 1;
  if (kind_ == Kind::kRawAh) return;  // the packet carries its own IP header
  src_[i] = p.outer_src;
  tos_[i] = p.outer_tos;
  h.msg_control = cmsg_[i].data();
  h.msg_controllen = kCmsgSpace;
  std::memset(cmsg_[i].data(), 0, kCmsgSpace);
  struct cmsghdr* c = CMSG_FIRSTHDR(&h);
  net::FillPktinfo(c, p.outer_src);
  c = CMSG_NXTHDR(&h, c);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_TOS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  const int tos = p.outer_tos;
  std::memcpy(CMSG_DATA(c), &tos, sizeof tos);
}

void OuterBatch::SendEach(size_t first, size_t count) noexcept {
  size_t sent = 0;
  while (sent < count) {
    int r = sendmmsg(fd_, msgs_.data() + first + sent, static_cast<unsigned>(count - sent), 0);
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      // The first message failed (e.g. no route, buffer full): drop it and
      // go on with the rest.
      ++counters_->drops[static_cast<size_t>(ForwardDrop::kSendError)];
      ++sent;
      continue;
    }
    sent += static_cast<size_t>(r);
    counters_->outer_tx += static_cast<uint64_t>(r);
    (kind_ == Kind::kUdp ? counters_->udp_tx : counters_->raw_tx) += static_cast<uint64_t>(r);
  }
}

bool OuterBatch::SameRoute(size_t a, size_t b) const {
  return addr_[a].sin_addr.s_addr == addr_[b].sin_addr.s_addr &&
         addr_[a].sin_port == addr_[b].sin_port && src_[a] == src_[b] && tos_[a] == tos_[b];
}

// UDP GSO: runs of equal-sized ESP datagrams (the last may be shorter) to one
// peer leave in one message with UDP_SEGMENT, so the kernel builds, routes
// and (if the path keeps it whole) delivers one buffer per run. A run the
// kernel refuses (a segment over the path MTU: EINVAL) goes out datagram by
// datagram; no GSO at all (EIO) turns it off.
void OuterBatch::FlushGso() noexcept {
  runs_ = 0;
  for (size_t i = 0; i < n_;) {
    const size_t seg = iov_[i].iov_len;
    size_t j = i + 1, bytes = seg;
    while (j < n_ && j - i < kMaxGsoSegments && iov_[j - 1].iov_len == seg &&
           iov_[j].iov_len <= seg && bytes + iov_[j].iov_len <= kMaxGsoBytes && SameRoute(i, j)) {
      bytes += iov_[j].iov_len;
      ++j;
    }
    const size_t k = runs_++;
    run_first_[k] = i;
    run_count_[k] = j - i;
    struct msghdr& h = run_msgs_[k].msg_hdr;
    h = msgs_[i].msg_hdr;  // address, pktinfo and TOS of the run
    h.msg_iov = &iov_[i];
    h.msg_iovlen = j - i;
    if (j - i > 1) {
      std::memcpy(run_cmsg_[k].data(), cmsg_[i].data(), kCmsgSpace);
      h.msg_control = run_cmsg_[k].data();
      h.msg_controllen = kGsoCmsgSpace;
      struct cmsghdr* c = CMSG_FIRSTHDR(&h);
      c = CMSG_NXTHDR(&h, c);
      c = CMSG_NXTHDR(&h, c);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t size = static_cast<uint16_t>(seg);
      std::memcpy(CMSG_DATA(c), &size, sizeof size);
    }
    i = j;
  }
  size_t done = 0;
  while (done < runs_) {
    int r = sendmmsg(fd_, run_msgs_.data() + done, static_cast<unsigned>(runs_ - done), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      // The first message failed: its datagrams go one by one.
      if (errno == EIO) gso_ = false;
      SendEach(run_first_[done], run_count_[done]);
      ++done;
      continue;
    }
    for (int m = 0; m < r; ++m) {
      const size_t c = run_count_[done + static_cast<size_t>(m)];
      counters_->outer_tx += c;
      counters_->udp_tx += c;
      if (c > 1) ++counters_->udp_gso_tx;
    }
    done += static_cast<size_t>(r);
  }
}

void OuterBatch::Flush() noexcept {
  if (n_ == 0) return;
  if (gso_ && n_ > 1) {
    FlushGso();
  } else {
    SendEach(0, n_);
  }
  n_ = 0;
}

}  // namespace vpnfleet::dataplane
