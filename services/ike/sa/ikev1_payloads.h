// Small readers the IKEv1 exchange files share: the first (or every)
// payload of a type in a decoded chain, a data payload's octets, the body
// of a payload we send as the peer hashes it, and SPIs
// and sequence numbers as the four network-order octets ISAKMP carries.
#ifndef VPNFLEET_SERVICES_IKE_SA_IKEV1_PAYLOADS_H_
#define VPNFLEET_SERVICES_IKE_SA_IKEV1_PAYLOADS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/ike/codec/isakmp_message.h"

namespace vpnfleet::ike::ikev1 {

inline const isakmp::Payload* First(const std::vector<isakmp::Payload>& p,
                                    isakmp::PayloadType type) {
  for (const isakmp::Payload& x : p) {
    if (x.type == static_cast<uint8_t>(type)) return &x;
  }
  return nullptr;
}

inline std::vector<const isakmp::Payload*> All(const std::vector<isakmp::Payload>& p,
                                               isakmp::PayloadType type) {
  std::vector<const isakmp::Payload*> out;
  for (const isakmp::Payload& x : p) {
    if (x.type == static_cast<uint8_t>(type)) out.push_back(&x);
  }
  return out;
}

// A KE, HASH, NONCE... payload's data, or nullptr.
inline const std::string* DataOf(const std::vector<isakmp::Payload>& p,
                                 isakmp::PayloadType type) {
  const isakmp::Payload* x = First(p, type);
  if (x == nullptr) return nullptr;
  const auto* d = std::get_if<isakmp::DataPayload>(&x->body);
  return d == nullptr ? nullptr : &d->data;
}

// The body octets of a payload we send, as the peer will hash them
// (SAi_b, IDii_b): its encoding without the generic header.
inline std::string BodyOf(const isakmp::Payload& p) {
  auto encoded = isakmp::EncodePayload(p, 0);
  return encoded.ok() ? encoded->substr(4) : std::string();
}

inline std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

// Up to four octets as a number (an SPI or a DPD sequence number).
inline uint32_t Load32(absl::string_view s) {
  uint32_t v = 0;
  for (char c : s) v = v << 8 | static_cast<uint8_t>(c);
  return v;
}

}  // namespace vpnfleet::ike::ikev1

#endif  // VPNFLEET_SERVICES_IKE_SA_IKEV1_PAYLOADS_H_
