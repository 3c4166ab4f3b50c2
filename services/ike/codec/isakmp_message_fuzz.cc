// Fuzz target for the ISAKMP (IKEv1) codec: any datagram decodes or is
// refused without crashing; what decodes re-encodes, the re-encoding
// decodes to the same message and encodes to the same octets (reserved
// fields are the only thing the encoder does not copy: it writes zeros).
// The first byte also drives DecodePayloads with trailing padding allowed,
// as for a decrypted body, and each payload re-encodes on its own to
// octets of the length it had.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/ike/codec/isakmp_message.h"

using namespace vpnfleet::ike::isakmp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  auto m = Decode(in);
  if (m.ok()) {
    auto once = Encode(*m);
    if (!once.ok() || once->size() != in.size()) __builtin_trap();
    auto again = Decode(*once);
    if (!again.ok() || !(*again == *m)) __builtin_trap();
    auto twice = Encode(*again);
    if (!twice.ok() || *twice != *once) __builtin_trap();
  }
  if (size > 0) {
    auto inner = DecodePayloads(data[0], in.substr(1), true);
    if (inner.ok()) {
      for (size_t i = 0; i < inner->size(); ++i) {
        const uint8_t next = i + 1 < inner->size() ? (*inner)[i + 1].type : 0;
        auto one = EncodePayload((*inner)[i], next);
        if (!one.ok() || one->size() != (*inner)[i].raw.size()) __builtin_trap();
      }
    }
  }
  return 0;
}
