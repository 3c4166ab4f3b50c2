// vpnfleet-dataplane: the userspace IPsec forwarder.
//
// Without --tun it keeps the SAD and SPD only (a control-plane test
// double is never needed: this is the same engine without I/O). With --tun
// it creates the TUN device and the outer sockets and starts the workers.
#include <atomic>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/daemon.h"
#include "services/dataplane/forwarder/engine.h"
#include "services/dataplane/io/devices.h"
#include "services/dataplane/io/worker.h"
#include "services/dataplane/server/dataplane_service.h"
#include "services/dataplane/server/forwarder_metrics.h"

ABSL_FLAG(bool, allow_legacy, false,
          "Accept SAs with legacy algorithms (DES, 3DES, HMAC-MD5).");
ABSL_FLAG(std::string, tun, "",
          "Inner side: the TUN device to create (e.g. vf0). Empty: no packet I/O, tables only.");
ABSL_FLAG(uint32_t, tun_mtu, 1500, "MTU of the TUN device.");
ABSL_FLAG(bool, tun_offload, true,
          "Open the TUN with virtio-net headers and checksum/TSO/USO offloads: the kernel hands "
          "over super-packets of up to 64 KiB that the forwarder segments, and decrypted TCP "
          "segments of a flow are written back coalesced. --notun_offload: one packet per "
          "read and write.");
ABSL_FLAG(bool, udp_offload, true,
          "UDP GSO and GRO on the ESP-in-UDP socket: a run of datagrams to one peer leaves in one "
          "send and arrives in one receive where the kernel allows. --noudp_offload: one "
          "datagram per message (batched with sendmmsg/recvmmsg).");
ABSL_FLAG(uint32_t, outer_mtu, 1500,
          "Largest outer packet. An inner packet with DF set that would exceed it after ESP gets "
          "ICMP fragmentation-needed; without DF the kernel fragments the outer packet.");
ABSL_FLAG(uint32_t, udp_encap_port, 4500, "Port for ESP in UDP (RFC 3948); 0: off.");
ABSL_FLAG(std::string, ike_punt_socket, "",
          "Unix datagram socket for the IKE daemon: IKE messages arriving on the UDP "
          "encapsulation port are handed to the daemon that registers there, and it sends "
          "through it from that port. Empty: IKE messages on that port are dropped.");
ABSL_FLAG(bool, raw_esp, true, "Send and receive ESP and AH as IP protocols 50 and 51.");
ABSL_FLAG(uint32_t, per_sa_metrics, 0,
          "Export packet and byte counters per SA for at most this many SAs (0: none). Traffic is always "
          "counted by crypto map; per-SA series grow with tunnels and change at every rekey.");
ABSL_FLAG(uint32_t, workers, 1, "Forwarding worker threads (one TUN queue and socket each).");
ABSL_FLAG(uint32_t, fwmark, 0x5646,
          "SO_MARK on packets the forwarder sends, so routing rules can keep them off the "
          "routes that point at the TUN device. 0: none.");

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

// The forwarder's threads: workers and the control tick (lifetimes, events).
class Runtime {
 public:
  explicit Runtime(std::shared_ptr<Engine> engine) : engine_(std::move(engine)) {}
  ~Runtime() {
    stop_.store(true);
    if (ticker_.joinable()) ticker_.join();
    if (group_) group_->Stop();
    if (punt_) punt_->Stop();
    engine_->CloseSubscriptions();
  }

  absl::Status StartIo() {
    tun_ = absl::GetFlag(FLAGS_tun);
    tun_mtu_ = absl::GetFlag(FLAGS_tun_mtu);
    const uint32_t workers = engine_->workers();
    const uint32_t mark = absl::GetFlag(FLAGS_fwmark);
    TunOptions tun_options;
    tun_options.queues = workers;
    tun_options.mtu = tun_mtu_;
    tun_options.offload = absl::GetFlag(FLAGS_tun_offload);
    auto tun = OpenTun(tun_, tun_options);
    if (!tun.ok()) return tun.status();
    tun_offloads_ = !tun->vnet_hdr ? "off" : tun->uso ? "csum,tso4,tso6,uso" : tun->tso ? "csum,tso4,tso6" : "vnet-hdr";
    udp_port_ = absl::GetFlag(FLAGS_udp_encap_port);
    raw_ = absl::GetFlag(FLAGS_raw_esp);
    std::vector<WorkerIo> io(workers);
    SocketBuffers udp_buffers;
    for (uint32_t w = 0; w < workers; ++w) {
      io[w].tun = std::move(tun->queues[w]);
      io[w].tun_vnet_hdr = tun->vnet_hdr;
      if (udp_port_ != 0) {
        UdpOffload offload;
        auto udp = OpenUdpEncap(static_cast<uint16_t>(udp_port_), mark,
                                absl::GetFlag(FLAGS_udp_offload), &offload);
        if (!udp.ok()) return udp.status();
        io[w].udp = *std::move(udp);
        if (w == 0) udp_buffers = GetSocketBuffers(io[w].udp.get());
        io[w].udp_gso = offload.gso;
        io[w].udp_gro = offload.gro;
        udp_offloads_ = offload.gso && offload.gro ? "gso,gro" : offload.gso ? "gso" : offload.gro ? "gro" : "off";
      }
      if (raw_) {
        auto raw = OpenRawIpsec(IPPROTO_ESP, mark, /*receive=*/w == 0);
        if (!raw.ok()) return raw.status();
        io[w].raw = *std::move(raw);
        auto ah = OpenRawIpsec(IPPROTO_AH, mark, /*receive=*/w == 0);
        if (!ah.ok()) return ah.status();
        io[w].raw_ah = *std::move(ah);
        io[w].raw_receive = w == 0;
      }
      auto wake = OpenEventFd();
      if (!wake.ok()) return wake.status();
      io[w].wake = *std::move(wake);
    }
    if (udp_port_ != 0 && workers > 1) {
      // Not fatal: without steering, packets reach their SA's worker by handoff.
      absl::Status st = SteerUdpBySpi(io[0].udp.get(), workers);
      if (!st.ok()) log::Warn("ESP-in-UDP not steered by SPI", {{"error", st.ToString()}});
    }
    const std::string punt_path = absl::GetFlag(FLAGS_ike_punt_socket);
    if (!punt_path.empty() && udp_port_ != 0) {
      auto punt = PuntChannel::Open(punt_path, io[0].udp.get(), static_cast<uint16_t>(udp_port_));
      if (!punt.ok()) return punt.status();
      punt_ = *std::move(punt);
      for (WorkerIo& w : io) w.punt = punt_.get();
    }
    ForwarderOptions options;
    options.outer_mtu = absl::GetFlag(FLAGS_outer_mtu);
    group_ = std::make_unique<WorkerGroup>(engine_.get(), options, std::move(io));
    group_->Start();
    if (punt_) punt_->Start();
    log::Info("forwarder started", {{"tun", tun_}, {"workers", std::to_string(workers)},
                                    {"udp_receive_buffer", std::to_string(udp_buffers.receive)},
                                    {"udp_send_buffer", std::to_string(udp_buffers.send)},
                                    {"tun_offloads", tun_offloads_},
                                    {"udp_offloads", udp_offloads_},
                                    {"udp_encap_port", std::to_string(udp_port_)},
                                    {"raw_esp", raw_ ? "yes" : "no"}});
    return absl::OkStatus();
  }

