#include "services/ike/sa/fragments.h"

#include <utility>

#include "common/crypto/zeroize.h"

namespace vpnfleet::ike {

absl::StatusOr<std::vector<std::string>> SealFragments(const SkCipher& cipher,
                                                       const v2::Header& header,
                                                       uint8_t first_inner,
                                                       absl::string_view inner,
                                                       size_t max_message, Rng& rng) {
  if (max_message <= cipher.Overhead(true) + 16) {
    return absl::InvalidArgumentError("fragment_size too small for an SKF fragment");
  }
  const size_t piece = max_message - cipher.Overhead(true);
  const size_t total = (inner.size() + piece - 1) / piece;
  if (total > FragmentReassembly::kMaxFragments) {
    return absl::InvalidArgumentError("message too large to fragment");
  }
  std::vector<std::string> out;
  for (size_t i = 0; i < total; ++i) {
    auto frag = cipher.Seal(header, first_inner, inner.substr(i * piece, piece),
                            rng.Bytes(cipher.iv_size()), static_cast<uint16_t>(i + 1),
                            static_cast<uint16_t>(total));
    if (!frag.ok()) return frag.status();
    out.push_back(*std::move(frag));
  }
  return out;
}

void FragmentReassembly::Clear() {
  for (auto& [number, part] : parts_) crypto::ZeroizeString(&part);
  parts_.clear();
  bytes_ = 0;
  total_ = 0;
  first_inner_ = 0;
}

FragmentReassembly::Outcome FragmentReassembly::Add(SkCipher::Opened f, absl::Time now,
                                                    SkCipher::Opened* whole) {
  if (f.total_fragments == 0 || f.total_fragments > kMaxFragments || f.fragment_number == 0 ||
      f.fragment_number > f.total_fragments) {
    return Outcome::kDropped;
  }
  const uint32_t mid = f.header.message_id;
  if (parts_.empty() || message_id_ != mid || total_ != f.total_fragments) {
    Clear();
    message_id_ = mid;
    total_ = f.total_fragments;
    started_ = now;
  }
  if (parts_.count(f.fragment_number) != 0 || bytes_ + f.inner.size() > kMaxBytes) {
    crypto::ZeroizeString(&f.inner);
    return Outcome::kDropped;
  }
  if (f.fragment_number == 1) first_inner_ = f.first_inner;
  bytes_ += f.inner.size();
  parts_.emplace(f.fragment_number, std::move(f.inner));
  if (parts_.size() < total_) return Outcome::kKept;
  *whole = SkCipher::Opened{};
  whole->header = f.header;
  whole->first_inner = first_inner_;
  whole->inner.reserve(bytes_);
  for (const auto& [number, part] : parts_) whole->inner += part;
  Clear();
  return Outcome::kComplete;
}

void FragmentReassembly::Expire(absl::Time now) {
  if (!parts_.empty() && now - started_ >= kTimeout) Clear();
}

}  // namespace vpnfleet::ike
