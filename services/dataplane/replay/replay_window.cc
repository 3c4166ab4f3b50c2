#include "services/dataplane/replay/replay_window.h"

#include "absl/strings/str_cat.h"

namespace vpnfleet::dataplane {

absl::StatusOr<ReplayWindow> ReplayWindow::Create(uint32_t size, bool enabled, bool esn) {
  if (size == 0) size = kDefaultSize;
  if (size < kMinSize || size > kMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("replay window size ", size, " is outside ", kMinSize, "..", kMaxSize));
  }
  return ReplayWindow(size, enabled, esn);
}

// RFC 4303 Appendix A2.2. T = top_ (Th:Tl), W = window size, Bl = Tl - W + 1.
//   Case A, Tl >= W - 1 (window inside one subspace):
//     Seql >= Bl -> Seqh = Th;      Seql < Bl -> Seqh = Th + 1
//   Case B, Tl < W - 1 (window spans two subspaces; Bl taken mod 2^32):
//     Seql >= Bl -> Seqh = Th - 1;  Seql < Bl -> Seqh = Th
ReplayWindow::Verdict ReplayWindow::InferSeq(uint32_t seq_low, uint64_t* seq) const noexcept {
  if (!esn_) {
    *seq = seq_low;
    return Verdict::kOk;
  }
  const uint32_t th = static_cast<uint32_t>(top_ >> 32);
  const uint32_t tl = static_cast<uint32_t>(top_);
  const uint32_t bl = tl - size_ + 1;  // wraps in case B, as the RFC intends
  uint32_t seqh;
  if (tl >= size_ - 1) {
    if (seq_low >= bl) {
      seqh = th;
    } else {
      if (th == UINT32_MAX) return Verdict::kBadSequence;  // 64-bit space exhausted
      seqh = th + 1;
    }
  } else {
    if (seq_low >= bl) {
      if (th == 0) return Verdict::kTooOld;  // "subspace -1": before the first packet
      seqh = th - 1;
    } else {
      seqh = th;
    }
  }
  *seq = (static_cast<uint64_t>(seqh) << 32) | seq_low;
  return Verdict::kOk;
}

bool ReplayWindow::Seen(uint64_t seq) const noexcept {
  const uint64_t block = (seq / kBlockBits) & (kBlocks - 1);
  return (ring_[block] >> (seq % kBlockBits)) & 1u;
}

void ReplayWindow::Advance(uint64_t seq) noexcept {
  // Clear the blocks the window moves into; a jump of more than the ring
  // clears it all.
  const uint64_t old_block = top_ / kBlockBits;
  const uint64_t new_block = seq / kBlockBits;
  uint64_t clear = new_block - old_block;
  if (clear > kBlocks) clear = kBlocks;
  for (uint64_t i = 1; i <= clear; ++i) ring_[(old_block + i) & (kBlocks - 1)] = 0;
  top_ = seq;
}

ReplayWindow::Check ReplayWindow::Precheck(uint32_t seq_low) const noexcept {
  uint64_t seq = 0;
  if (Verdict v = InferSeq(seq_low, &seq); v != Verdict::kOk) return {v, 0};
  if (seq == 0) return {Verdict::kBadSequence, 0};
  if (!enabled_ || seq > top_) return {Verdict::kOk, seq};
  if (top_ - seq >= size_) return {Verdict::kTooOld, seq};
  if (Seen(seq)) return {Verdict::kReplayed, seq};
  return {Verdict::kOk, seq};
}

ReplayWindow::Verdict ReplayWindow::Accept(uint64_t seq) noexcept {
  if (seq == 0) return Verdict::kBadSequence;
  if (!esn_ && seq > UINT32_MAX) return Verdict::kBadSequence;
  if (seq > top_) {
    Advance(seq);
  } else if (enabled_) {
    if (top_ - seq >= size_) return Verdict::kTooOld;
    if (Seen(seq)) return Verdict::kReplayed;
  }
  ring_[(seq / kBlockBits) & (kBlocks - 1)] |= uint64_t{1} << (seq % kBlockBits);
  return Verdict::kOk;
}

const char* VerdictName(ReplayWindow::Verdict v) {
  switch (v) {
    case ReplayWindow::Verdict::kOk: return "ok";
    case ReplayWindow::Verdict::kReplayed: return "replayed";
    case ReplayWindow::Verdict::kTooOld: return "too_old";
    case ReplayWindow::Verdict::kBadSequence: return "bad_sequence";
  }
  return "unknown";
}

}  // namespace vpnfleet::dataplane
