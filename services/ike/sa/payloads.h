// Small helpers the exchanges share for building and finding payloads.
// Internal to services/ike/sa.
#ifndef VPNFLEET_SERVICES_IKE_SA_PAYLOADS_H_
#define VPNFLEET_SERVICES_IKE_SA_PAYLOADS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes/big_endian.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/sa/notify.h"

namespace vpnfleet::ike::msg {

template <typename T>
v2::Payload Make(v2::PayloadType type, T body) {
  v2::Payload p;
  p.type = static_cast<uint8_t>(type);
  p.body = std::move(body);
  return p;
}

inline v2::Payload Notify(uint16_t type, std::string data = {}, uint8_t protocol = 0,
                          std::string spi = {}) {
  v2::NotifyPayload n;
  n.type = type;
  n.protocol = protocol;
  n.spi = std::move(spi);
  n.data = std::move(data);
  return Make(v2::PayloadType::kNotify, std::move(n));
}

// The first payload of `type` in a decrypted chain, or nullptr.
template <typename T>
const T* Find(const std::vector<v2::Payload>& payloads, v2::PayloadType type) {
  for (const v2::Payload& p : payloads) {
    if (p.type == static_cast<uint8_t>(type)) return std::get_if<T>(&p.body);
  }
  return nullptr;
}

inline const v2::NotifyPayload* FindNotify(const std::vector<v2::Payload>& payloads,
                                           uint16_t type) {
  for (const v2::Payload& p : payloads) {
    const auto* n = std::get_if<v2::NotifyPayload>(&p.body);
    if (n != nullptr && n->type == type) return n;
  }
  return nullptr;
}

// The first error notification (type < 16384), if any.
inline const v2::NotifyPayload* FirstError(const std::vector<v2::Payload>& payloads) {
  for (const v2::Payload& p : payloads) {
    const auto* n = std::get_if<v2::NotifyPayload>(&p.body);
    if (n != nullptr && notify::IsError(n->type)) return n;
  }
  return nullptr;
}

// ESP/AH SPIs travel as 4 octets, big-endian.
inline std::string Spi32(uint32_t spi) {
  std::string s(4, '\0');
  bytes::StoreBe32(s.data(), spi);
  return s;
}

inline uint32_t Spi32Of(const std::string& s) {
  if (s.size() != 4) return 0;
  return bytes::LoadBe32(s.data());
}

}  // namespace vpnfleet::ike::msg

#endif  // VPNFLEET_SERVICES_IKE_SA_PAYLOADS_H_
