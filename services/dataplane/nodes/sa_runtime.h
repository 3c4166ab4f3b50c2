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

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_NODES_SA_RUNTIME_H_
