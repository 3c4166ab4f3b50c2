// The IOS keywords of our policy's enums, in one place so that reading and
// writing a configuration cannot drift apart. Each table lists the keyword
// IOS prints first; extra spellings IOS accepts follow it.
#ifndef VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_VOCABULARY_H_
#define VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_VOCABULARY_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "vpnfleet/common/v1/types.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller::ios {

// `encryption ...` of `crypto isakmp policy`, as its words after the keyword
// ("aes 256", "3des").
std::optional<vpnfleet::common::v1::EncryptionAlgorithm> IsakmpEncryption(absl::string_view words);
std::string IsakmpEncryptionWords(vpnfleet::common::v1::EncryptionAlgorithm e);

// `hash md5|sha|sha256|sha384|sha512`.
std::optional<vpnfleet::common::v1::PrfAlgorithm> IsakmpHash(absl::string_view word);
std::string IsakmpHashWord(vpnfleet::common::v1::PrfAlgorithm p);

// `integrity ...` (IKEv2): the same words as `hash`.
std::optional<vpnfleet::common::v1::IntegrityAlgorithm> IsakmpIntegrity(absl::string_view word);
std::string IsakmpIntegrityWord(vpnfleet::common::v1::IntegrityAlgorithm i);

// `crypto ikev2 proposal`: one algorithm a word (`encryption aes-cbc-256
// aes-gcm-128`, `integrity sha256 sha1`, `prf sha384`).
std::optional<vpnfleet::common::v1::EncryptionAlgorithm> Ikev2Encryption(absl::string_view word);
std::string Ikev2EncryptionWord(vpnfleet::common::v1::EncryptionAlgorithm e);
std::optional<vpnfleet::common::v1::IntegrityAlgorithm> Ikev2Integrity(absl::string_view word);
std::string Ikev2IntegrityWord(vpnfleet::common::v1::IntegrityAlgorithm i);
std::optional<vpnfleet::common::v1::PrfAlgorithm> Ikev2Prf(absl::string_view word);
std::string Ikev2PrfWord(vpnfleet::common::v1::PrfAlgorithm p);
// The PRF of an integrity algorithm's hash: what an IKEv2 proposal without
// `prf` uses (HMAC-SHA256-128 → HMAC-SHA256).
vpnfleet::common::v1::PrfAlgorithm PrfOfIntegrity(vpnfleet::common::v1::IntegrityAlgorithm i);

// `authentication pre-share|rsa-sig|rsa-encr|ecdsa-sig`.
std::optional<vpnfleet::ike::v1::AuthMethod> IsakmpAuthentication(absl::string_view word);
std::string IsakmpAuthenticationWord(vpnfleet::ike::v1::AuthMethod a);

// `group N` / `set pfs groupN`: the IANA number.
std::optional<vpnfleet::common::v1::DhGroup> DhGroupNumber(absl::string_view number);

// One transform of `crypto ipsec transform-set NAME t1 [t2 [t3]]`. A cipher
// may take a key size as the next word (`esp-aes 256`).
struct Transform {
  enum class Kind { kAh, kEspCipher, kEspAuth, kCompression };
  Kind kind;
  vpnfleet::common::v1::EncryptionAlgorithm cipher = vpnfleet::common::v1::ENCRYPTION_UNSPECIFIED;
  vpnfleet::common::v1::IntegrityAlgorithm integrity = vpnfleet::common::v1::INTEGRITY_UNSPECIFIED;
};
// `word` is the transform, `key_bits` 0 or the size that followed it.
std::optional<Transform> TransformKeyword(absl::string_view word, int key_bits);
// True for the ciphers that take a size (esp-aes, esp-gcm).
bool TransformTakesKeySize(absl::string_view word);
// The words of a transform set ("esp-gcm 256", "esp-aes 256 esp-sha256-hmac").
std::string TransformSetWords(const vpnfleet::ike::v1::TransformSet& ts);

// Is this algorithm one IOS calls legacy (DES, 3DES, MD5, DH 1/2/5)?
bool IsLegacy(vpnfleet::common::v1::EncryptionAlgorithm e);
bool IsLegacy(vpnfleet::common::v1::PrfAlgorithm p);
bool IsLegacy(vpnfleet::common::v1::IntegrityAlgorithm i);
bool IsLegacy(vpnfleet::common::v1::DhGroup g);

// ACL protocol words (`ip`, `tcp`, `udp`, `icmp`, `esp`, `ahp`, `gre`, or a
// number) and well-known port names (`www`, `isakmp`, ...).
std::optional<uint32_t> AclProtocol(absl::string_view word);
std::string AclProtocolWord(uint32_t protocol);
std::optional<uint32_t> AclPort(absl::string_view word);

// An IPv4 prefix length as IOS writes it: netmask 255.255.255.0 or
// wildcard 0.0.0.255 for 24.
std::string Netmask(uint32_t length);
std::string Wildcard(uint32_t length);

}  // namespace vpnfleet::controller::ios

#endif  // VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_VOCABULARY_H_
