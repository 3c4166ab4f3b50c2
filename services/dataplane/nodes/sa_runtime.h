// The hot state of one SA in one direction, as the packet path sees it:
// transform (ESP or AH) keyed once, sequence numbers, replay window and the
// counters of `show crypto ipsec sa`. Owned by one worker (`owner`), read by
// the API and metrics through relaxed atomics.
#ifndef VPNFLEET_SERVICES_DATAPLANE_NODES_SA_RUNTIME_H_
#define VPNFLEET_SERVICES_DATAPLANE_NODES_SA_RUNTIME_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "services/dataplane/crypto/ah_transform.h"
#include "services/dataplane/crypto/esp_transform.h"
#include "services/dataplane/nodes/frame.h"
#include "services/dataplane/replay/replay_window.h"

namespace vpnfleet::dataplane {

enum class DropReason : uint8_t {
  kNoRoom,            // not enough headroom/tailroom in the buffer
  kSeqExhausted,      // outbound: the sequence space is used up; rekey
  kCryptoError,       // OpenSSL failed
  kMalformed,         // inbound: truncated or misaligned ESP
  kWrongSpi,          // inbound: a packet for another SA reached this one
  kReplayed,
  kTooOld,
  kIntegrity,         // ICV mismatch
  kBadTrailer,        // padding, pad length or next header wrong after decrypt
  kDummy,             // TFC dummy packet (not an error, never delivered)
  kBadProtocol,       // an ESP packet on an AH SA or the reverse
  kCount,
};

const char* DropReasonName(DropReason r);

// A counter written by one thread (the worker that owns it) and read by
// others (API, metrics): relaxed atomics, so no lock and no torn reads.
class Counter {
 public:
  void operator++() noexcept { *this += 1; }
  void operator+=(uint64_t d) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }
  uint64_t load() const noexcept { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const noexcept { return load(); }  // NOLINT: reads like a number

 private:
  std::atomic<uint64_t> v_{0};
};

// Counters with the names `show crypto ipsec sa` uses.
struct SaCounters {
  Counter pkts_encaps, pkts_encrypt, pkts_digest;
  Counter pkts_decaps, pkts_decrypt, pkts_verify;
  Counter bytes;
  Counter replay_failures, integrity_failures;
  Counter send_errors, recv_errors;
  std::array<Counter, static_cast<size_t>(DropReason::kCount)> drops{};
};

// Hot state of one SA in one direction.
struct alignas(64) SaRuntime {
  uint32_t spi = 0;
  bool inbound = false;
  bool esn = false;
  std::atomic<uint64_t> next_seq{1};  // outbound; written by the owner only
  uint32_t owner = 0;  // the worker that runs this SA, fixed at creation
  // Exactly one of the two, by protocol.
  std::unique_ptr<EspTransform> transform;
  std::unique_ptr<AhTransform> ah;
  uint16_t next_ip_id = 0;  // outbound AH writes the outer header itself
  ReplayWindow replay = *ReplayWindow::Create(ReplayWindow::kDefaultSize, true, false);
  SaCounters counters;
  // When the SA last carried a packet (the worker's clock, per frame), for
  // the idle time.
  std::atomic<int64_t> last_used_ns{0};
};

// Drops `p` (or every packet of `frame`), counted on the SA by reason.
inline void DropOnSa(SaRuntime& sa, Packet& p, DropReason r) noexcept {
  p.dropped = true;
  ++sa.counters.drops[static_cast<size_t>(r)];
}
inline void DropFrameOnSa(SaRuntime& sa, Frame& frame, DropReason r) noexcept {
  for (size_t i = 0; i < frame.size; ++i) {
    if (!frame.packets[i]->dropped) DropOnSa(sa, *frame.packets[i], r);
  }
}

// The next outbound sequence number, or false (packet dropped and counted)
// when the space is used up: it never cycles (RFC 4303 §3.3.3, RFC 4302
// §2.5); without ESN the last usable number is 2^32 - 1, then the SA must
// be replaced.
inline bool NextOutboundSeq(SaRuntime& sa, Packet& p, uint64_t* seq) noexcept {
  const uint64_t last = sa.esn ? UINT64_MAX : UINT32_MAX;
  const uint64_t next = sa.next_seq.load(std::memory_order_relaxed);
  if (next > last || next == 0) {
    DropOnSa(sa, p, DropReason::kSeqExhausted);
    return false;
  }
  sa.next_seq.store(next + 1, std::memory_order_relaxed);
  *seq = next;
  return true;
}

// The receive order of RFC 4303 §3.4.3 and RFC 4302 §3.4.3, for ESP and AH
// alike: replay pre-check, then `verify(full_seq)` (the ICV), then the
// window moves. False when `p` was dropped (and counted).
template <typename Verify>
inline bool ReplayCheckedVerify(SaRuntime& sa, Packet& p, uint32_t seq_low,
                                Verify&& verify) noexcept {
  const ReplayWindow::Check c = sa.replay.Precheck(seq_low);
  if (c.verdict != ReplayWindow::Verdict::kOk) {
    ++sa.counters.replay_failures;
    DropOnSa(sa, p, c.verdict == ReplayWindow::Verdict::kReplayed ? DropReason::kReplayed
                                                                   : DropReason::kTooOld);
    return false;
  }
  if (!verify(c.seq)) {
    ++sa.counters.integrity_failures;
    DropOnSa(sa, p, DropReason::kIntegrity);
    return false;
  }
  if (sa.replay.Accept(c.seq) != ReplayWindow::Verdict::kOk) {
    ++sa.counters.replay_failures;  // a second copy in this frame
    DropOnSa(sa, p, DropReason::kReplayed);
    return false;
  }
  return true;
}

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_NODES_SA_RUNTIME_H_
