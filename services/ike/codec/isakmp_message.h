// ISAKMP messages as IKEv1 uses them (RFC 2408 §3, the IPsec DOI of
// RFC 2407 §4.6, RFC 2409, NAT-T payloads of RFC 3947): the header, every
// payload IKEv1 exchanges carry, and their encoding. Bytes in, structures
// out; no crypto here. An encrypted message (flag E) is decoded in two
// steps: DecodeHeader finds the ciphertext, the caller decrypts it
// (crypto/ikev1_cipher.h) and DecodePayloads reads the chain, whose
// trailing cipher padding it ignores (IKEv1 has no pad-length octet).
//
// Every decoded payload keeps its octets as received (`raw`, generic
// header included): IKEv1's hashes cover the peer's own encoding (SAi_b,
// IDii_b, and Quick Mode's "everything after HASH"), never ours.
#ifndef VPNFLEET_SERVICES_IKE_CODEC_ISAKMP_MESSAGE_H_
#define VPNFLEET_SERVICES_IKE_CODEC_ISAKMP_MESSAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vpnfleet::ike::isakmp {

// RFC 2408 §3.1 exchange types, and RFC 2409 §9's Quick Mode.
enum class Exchange : uint8_t {
  kIdentityProtection = 2,  // Main Mode
  kAggressive = 4,
  kInformational = 5,
  kQuickMode = 32,
};
const char* ExchangeName(uint8_t exchange);

// RFC 2408 §3.1 payload types; NAT-D / NAT-OA from RFC 3947 (and the
// numbers of the drafts before it, which strongSwan and IOS still send to
// peers that announced only a draft).
enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 1,
  kProposal = 2,
  kTransform = 3,
  kKe = 4,
  kId = 5,
  kCert = 6,
  kCertReq = 7,
  kHash = 8,
  kSig = 9,
  kNonce = 10,
  kNotification = 11,
  kDelete = 12,
  kVendorId = 13,
  kNatD = 20,
  kNatOa = 21,
  kNatDDraft = 130,
  kNatOaDraft = 131,
};
const char* PayloadTypeName(uint8_t type);

// Header flags (§3.1).
inline constexpr uint8_t kFlagEncrypted = 0x01;
inline constexpr uint8_t kFlagCommit = 0x02;
inline constexpr uint8_t kFlagAuthOnly = 0x04;
inline constexpr uint8_t kVersion1 = 0x10;
inline constexpr size_t kHeaderSize = 28;
inline constexpr uint32_t kDoiIpsec = 1;
inline constexpr uint32_t kSituationIdentityOnly = 1;  // RFC 2407 §4.2

// Protocol IDs (RFC 2407 §4.4.1).
inline constexpr uint8_t kProtoIsakmp = 1;
inline constexpr uint8_t kProtoAh = 2;
inline constexpr uint8_t kProtoEsp = 3;
inline constexpr uint8_t kProtoIpcomp = 4;

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Initiator                            !
// !                            Cookie                             !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Responder                            !
// !                            Cookie                             !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                          Message ID                           !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// !                            Length                             !
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Header {
  uint64_t initiator_cookie = 0;
  uint64_t responder_cookie = 0;
  uint8_t next_payload = 0;  // the first payload (inside the ciphertext when encrypted)
  uint8_t version = kVersion1;
  uint8_t exchange = 0;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // filled by Encode; checked by Decode
  bool operator==(const Header&) const;
};

// A data attribute (§3.3): TV (AF bit set, a 16-bit value) or TLV. Phase-1
// lifetimes come either way (IOS sends a 4-octet TLV for 86400 seconds).
struct Attribute {
  uint16_t type = 0;
  bool tv = true;
  uint16_t value = 0;     // TV
  std::string tlv_value;  // TLV
  bool operator==(const Attribute&) const;
  // The value as a number, TV or a TLV of up to 8 octets; nullopt when
  // longer. (RFC 2407 §4.5: a variable-length basic value.)
  std::optional<uint64_t> Number() const;
  static Attribute Basic(uint16_t type, uint16_t value);
  // As TV when it fits 16 bits, else as the shortest TLV (4 or 8 octets).
  static Attribute Variable(uint16_t type, uint64_t value);
};

struct Transform {
  uint8_t number = 1;
  uint8_t id = 0;  // KEY_IKE (1) in phase 1; ESP_AES, AH_SHA... in phase 2
  std::vector<Attribute> attributes;
  bool operator==(const Transform&) const;
  const Attribute* Find(uint16_t type) const;
};

// Proposals with the same number are one offer of several protocols
// together (e.g. AH and ESP); different numbers are alternatives.
struct Proposal {
  uint8_t number = 1;
  uint8_t protocol = kProtoIsakmp;
  std::string spi;  // empty in phase 1, 4 octets for ESP/AH
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const;
};

struct SaPayload {
  uint32_t doi = kDoiIpsec;
  uint32_t situation = kSituationIdentityOnly;
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const;
};

// Payloads that are one opaque data field: KE, HASH, SIG, NONCE, VID, NAT-D.
struct DataPayload {
  std::string data;
  bool operator==(const DataPayload&) const;
};

