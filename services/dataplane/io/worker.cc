#include "services/dataplane/io/worker.h"

#include <sched.h>
#include <sys/epoll.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/time/clock.h"
#include "common/log/log.h"
#include "services/dataplane/io/outer_batch.h"
#include "services/dataplane/io/tun_writer.h"
#include "services/dataplane/packet/ipv4.h"
#include "services/dataplane/packet/offload.h"

namespace vpnfleet::dataplane {
namespace {

constexpr size_t kBatch = Frame::kMaxPackets;
// Room behind a packet for the ESP trailer and ICV (padding <= 15 + 2 + a
// 32-byte ICV), so a read never fills the buffer to the end.
constexpr uint32_t kTailroom = 64;
// What a packet buffer receives, and the rest of the largest UDP payload.
constexpr uint32_t kRxSize = kBufferSize - kHeadroom - kTailroom;
constexpr uint32_t kOverflowSize = 65535 - kRxSize;
// Received: IP_PKTINFO, UDP_GRO and SO_RXQ_OVFL.
constexpr size_t kRxCmsgSpace = CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int)) +
                                CMSG_SPACE(sizeof(uint32_t));
// A TUN read with offloads: the virtio-net header and a super-packet of up
// to 64 KiB.
constexpr size_t kTunReadSize = kVnetHeaderSize + 65535;

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// UDP GRO: receives per recvmmsg, each up to 64 KiB (a run of datagrams).
constexpr size_t kGroBatch = 8;
constexpr size_t kGroBufferSize = 65535;

}  // namespace

class Worker final : public PacketSink {
 public:
  Worker(uint32_t id, WorkerGroup* group, Engine* engine, ForwarderOptions options, WorkerIo io)
      : id_(id),
        group_(group),
        engine_(engine),
        counters_(engine->counters(id)),
        udp_(OuterBatch::Kind::kUdp, io.udp.get(), io.udp_gso, &engine->counters(id)),
        raw_(OuterBatch::Kind::kRawEsp, io.raw.get(), false, &engine->counters(id)),
        ah_(OuterBatch::Kind::kRawAh, io.raw_ah.get(), false, &engine->counters(id)),
        tun_out_(io.tun.get(), io.tun_vnet_hdr, &engine->counters(id)),
        forwarder_(options, &engine->counters(id)),
        io_(std::move(io)),
        buffers_(new uint8_t[kBatch * kBufferSize]),
        // Address space only: pages are touched by the rare datagram that
        // does not fit a packet buffer (a large IKE message on 4500).
        overflow_(new uint8_t[kBatch * kOverflowSize]),
        tun_read_(io_.tun_vnet_hdr ? new uint8_t[kTunReadSize] : nullptr),
        gro_buffers_(io_.udp_gro ? new uint8_t[kGroBatch * kGroBufferSize] : nullptr) {
    for (size_t i = 0; i < kBatch; ++i) {
      packets_[i].buffer = buffers_.get() + i * kBufferSize;
      packets_[i].capacity = kBufferSize;
      rx_iov_[i][0].iov_base = packets_[i].buffer + kHeadroom;
      rx_iov_[i][0].iov_len = kRxSize;
      rx_iov_[i][1].iov_base = overflow_.get() + i * kOverflowSize;
      rx_iov_[i][1].iov_len = kOverflowSize;
      rx_msgs_[i].msg_hdr.msg_iov = rx_iov_[i].data();
      rx_msgs_[i].msg_hdr.msg_iovlen = 2;
    }
  }

  void Start() { thread_ = std::thread([this] { Run(); }); }
  void RequestStop() {
    stop_.store(true);
    Wake();
  }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  void Wake() {
    uint64_t one = 1;
    ssize_t r = write(io_.wake.get(), &one, sizeof one);
    (void)r;
  }

  // --- PacketSink ---
  void ToOuter(Packet& p) noexcept override {
    OuterBatch& q = p.outer_proto == kProtoAh ? ah_ : p.outer_dport != 0 ? udp_ : raw_;
    if (!q.open()) {
      ++counters_.drops[static_cast<size_t>(ForwardDrop::kSendError)];
      return;
    }
    q.Add(p);
  }

  void ToInner(Packet& p) noexcept override { tun_out_.Write(p); }

