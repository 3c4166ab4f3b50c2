// Fuzz target for the IKEv2 codec: any datagram decodes or is refused
// without crashing; what decodes re-encodes, and the re-encoding decodes to
// the same message and encodes to the same octets (the codec's fixed point).
// The first byte also drives DecodePayloads, as for decrypted SK content.
// The answers to other ISAKMP versions are built from the same bytes: when
// made, they are well-formed (an IKEv2 answer decodes as IKEv2).
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/ike/codec/ikev2_message.h"
#include "services/ike/codec/other_versions.h"

using namespace vpnfleet::ike::v2;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto m = Decode(in);
  if (m.ok()) {
    (void)ValidateMessage(*m);
    auto once = Encode(*m);
    if (!once.ok()) __builtin_trap();
    auto again = Decode(*once);
    if (!again.ok() || !(*again == *m)) __builtin_trap();
    auto twice = Encode(*again);
    if (!twice.ok() || *twice != *once) __builtin_trap();
  }
  if (size > 0) {
    auto inner = DecodePayloads(data[0], in.substr(1));
    if (inner.ok()) {
      auto enc = EncodePayloads(*inner);
      if (enc.ok()) {
        auto back = DecodePayloads(inner->empty() ? 0 : inner->front().type, *enc);
        if (!back.ok() || !(*back == *inner)) __builtin_trap();
      }
    }
  }
  if (auto v1 = Ikev1Refusal(in, 7); v1 && (v1->size() != 40 || MajorVersion(*v1) != 1)) {
    __builtin_trap();
  }
  if (auto v2 = InvalidMajorVersion(in); v2 && !Decode(*v2).ok()) __builtin_trap();
  return 0;
}
