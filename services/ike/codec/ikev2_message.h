// IKEv2 messages and payloads (RFC 7296 §3) as plain structs, with a strict
// decoder and the encoder that inverts it. No crypto, no I/O, no SA state:
// the Encrypted payload (SK) stays opaque here and its decrypted content is
// decoded with DecodePayloads. Decoding checks structure only (lengths,
// counts, what must be last); whether values make sense (nonce sizes, SPI
// sizes, proposal numbering, selector ranges) is ValidateMessage's job.
//
// Encode(Decode(x)) == x for every x whose reserved fields are zero (RFC
// 7296 says to send them as zero and ignore them on receipt; the decoder
// ignores them).
#ifndef VPNFLEET_SERVICES_IKE_CODEC_IKEV2_MESSAGE_H_
#define VPNFLEET_SERVICES_IKE_CODEC_IKEV2_MESSAGE_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vpnfleet::ike::v2 {

// RFC 7296 §3.1 Exchange Types.
enum class ExchangeType : uint8_t {
  kIkeSaInit = 34,
  kIkeAuth = 35,
  kCreateChildSa = 36,
  kInformational = 37,
};

// RFC 7296 §3.2 Payload Types (and RFC 7383 SKF).
enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendorId = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kSkf = 53,
};
const char* PayloadTypeName(uint8_t type);

// Header flags (§3.1).
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;
inline constexpr size_t kHeaderSize = 28;

//                      1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Initiator's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       IKE SA Responder's SPI                  |
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                          Message ID                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                            Length                             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Header {
  uint64_t initiator_spi = 0;
  uint64_t responder_spi = 0;
  uint8_t version = 0x20;  // major 2, minor 0
  uint8_t exchange_type = 0;
  uint8_t flags = 0;
  uint32_t message_id = 0;
};

// Transform attribute (§3.3.5): TV when `tv` (16-bit value), else TLV.
struct Attribute {
  uint16_t type = 0;
  bool tv = true;
  uint16_t value = 0;      // TV
  std::string tlv_value;   // TLV
  bool operator==(const Attribute&) const;
};
inline constexpr uint16_t kAttributeKeyLength = 14;

struct Transform {
  uint8_t type = 0;  // 1 ENCR, 2 PRF, 3 INTEG, 4 DH, 5 ESN
  uint16_t id = 0;
  std::vector<Attribute> attributes;
  bool operator==(const Transform&) const;
};

struct Proposal {
  uint8_t number = 1;
  uint8_t protocol = 1;  // 1 IKE, 2 AH, 3 ESP
  std::string spi;
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const;
};

struct KePayload {
  uint16_t group = 0;
  std::string data;
  bool operator==(const KePayload&) const;
};

// IDi and IDr (§3.5).
struct IdPayload {
  uint8_t id_type = 0;  // 1 IPv4, 2 FQDN, 3 RFC822, 5 IPv6, 9 DER_ASN1_DN, 11 KEY_ID
  std::string data;
  bool operator==(const IdPayload&) const;
};

// CERT and CERTREQ (§3.6, §3.7).
struct CertPayload {
  uint8_t encoding = 0;  // 4 X.509 signature
  std::string data;
  bool operator==(const CertPayload&) const;
};

struct AuthPayload {
  uint8_t method = 0;  // 1 RSA, 2 PSK, 3 DSS, 9-11 ECDSA, 14 digital signature (RFC 7427)
  std::string data;
  bool operator==(const AuthPayload&) const;
};

struct NoncePayload {
  std::string data;
  bool operator==(const NoncePayload&) const;
};

struct NotifyPayload {
  uint8_t protocol = 0;
  std::string spi;
  uint16_t type = 0;
  std::string data;
  bool operator==(const NotifyPayload&) const;
};

struct DeletePayload {
  uint8_t protocol = 0;
  uint8_t spi_size = 0;
  std::vector<std::string> spis;
  bool operator==(const DeletePayload&) const;
};

struct VendorIdPayload {
  std::string data;
  bool operator==(const VendorIdPayload&) const;
};