  void StartTicker() {
    ticker_ = std::thread([this] {
      while (!stop_.load()) {
        engine_->Tick();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }

  std::vector<v1::Interface> Interfaces() const {
    std::vector<v1::Interface> out;
    if (!group_) return out;
    const ForwarderTotals c = engine_->Totals();
    v1::Interface tun;
    tun.set_name(tun_);
    tun.set_kind(v1::INTERFACE_KIND_TUN);
    tun.set_mtu(tun_mtu_);
    tun.set_up(true);
    tun.set_rx_packets(c.inner_rx);
    tun.set_tx_packets(c.inner_tx);
    tun.set_tx_drops(c.drops[static_cast<size_t>(ForwardDrop::kSendError)]);
    out.push_back(tun);
    if (udp_port_ != 0) {
      v1::Interface udp;
      udp.set_name(absl::StrCat("udp-encap:", udp_port_));
      udp.set_kind(v1::INTERFACE_KIND_UDP_ENCAP);
      udp.set_mtu(absl::GetFlag(FLAGS_outer_mtu));
      udp.set_up(true);
      udp.set_rx_packets(c.udp_rx);
      udp.set_tx_packets(c.udp_tx);
      out.push_back(udp);
    }
    if (raw_) {
      v1::Interface raw;
      raw.set_name("raw-ipsec");
      raw.set_kind(v1::INTERFACE_KIND_RAW_IP);
      raw.set_mtu(absl::GetFlag(FLAGS_outer_mtu));
      raw.set_up(true);
      raw.set_rx_packets(c.raw_rx);
      raw.set_tx_packets(c.raw_tx);
      out.push_back(raw);
    }
    return out;
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::unique_ptr<WorkerGroup> group_;
  std::unique_ptr<PuntChannel> punt_;  // after group_: workers use it until they stop
  std::thread ticker_;
  std::atomic<bool> stop_{false};
  std::string tun_;
  std::string tun_offloads_;
  std::string udp_offloads_ = "off";
  uint32_t tun_mtu_ = 0, udp_port_ = 0;
  bool raw_ = false;
};

}  // namespace
}  // namespace vpnfleet::dataplane

int main(int argc, char** argv) {
  using namespace vpnfleet::dataplane;
  return vpnfleet::server::RunDaemon(
      argc, argv, {"dataplane", 7404, 9404}, [](vpnfleet::server::DaemonContext& ctx) {
        EngineOptions options;
        options.sa_options.allow_legacy = absl::GetFlag(FLAGS_allow_legacy);
        options.workers = absl::GetFlag(FLAGS_workers);
        if (options.workers == 0 || options.workers > 64) {
          return absl::InvalidArgumentError("--workers: 1 to 64");
        }
        auto engine = std::make_shared<Engine>(vpnfleet::SystemClock::Get(), options);
        auto runtime = std::make_shared<Runtime>(engine);
        if (!absl::GetFlag(FLAGS_tun).empty()) {
          absl::Status st = runtime->StartIo();
          if (!st.ok()) return st;
        }
        runtime->StartTicker();
        auto service = std::make_shared<DataplaneServiceImpl>(
            engine.get(), [rt = runtime.get()] { return rt->Interfaces(); },
            ctx.host->registry(), ctx.host->authorizer());
        ctx.host->AddService(service.get(), "vpnfleet.dataplane.v1.DataplaneService");
        ctx.host->AddCollectable(std::make_shared<ForwarderMetrics>(engine.get(), absl::GetFlag(FLAGS_per_sa_metrics),
                                                              absl::GetFlag(FLAGS_tun)));
        // The runtime holds the engine, so the engine outlives the threads.
        ctx.keep_alive.insert(ctx.keep_alive.end(), {engine, runtime, service});
        return absl::OkStatus();
      });
}