  void Handoff(uint32_t worker, Packet& p, bool from_inner) noexcept override {
    HandoffSlot* s = group_->ring(id_, worker).Claim();
    if (s == nullptr || p.len > sizeof s->data) {
      ++counters_.drops[static_cast<size_t>(ForwardDrop::kHandoffFull)];
      return;
    }
    s->from_inner = from_inner;
    s->len = p.len;
    s->outer_src = p.outer_src;
    s->outer_dst = p.outer_dst;
    s->outer_sport = p.outer_sport;
    s->outer_dport = p.outer_dport;
    s->outer_tos = p.outer_tos;
    s->outer_proto = p.outer_proto;
    std::memcpy(s->data, p.data(), p.len);
    group_->ring(id_, worker).Push();
    wake_mask_ |= uint64_t{1} << (worker & 63);
  }

  void Emit(const ForwarderEvent& e) noexcept override {
    SpscRing<ForwarderEvent>& ring = engine_->event_ring(id_);
    if (ForwarderEvent* slot = ring.Claim()) {
      *slot = e;
      ring.Push();
    }
  }

 private:
  // Buffer i, reset to an empty packet after the headroom, as frame slot i.
  Packet& Fresh(size_t i) {
    Packet& p = packets_[i];
    p.offset = kHeadroom;
    p.dropped = false;
    p.outer_src = p.outer_dst = 0;
    p.outer_sport = p.outer_dport = 0;
    p.outer_tos = 0;
    p.outer_proto = kProtoEsp;
    frame_.packets[i] = &p;
    return p;
  }

  void ResetFrame(size_t n) {
    frame_.size = n;
    for (size_t i = 0; i < n; ++i) Fresh(i);
  }

  void FinishFrame() noexcept {
    tun_out_.Flush();
    udp_.Flush();
    raw_.Flush();
    ah_.Flush();
    if (wake_mask_ != 0) {
      for (uint32_t w = 0; w < group_->size(); ++w) {
        if (wake_mask_ & (uint64_t{1} << (w & 63))) group_->Wake(w);
      }
      wake_mask_ = 0;
    }
  }

  void RunInner(size_t n, int64_t now) noexcept {
    ResetFrame(n);
    forwarder_.FromInner(*tables_, frame_, now, *this);
    FinishFrame();
  }

  // With offloads: each read is a virtio-net header and a packet that may
  // be a super-packet; its segments fill the frame (run whenever full).
  bool ReadTunOffloaded(int64_t now) noexcept {
    size_t n = 0, reads = 0;
    while (reads < kBatch) {
      ssize_t r = read(io_.tun.get(), tun_read_.get(), kTunReadSize);
      if (r <= 0) break;
      ++reads;
      OffloadError e = OffloadError::kTruncated;
      if (static_cast<size_t>(r) > kVnetHeaderSize) {
        e = segmenter_.Init(ReadVnetHeader(tun_read_.get()), tun_read_.get() + kVnetHeaderSize,
                            static_cast<size_t>(r) - kVnetHeaderSize);
      }
      if (e != OffloadError::kOk) {
        ++counters_.drops[static_cast<size_t>(ForwardDrop::kBadOffload)];
        continue;
      }
      if (segmenter_.count() > 1) ++counters_.tun_gso_rx;
      while (!segmenter_.done()) {
        if (n == kBatch) {
          RunInner(n, now);
          n = 0;
        }
        size_t size = 0;
        if (segmenter_.Next(packets_[n].buffer + kHeadroom, kBufferSize - kHeadroom - kTailroom,
                            &size) != OffloadError::kOk) {
          ++counters_.drops[static_cast<size_t>(ForwardDrop::kBadOffload)];
          break;
        }
        packets_[n].len = static_cast<uint32_t>(size);
        ++n;
      }
    }
    if (n > 0) RunInner(n, now);
    return reads == kBatch;
  }

  bool ReadTun(int64_t now) noexcept {
    if (io_.tun_vnet_hdr) return ReadTunOffloaded(now);
    size_t n = 0;
    while (n < kBatch) {
      ssize_t r = read(io_.tun.get(), packets_[n].buffer + kHeadroom,
                       kBufferSize - kHeadroom - kTailroom);
      if (r <= 0) break;
      packets_[n].len = static_cast<uint32_t>(r);
      ++n;
    }
    if (n == 0) return false;
    RunInner(n, now);
    return n == kBatch;
  }

