// Inbound anti-replay window of one SA (RFC 4303 §3.4.3 and Appendix A).
//
// Two steps per packet, as the RFC requires: Precheck() before the ICV is
// verified (cheap rejection of replays, without touching state), Accept()
// after it verified (only authenticated packets move the window). Accept()
// checks again, because two copies of one packet in the same frame both pass
// Precheck() before either is accepted.
//
// The bitmap is a ring of 64-bit blocks indexed by sequence number (RFC 6479),
// so advancing the window clears whole blocks instead of shifting bits. It is
// a fixed array: no allocation per SA beyond the object, none per packet.
//
// With extended sequence numbers only the low 32 bits travel in the packet;
// Precheck() infers the high 32 bits as in RFC 4303 Appendix A2.2. A guess
// that is wrong makes the ICV fail (the high bits are authenticated), so an
// attacker cannot move the window with a forged number.
#ifndef VPNFLEET_SERVICES_DATAPLANE_REPLAY_REPLAY_WINDOW_H_
#define VPNFLEET_SERVICES_DATAPLANE_REPLAY_REPLAY_WINDOW_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"

namespace vpnfleet::dataplane {

class ReplayWindow {
 public:
  static constexpr uint32_t kMinSize = 32;
  static constexpr uint32_t kMaxSize = 4096;
  static constexpr uint32_t kDefaultSize = 64;

  enum class Verdict : uint8_t {
    kOk,
    kReplayed,     // seen before, inside the window
    kTooOld,       // left of the window
    kBadSequence,  // sequence number 0, or outside the 64-bit space
  };

  struct Check {
    Verdict verdict;
    uint64_t seq;  // the full sequence number (high bits inferred with ESN)
  };

  // size: 32..4096 (0 = 64). A disabled window accepts everything but still
  // tracks the highest number, which ESN inference needs.
  static absl::StatusOr<ReplayWindow> Create(uint32_t size, bool enabled, bool esn);

  Check Precheck(uint32_t seq_low) const noexcept;
  Verdict Accept(uint64_t seq) noexcept;

  uint64_t highest() const noexcept { return top_; }
  uint32_t size() const noexcept { return size_; }
  bool enabled() const noexcept { return enabled_; }
  bool esn() const noexcept { return esn_; }

 private:
  static constexpr uint32_t kBlockBits = 64;
  // 128 blocks = 8192 bits: the largest window plus one block, rounded up to
  // a power of two so that block indexes wrap with a mask.
  static constexpr uint32_t kBlocks = 128;

  ReplayWindow(uint32_t size, bool enabled, bool esn)
      : size_(size), enabled_(enabled), esn_(esn) {}

  Verdict InferSeq(uint32_t seq_low, uint64_t* seq) const noexcept;
  bool Seen(uint64_t seq) const noexcept;
  void Advance(uint64_t seq) noexcept;

  uint64_t top_ = 0;  // highest authenticated sequence number, 0 = none yet
  uint32_t size_;
  bool enabled_;
  bool esn_;
  std::array<uint64_t, kBlocks> ring_{};
};

const char* VerdictName(ReplayWindow::Verdict v);

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_REPLAY_REPLAY_WINDOW_H_
