#include "services/ike/codec/other_versions.h"

namespace vpnfleet::ike::v2 {
namespace {

constexpr size_t kHeaderSize = 28;
constexpr uint8_t kNotificationV1 = 11;   // RFC 2408 §3.1 payload type
constexpr uint8_t kInformationalV1 = 5;   // RFC 2408 §3.1 exchange type
constexpr uint16_t kNoProposalChosenV1 = 14;
constexpr uint8_t kNotifyV2 = 41;
constexpr uint16_t kInvalidMajorVersionV2 = 5;
constexpr uint8_t kFlagResponseV2 = 0x20;

void Put16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v & 0xff);
}
void Put32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
}

bool AllZero(absl::string_view s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

}  // namespace

std::optional<uint8_t> MajorVersion(absl::string_view datagram) {
  if (datagram.size() < kHeaderSize) return std::nullopt;
  return static_cast<uint8_t>(static_cast<uint8_t>(datagram[17]) >> 4);
}

std::optional<std::string> Ikev1Refusal(absl::string_view request, uint32_t message_id) {
  if (MajorVersion(request) != 1) return std::nullopt;
  // Only the first message of a phase 1 exchange: the responder cookie is
  // still zero and the initiator's is not.
  if (AllZero(request.substr(0, 8)) || !AllZero(request.substr(8, 8))) return std::nullopt;
  constexpr size_t kPayload = 12;
  std::string out(kHeaderSize + kPayload, '\0');
  out.replace(0, 8, request.data() + 0, 8);  // the initiator's cookie; ours stays zero
  out[16] = static_cast<char>(kNotificationV1);
  out[17] = 0x10;  // version 1.0
  out[18] = static_cast<char>(kInformationalV1);
  out[19] = 0;  // not encrypted: there are no keys
  Put32(out, 20, message_id);
  Put32(out, 24, static_cast<uint32_t>(out.size()));
  const size_t p = kHeaderSize;
  Put16(out, p + 2, kPayload);
  Put32(out, p + 4, 1);  // DOI: IPsec
  out[p + 8] = 1;        // protocol: ISAKMP
  out[p + 9] = 0;        // no SPI
  Put16(out, p + 10, kNoProposalChosenV1);
  return out;
}

std::optional<std::string> InvalidMajorVersion(absl::string_view request) {
  const auto major = MajorVersion(request);
  if (!major || *major <= 2) return std::nullopt;
  if (static_cast<uint8_t>(request[19]) & kFlagResponseV2) return std::nullopt;
  constexpr size_t kPayload = 8;
  std::string out(kHeaderSize + kPayload, '\0');
  out.replace(0, 16, request.data() + 0, 16);
  out[16] = static_cast<char>(kNotifyV2);
  out[17] = 0x20;  // the highest version we speak
  out[18] = request[18];
  out[19] = static_cast<char>(kFlagResponseV2);
  out.replace(20, 4, request.data() + 20, 4);  // the request's message ID
  Put32(out, 24, static_cast<uint32_t>(out.size()));
  const size_t p = kHeaderSize;
  Put16(out, p + 2, kPayload);
  out[p + 4] = 0;  // protocol: none (§3.10 for IKE SA notifies)
  out[p + 5] = 0;  // SPI size
  Put16(out, p + 6, kInvalidMajorVersionV2);
  return out;
}

}  // namespace vpnfleet::ike::v2
