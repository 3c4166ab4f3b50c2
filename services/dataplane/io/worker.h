// A forwarding worker: one thread that reads frames from its TUN queue and
// outer sockets (read() until empty / recvmmsg), runs them through its
// Forwarder and writes the results (write() / sendmmsg), all from buffers
// allocated once. Packets whose SA another worker owns go to that worker
// through a lock-free ring; the owner's sequence numbers and replay window
// are touched by the owner only.
#ifndef VPNFLEET_SERVICES_DATAPLANE_IO_WORKER_H_
#define VPNFLEET_SERVICES_DATAPLANE_IO_WORKER_H_

#include <sys/socket.h>
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "services/dataplane/forwarder/engine.h"
#include "services/dataplane/forwarder/forwarder.h"
#include "services/dataplane/forwarder/spsc_ring.h"
#include "services/dataplane/io/devices.h"
#include "services/dataplane/io/punt.h"

namespace vpnfleet::dataplane {

struct WorkerIo {
  Fd tun;     // this worker's TUN queue
  bool tun_vnet_hdr = false;  // reads and writes carry a virtio-net header (offloads)
  Fd udp;     // ESP in UDP; -1 if off
  bool udp_gso = false;  // send runs of datagrams to one peer with UDP_SEGMENT
  bool udp_gro = false;  // the socket has UDP_GRO: a receive may hold a run
  Fd raw;     // raw ESP; only worker 0 reads from its own (see OpenRawIpsec)
  Fd raw_ah;  // raw AH, the same way
  bool raw_receive = false;
  Fd wake;    // eventfd: stop, or packets handed over
  PuntChannel* punt = nullptr;  // IKE messages on UDP/4500 go here; null: dropped
};

constexpr uint32_t kBufferSize = 4096;
constexpr uint32_t kHeadroom = 128;

// A packet passed between workers, copied (a frame's buffers are reused as
// soon as the frame is done).
struct HandoffSlot {
  bool from_inner = false;
  uint32_t len = 0;
  uint32_t outer_src = 0, outer_dst = 0;
  uint16_t outer_sport = 0, outer_dport = 0;
  uint8_t outer_tos = 0, outer_proto = 50;
  uint8_t data[kBufferSize - kHeadroom];
};

class Worker;

// The workers of one forwarder and the rings between them.
class WorkerGroup {
 public:
  WorkerGroup(Engine* engine, ForwarderOptions options, std::vector<WorkerIo> io);
  ~WorkerGroup();
  void Start();
  void Stop();
  uint32_t size() const { return static_cast<uint32_t>(workers_.size()); }

 private:
  friend class Worker;
  SpscRing<HandoffSlot>& ring(uint32_t from, uint32_t to) { return *rings_[from * size() + to]; }
  const SpscRing<HandoffSlot>& ring(uint32_t from, uint32_t to) const {
    return *rings_[from * size() + to];
  }
  void Wake(uint32_t worker);

  Engine* engine_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<SpscRing<HandoffSlot>>> rings_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_IO_WORKER_H_