  // `raw`: a raw socket (the IP header comes too); `ah`: of protocol 51,
  // whose packets keep their IP header for AH's ICV.
  bool ReadOuter(int fd, bool raw, bool ah, int64_t now) noexcept {
    for (size_t i = 0; i < kBatch; ++i) {
      struct msghdr& h = rx_msgs_[i].msg_hdr;
      h.msg_name = &rx_addr_[i];
      h.msg_namelen = sizeof rx_addr_[i];
      h.msg_control = rx_cmsg_[i].data();
      h.msg_controllen = rx_cmsg_[i].size();
      h.msg_flags = 0;
    }
    int r = recvmmsg(fd, rx_msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (r <= 0) return false;
    const size_t n = static_cast<size_t>(r);
    (raw ? counters_.raw_rx : counters_.udp_rx) += n;
    ResetFrame(n);
    for (size_t i = 0; i < n; ++i) {
      Packet& p = packets_[i];
      struct msghdr& h = rx_msgs_[i].msg_hdr;
      p.len = rx_msgs_[i].msg_len;
      if (h.msg_flags & MSG_TRUNC) {
        p.dropped = true;
        ++counters_.drops[static_cast<size_t>(ForwardDrop::kNotEsp)];
        continue;
      }
      p.outer_src = ntohl(rx_addr_[i].sin_addr.s_addr);
      p.outer_sport = raw ? 0 : ntohs(rx_addr_[i].sin_port);
      p.outer_dst = ReadControl(fd, h, nullptr);
      if (!raw && io_.punt != nullptr && p.len > 4) {
        const uint8_t* d = p.data();
        if ((d[0] | d[1] | d[2] | d[3]) == 0) {
          // The non-ESP marker: an IKE message for the IKE daemon, whole
          // however large (a certificate chain in IKE_AUTH, reassembled).
          if (p.len > kRxSize) {
            io_.punt->Punt(p.outer_src, p.outer_sport, p.outer_dst, d, kRxSize,
                           static_cast<const uint8_t*>(rx_iov_[i][1].iov_base), p.len - kRxSize);
          } else {
            io_.punt->Punt(p.outer_src, p.outer_sport, p.outer_dst, d, p.len);
          }
          p.dropped = true;
          continue;
        }
      }
      if (p.len > kRxSize) {
        p.dropped = true;
        ++counters_.drops[static_cast<size_t>(ForwardDrop::kOversize)];
        continue;
      }
      if (raw) {
        // A raw socket hands over the IP header too.
        Ipv4Info ip;
        FlowKey unused;
        if (ParseIpv4(p.data(), p.len, &ip, &unused) != Ipv4Error::kOk || ip.fragment) {
          p.dropped = true;
          ++counters_.drops[static_cast<size_t>(ForwardDrop::kNotEsp)];
          continue;
        }
        p.outer_dst = ip.dst;
        p.outer_tos = ip.tos;
        if (ah) {
          p.outer_proto = kProtoAh;
          p.len = ip.total_size;
        } else {
          p.offset += ip.header_size;
          p.len = ip.total_size - ip.header_size;
        }
      }
    }
    forwarder_.FromOuter(*tables_, frame_, now, *this);
    FinishFrame();
    return n == kBatch;
  }

  // The control messages of a receive on `fd`: returns the local address
  // (IP_PKTINFO), counts new socket drops (SO_RXQ_OVFL) and, with
  // `gro_size`, gives the size of the datagrams of a GRO run (0: one).
  uint32_t ReadControl(int fd, struct msghdr& h, size_t* gro_size) noexcept {
    uint32_t dst = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        dst = ntohl(info.ipi_addr.s_addr);
      } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        NoteOverflow(fd, c);
      } else if (gro_size != nullptr && c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof size);
        *gro_size = size > 0 ? static_cast<size_t>(size) : 0;
      }
    }
    return dst;
  }

  // SO_RXQ_OVFL: the socket's drops so far; what is new is counted.
  void NoteOverflow(int fd, const struct cmsghdr* c) noexcept {
    uint32_t total = 0;
    std::memcpy(&total, CMSG_DATA(c), sizeof total);
    uint32_t& last = fd == io_.udp.get() ? overflow_udp_ : fd == io_.raw.get() ? overflow_raw_
                                                                                : overflow_ah_;
    if (total != last) {
      counters_.drops[static_cast<size_t>(ForwardDrop::kSocketOverflow)] += total - last;
      last = total;
    }
  }

  void RunOuter(size_t n, int64_t now) noexcept {
    frame_.size = n;
    forwarder_.FromOuter(*tables_, frame_, now, *this);
    FinishFrame();
  }

  // UDP with GRO: each receive is one datagram or a run of a flow's
  // datagrams of gso_size bytes each (the last may be shorter), split here
  // into packets; IKE messages among them go to the IKE daemon whole.
  bool ReadUdpGro(int64_t now) noexcept {
    for (size_t i = 0; i < kGroBatch; ++i) {
      gro_iov_[i] = {gro_buffers_.get() + i * kGroBufferSize, kGroBufferSize};
      struct msghdr& h = gro_msgs_[i].msg_hdr;
      h.msg_iov = &gro_iov_[i];
      h.msg_iovlen = 1;
      h.msg_name = &rx_addr_[i];
      h.msg_namelen = sizeof rx_addr_[i];
      h.msg_control = rx_cmsg_[i].data();
      h.msg_controllen = rx_cmsg_[i].size();
      h.msg_flags = 0;
    }
    int r = recvmmsg(io_.udp.get(), gro_msgs_.data(), kGroBatch, MSG_DONTWAIT, nullptr);
    if (r <= 0) return false;
    size_t n = 0;
    for (size_t i = 0; i < static_cast<size_t>(r); ++i) {
      struct msghdr& h = gro_msgs_[i].msg_hdr;
      const size_t len = gro_msgs_[i].msg_len;
      const uint8_t* data = static_cast<const uint8_t*>(gro_iov_[i].iov_base);
      if (h.msg_flags & MSG_TRUNC) {
        ++counters_.udp_rx;
        ++counters_.drops[static_cast<size_t>(ForwardDrop::kNotEsp)];
        continue;
      }
      const uint32_t src = ntohl(rx_addr_[i].sin_addr.s_addr);
      const uint16_t sport = ntohs(rx_addr_[i].sin_port);
      size_t gro_size = 0;
      const uint32_t dst = ReadControl(io_.udp.get(), h, &gro_size);
      const size_t seg = gro_size > 0 && gro_size < len ? gro_size : len;
      if (seg < len) ++counters_.udp_gro_rx;
      for (size_t off = 0; off < len || (len == 0 && off == 0); off += seg) {
        const size_t size = len - off < seg ? len - off : seg;
        const uint8_t* d = data + off;
        ++counters_.udp_rx;
        if (io_.punt != nullptr && size > 4 && (d[0] | d[1] | d[2] | d[3]) == 0) {
          io_.punt->Punt(src, sport, dst, d, size);
        } else if (size > kRxSize) {
          ++counters_.drops[static_cast<size_t>(ForwardDrop::kOversize)];
        } else {
          if (n == kBatch) {
            RunOuter(n, now);
            n = 0;
          }
          Packet& p = Fresh(n++);
          std::memcpy(p.data(), d, size);
          p.len = static_cast<uint32_t>(size);
          p.outer_src = src;
          p.outer_sport = sport;
          p.outer_dst = dst;
        }
        if (size == 0) break;
      }
    }
    if (n > 0) RunOuter(n, now);
    return static_cast<size_t>(r) == kGroBatch;
  }

  bool HandoffsBacklogged() const noexcept {
    for (uint32_t to = 0; to < group_->size(); ++to) {
      if (to == id_) continue;
      const SpscRing<HandoffSlot>& r = group_->ring(id_, to);
      if (r.used() * 2 > r.capacity()) return true;
    }
    return false;
  }

  void DrainHandoffs(int64_t now) noexcept {
    for (uint32_t from = 0; from < group_->size(); ++from) {
      if (from == id_) continue;
      SpscRing<HandoffSlot>& ring = group_->ring(from, id_);
      for (;;) {
        // One frame per direction at a time, as the slots come.
        size_t n = 0;
        bool inner = false;
        while (n < kBatch) {
          HandoffSlot* s = ring.Front();
          if (s == nullptr || (n > 0 && s->from_inner != inner)) break;
          inner = s->from_inner;
          Packet& p = Fresh(n);
          p.len = s->len;
          std::memcpy(p.data(), s->data, s->len);
          p.outer_src = s->outer_src;
          p.outer_dst = s->outer_dst;
          p.outer_sport = s->outer_sport;
          p.outer_dport = s->outer_dport;
          p.outer_tos = s->outer_tos;
          p.outer_proto = s->outer_proto;
          ring.Pop();
          ++n;
        }
        if (n == 0) break;
        frame_.size = n;
        if (inner) {
          forwarder_.FromInner(*tables_, frame_, now, *this);
        } else {
          forwarder_.FromOuter(*tables_, frame_, now, *this);
        }
        FinishFrame();
      }
    }
  }

  void Run() {
    Fd ep(epoll_create1(EPOLL_CLOEXEC));
    auto add = [&](int fd) {
      if (fd < 0) return;
      struct epoll_event ev;
      std::memset(&ev, 0, sizeof ev);
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
    };
    add(io_.tun.get());
    add(io_.udp.get());
    if (io_.raw_receive) {
      add(io_.raw.get());
      add(io_.raw_ah.get());
    }
    add(io_.wake.get());
    std::array<struct epoll_event, 8> events;
    while (!stop_.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep.get(), events.data(), static_cast<int>(events.size()), 500);
      if (n < 0 && errno != EINTR) {
        log::Error("epoll_wait failed", {{"error", std::strerror(errno)}});
        return;
      }
      engine_->Refresh(&tables_);
      const int64_t start = MonotonicNanos();
      const int64_t now = absl::GetCurrentTimeNanos();
      bool deferred = false;
      for (int i = 0; i < n; ++i) {
        const int fd = events[static_cast<size_t>(i)].data.fd;
        if (fd == io_.wake.get()) {
          uint64_t v;
          ssize_t r = read(fd, &v, sizeof v);
          (void)r;
        } else if (HandoffsBacklogged()) {
          // Another worker has half a ring of ours to process: what we
          // would read now waits in the kernel's queues (counted there if
          // they overflow) rather than being dropped at a full ring.
          deferred = true;
        } else if (fd == io_.tun.get()) {
          for (int round = 0; round < 4 && ReadTun(now) && !HandoffsBacklogged(); ++round) {
          }
        } else if (fd == io_.udp.get() && io_.udp_gro) {
          for (int round = 0; round < 4 && ReadUdpGro(now) && !HandoffsBacklogged(); ++round) {
          }
        } else {
          const bool ah = fd == io_.raw_ah.get();
          for (int round = 0;
               round < 4 && ReadOuter(fd, ah || fd == io_.raw.get(), ah, now) &&
               !HandoffsBacklogged();
               ++round) {
          }
        }
      }
      DrainHandoffs(now);
      if (deferred) {
        for (uint32_t w = 0; w < group_->size(); ++w) {
          if (w != id_) group_->Wake(w);
        }
        sched_yield();
      }
      counters_.busy_ns += static_cast<uint64_t>(MonotonicNanos() - start);
    }
  }

  uint32_t id_;
  WorkerGroup* group_;
  Engine* engine_;
  ForwarderCounters& counters_;
  OuterBatch udp_, raw_, ah_;  // before io_: built from the fds it then owns
  TunWriter tun_out_;
  Forwarder forwarder_;
  WorkerIo io_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::shared_ptr<const ForwardingTables> tables_;
  uint64_t wake_mask_ = 0;

  std::unique_ptr<uint8_t[]> buffers_;
  std::unique_ptr<uint8_t[]> overflow_;
  std::unique_ptr<uint8_t[]> tun_read_;  // offloads only
  Segmenter segmenter_;
  std::unique_ptr<uint8_t[]> gro_buffers_;  // UDP GRO only
  std::array<struct mmsghdr, kGroBatch> gro_msgs_{};
  std::array<struct iovec, kGroBatch> gro_iov_{};
  std::array<Packet, kBatch> packets_{};
  Frame frame_;
  std::array<struct mmsghdr, kBatch> rx_msgs_{};
  std::array<std::array<struct iovec, 2>, kBatch> rx_iov_{};
  std::array<struct sockaddr_in, kBatch> rx_addr_{};
  alignas(struct cmsghdr) std::array<std::array<uint8_t, kRxCmsgSpace>, kBatch> rx_cmsg_{};
  // The kernel's running count of drops per receiving socket (SO_RXQ_OVFL).
  uint32_t overflow_udp_ = 0, overflow_raw_ = 0, overflow_ah_ = 0;

};