// IPsec DOI identification (RFC 2407 §4.6.2); the ID types of §4.6.2.1.
inline constexpr uint8_t kIdIpv4 = 1;
inline constexpr uint8_t kIdFqdn = 2;
inline constexpr uint8_t kIdUserFqdn = 3;
inline constexpr uint8_t kIdIpv4Subnet = 4;
inline constexpr uint8_t kIdIpv6 = 5;
inline constexpr uint8_t kIdIpv6Subnet = 6;
inline constexpr uint8_t kIdIpv4Range = 7;
inline constexpr uint8_t kIdIpv6Range = 8;
inline constexpr uint8_t kIdDerAsn1Dn = 9;
inline constexpr uint8_t kIdKeyId = 11;
struct IdPayload {
  uint8_t id_type = kIdIpv4;
  uint8_t protocol = 0;  // IP protocol, 0: any
  uint16_t port = 0;
  std::string data;
  bool operator==(const IdPayload&) const;
};

// CERT and CR (§3.9, §3.10): an encoding (4: X.509 signature) and data
// (a DER certificate; for CR an optional CA name).
struct CertPayload {
  uint8_t encoding = 4;
  std::string data;
  bool operator==(const CertPayload&) const;
};

// §3.14 Notification; types below 16384 are errors, INITIAL-CONTACT is
// 24578 (RFC 2407 §4.6.3), R-U-THERE 36136 (RFC 3706).
struct NotificationPayload {
  uint32_t doi = kDoiIpsec;
  uint8_t protocol = kProtoIsakmp;
  uint16_t type = 0;
  std::string spi;  // 16 octets (the cookies) for ISAKMP, 4 for ESP/AH
  std::string data;
  bool operator==(const NotificationPayload&) const;
};

// §3.15 Delete: one or more SPIs of one protocol and size.
struct DeletePayload {
  uint32_t doi = kDoiIpsec;
  uint8_t protocol = kProtoIsakmp;
  uint8_t spi_size = 16;
  std::vector<std::string> spis;
  bool operator==(const DeletePayload&) const;
};

// RFC 3947 §5.2 NAT-OA: the original address as the sender saw it.
struct NatOaPayload {
  uint8_t id_type = kIdIpv4;
  std::string address;  // 4 or 16 octets
  bool operator==(const NatOaPayload&) const;
};

// A payload type we do not know (IKEv1 has no critical bit; the caller
// decides whether to refuse the message).
struct UnknownPayload {
  std::string body;
  bool operator==(const UnknownPayload&) const;
};

using PayloadBody = std::variant<SaPayload, DataPayload, IdPayload, CertPayload,
                                 NotificationPayload, DeletePayload, NatOaPayload, UnknownPayload>;

struct Payload {
  uint8_t type = 0;
  PayloadBody body;
  // As received (generic header included); empty in payloads we build.
  std::string raw;
  bool operator==(const Payload&) const;  // compares type and body, not raw
  // The body as received, without the 4-octet generic header (SAi_b, IDii_b).
  absl::string_view raw_body() const;
};

struct Message {
  Header header;
  std::vector<Payload> payloads;
  bool operator==(const Message&) const;

  // The first payload of `type`, or nullptr.
  template <typename T>
  const T* Find(PayloadType type) const {
    for (const Payload& p : payloads) {
      if (p.type == static_cast<uint8_t>(type)) return std::get_if<T>(&p.body);
    }
    return nullptr;
  }
  const Payload* FindPayload(PayloadType type) const;
};

// Convenience constructors for the payloads IKEv1 sends.
Payload MakeData(PayloadType type, std::string data);
Payload MakeSa(SaPayload sa);
Payload MakeId(IdPayload id);
Payload MakeNotification(NotificationPayload n);
Payload MakeDelete(DeletePayload d);

// The header of a datagram (for UDP/4500 the non-ESP marker already
// removed) and the octets after it; the header's Length must equal the
// datagram's size and the major version must be 1.
struct Framed {
  Header header;
  absl::string_view body;  // the payload chain, or the ciphertext when E is set
};
absl::StatusOr<Framed> DecodeHeader(absl::string_view datagram);

// The payload chain starting with `first_type`. With `allow_trailing`
// (a decrypted body) octets after the last payload are padding and are
// ignored; otherwise they are an error.
absl::StatusOr<std::vector<Payload>> DecodePayloads(uint8_t first_type, absl::string_view bytes,
                                                    bool allow_trailing);

// An unencrypted message whole.
absl::StatusOr<Message> Decode(absl::string_view datagram);

// A payload chain alone (what gets encrypted), its first payload's type
// being payloads.front().type. Fails only for values that do not fit
// their fields.
absl::StatusOr<std::string> EncodePayloads(const std::vector<Payload>& payloads);
// One payload's octets with its generic header as they appear in a chain
// (next payload `next`): what Quick Mode's HASH covers of our own payloads.
absl::StatusOr<std::string> EncodePayload(const Payload& payload, uint8_t next);
// Header plus `body` (a chain, or ciphertext); Length and Next Payload
// (`first_type`) are set here, whatever `header` holds in them.
std::string EncodeFramed(Header header, uint8_t first_type, absl::string_view body);
// An unencrypted message whole.
absl::StatusOr<std::string> Encode(const Message& message);

// A run of data attributes alone, as a RESPONDER-LIFETIME notification's
// data carries them (RFC 2407 §4.6.3.1).
absl::StatusOr<std::vector<Attribute>> DecodeAttributes(absl::string_view bytes);
absl::StatusOr<std::string> EncodeAttributes(const std::vector<Attribute>& attributes);

}  // namespace vpnfleet::ike::isakmp

#endif  // VPNFLEET_SERVICES_IKE_CODEC_ISAKMP_MESSAGE_H_