// One traffic selector (§3.13.1); addresses are 4 or 16 octets.
struct TrafficSelector {
  uint8_t ts_type = 7;  // 7 IPv4 range, 8 IPv6 range
  uint8_t ip_protocol = 0;
  uint16_t start_port = 0, end_port = 65535;
  std::string start_address, end_address;
  bool operator==(const TrafficSelector&) const;
};
inline constexpr uint8_t kTsIpv4AddrRange = 7;
inline constexpr uint8_t kTsIpv6AddrRange = 8;

// TSi and TSr.
struct TsPayload {
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const;
};

// SK (§3.14): IV | ciphertext | ICV, left opaque; `first_inner` is the type
// of the first payload inside.
struct SkPayload {
  uint8_t first_inner = 0;
  std::string data;
  bool operator==(const SkPayload&) const;
};

// SKF (RFC 7383 §2.5): a fragment of an SK payload.
struct SkfPayload {
  uint8_t first_inner = 0;  // only in fragment 1
  uint16_t fragment_number = 0, total_fragments = 0;
  std::string data;
  bool operator==(const SkfPayload&) const;
};

struct CpAttribute {
  uint16_t type = 0;
  std::string value;
  bool operator==(const CpAttribute&) const;
};

inline constexpr uint8_t kCfgRequest = 1;  // §3.15 CFG_REQUEST
struct CpPayload {
  uint8_t cfg_type = 0;  // 1 REQUEST, 2 REPLY, 3 SET, 4 ACK
  std::vector<CpAttribute> attributes;
  bool operator==(const CpPayload&) const;
};

struct EapPayload {
  std::string data;
  bool operator==(const EapPayload&) const;
};

// A payload type we do not know, without the critical bit: kept as is.
struct UnknownPayload {
  std::string body;
  bool operator==(const UnknownPayload&) const;
};

using PayloadBody =
    std::variant<SaPayload, KePayload, IdPayload, CertPayload, AuthPayload, NoncePayload,
                 NotifyPayload, DeletePayload, VendorIdPayload, TsPayload, SkPayload,
                 SkfPayload, CpPayload, EapPayload, UnknownPayload>;

struct Payload {
  uint8_t type = 0;       // PayloadType, or an unknown number
  bool critical = false;  // the C bit
  PayloadBody body;
  bool operator==(const Payload&) const;
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
};

// Why a message was refused, beyond the status text: RFC 7296 §3.10.1
// notifications the caller may send back.
enum class DecodeError { kNone, kInvalidSyntax, kUnsupportedCriticalPayload, kInvalidMajorVersion };

// The whole datagram (IKE header first; for UDP/4500 the non-ESP marker is
// already removed). The header's Length must equal the datagram's size.
absl::StatusOr<Message> Decode(absl::string_view datagram, DecodeError* why = nullptr);

// A payload chain starting with `first_type`, e.g. an SK payload's
// decrypted content (without padding and pad length).
absl::StatusOr<std::vector<Payload>> DecodePayloads(uint8_t first_type, absl::string_view bytes,
                                                    DecodeError* why = nullptr);

// Header and payloads; lengths and next-payload fields are computed. Fails
// only for values that do not fit their fields (e.g. a 70,000-octet nonce).
absl::StatusOr<std::string> Encode(const Message& message);
// A payload chain alone (what goes inside SK before encryption); the type
// of its first payload is payloads.front().type.
absl::StatusOr<std::string> EncodePayloads(const std::vector<Payload>& payloads);

// Semantic checks apart from parsing: nonce 16..256 octets, proposal
// numbers from 1 in order, SPI sizes per protocol, key exchange data
// present, selector ranges ordered and address lengths matching the type,
// at most one SA/KE/Nonce per message, header version 2.
absl::Status ValidateMessage(const Message& message);

}  // namespace vpnfleet::ike::v2

#endif  // VPNFLEET_SERVICES_IKE_CODEC_IKEV2_MESSAGE_H_
