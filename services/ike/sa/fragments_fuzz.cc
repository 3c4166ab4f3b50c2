// Fuzz target for IKEv2 fragment reassembly: the input is a sequence of
// fragments (message ID, number, total, length, bytes, and whether time
// moves on) as a peer may send them once each is authenticated. Nothing
// crashes; what is held never exceeds the bounds; a message completes only
// with all its fragments, as exactly their contents in order.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "services/ike/sa/fragments.h"

using vpnfleet::ike::FragmentReassembly;
using vpnfleet::ike::SkCipher;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FragmentReassembly r;
  // What the reassembly should hold: the fragments of the message it is on.
  bool on_one = false;
  std::pair<uint32_t, uint16_t> current{0, 0};
  std::map<uint16_t, std::string> held;
  absl::Time now = absl::FromUnixSeconds(1);
  size_t at = 0;
  while (at + 6 <= size) {
    SkCipher::Opened f;
    f.header.message_id = data[at] % 4;
    f.fragment_number = data[at + 1] % 70;
    f.total_fragments = data[at + 2] % 70;
    f.first_inner = data[at + 3];
    const size_t len = (size_t{data[at + 4]} << 4) | (data[at + 5] & 0x0f);
    const bool later = (data[at + 5] & 0x80) != 0;
    at += 6;
    const size_t n = len < size - at ? len : size - at;
    f.inner.assign(reinterpret_cast<const char*>(data + at), n);
    at += n;
    if (later) {
      now += absl::Seconds(20);
      r.Expire(now);
      if (r.empty()) {
        held.clear();
        on_one = false;
      }
    }
    const std::string copy = f.inner;
    const auto key = std::make_pair(f.header.message_id, f.total_fragments);
    const uint16_t number = f.fragment_number;
    SkCipher::Opened whole;
    const auto outcome = r.Add(std::move(f), now, &whole);
    if (r.bytes() > FragmentReassembly::kMaxBytes) __builtin_trap();
    if (outcome == FragmentReassembly::Outcome::kDropped) continue;
    if (!on_one || current != key) {
      held.clear();
      current = key;
      on_one = true;
    }
    held.emplace(number, copy);
    if (outcome == FragmentReassembly::Outcome::kComplete) {
      if (held.size() != key.second || !r.empty()) __builtin_trap();
      std::string expected;
      for (const auto& [k, part] : held) expected += part;
      if (whole.inner != expected) __builtin_trap();
      held.clear();
      on_one = false;
    } else if (held.size() >= key.second) {
      __builtin_trap();  // all in, yet not complete
    }
  }
  return 0;
}