WorkerGroup::WorkerGroup(Engine* engine, ForwarderOptions options, std::vector<WorkerIo> io)
    : engine_(engine) {
  const uint32_t n = static_cast<uint32_t>(io.size());
  // Rings only between distinct workers: up to 64 MiB of them, at least
  // 1,024 and at most 8,192 packets each.
  size_t slots = 1024;
  if (n > 1) {
    const size_t fit = (size_t{64} << 20) / (size_t{n} * (n - 1) * sizeof(HandoffSlot));
    slots = fit < 1024 ? 1024 : fit > 8192 ? 8192 : fit;
  }
  for (uint32_t i = 0; i < n * n; ++i) {
    rings_.push_back(i / n == i % n ? nullptr : std::make_unique<SpscRing<HandoffSlot>>(slots));
  }
  for (uint32_t i = 0; i < n; ++i) {
    ForwarderOptions o = options;
    o.worker = i;
    workers_.push_back(std::make_unique<Worker>(i, this, engine, o, std::move(io[i])));
  }
}

WorkerGroup::~WorkerGroup() { Stop(); }

void WorkerGroup::Start() {
  for (auto& w : workers_) w->Start();
}

void WorkerGroup::Stop() {
  for (auto& w : workers_) w->RequestStop();
  for (auto& w : workers_) w->Join();
}

void WorkerGroup::Wake(uint32_t worker) { workers_[worker]->Wake(); }

}  // namespace vpnfleet::dataplane
