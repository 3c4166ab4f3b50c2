#include "services/controller/ios/ios_vocabulary.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::controller::ios {
namespace {

using vpnfleet::common::v1::DhGroup;
using vpnfleet::common::v1::EncryptionAlgorithm;
using vpnfleet::common::v1::IntegrityAlgorithm;
using vpnfleet::common::v1::PrfAlgorithm;
namespace c = vpnfleet::common::v1;

template <typename E>
struct Word {
  const char* text;
  E value;
};

template <typename E, size_t N>
std::optional<E> Find(const Word<E> (&table)[N], absl::string_view text) {
  for (const auto& w : table) {
    if (text == w.text) return w.value;
  }
  return std::nullopt;
}

template <typename E, size_t N>
std::string Name(const Word<E> (&table)[N], E value) {
  for (const auto& w : table) {
    if (w.value == value) return w.text;
  }
  return "";
}

// The first spelling of a value is the one we write.
constexpr Word<EncryptionAlgorithm> kIsakmpEncryption[] = {
    {"aes 256", c::ENCRYPTION_AES_CBC_256},
    {"aes 192", c::ENCRYPTION_AES_CBC_192},
    {"aes 128", c::ENCRYPTION_AES_CBC_128},
    {"aes", c::ENCRYPTION_AES_CBC_128},
    {"aes-gcm 256", c::ENCRYPTION_AES_GCM_256},
    {"aes-gcm 128", c::ENCRYPTION_AES_GCM_128},
    {"aes-gcm", c::ENCRYPTION_AES_GCM_128},
    {"chacha20-poly1305", c::ENCRYPTION_CHACHA20_POLY1305},
    {"3des", c::ENCRYPTION_3DES},
    {"des", c::ENCRYPTION_DES},
};

constexpr Word<PrfAlgorithm> kHash[] = {
    {"sha", c::PRF_HMAC_SHA1},          {"sha256", c::PRF_HMAC_SHA2_256},
    {"sha384", c::PRF_HMAC_SHA2_384},   {"sha512", c::PRF_HMAC_SHA2_512},
    {"md5", c::PRF_HMAC_MD5},
};

constexpr Word<IntegrityAlgorithm> kIntegrity[] = {
    {"sha", c::INTEGRITY_HMAC_SHA1_96},          {"sha256", c::INTEGRITY_HMAC_SHA2_256_128},
    {"sha384", c::INTEGRITY_HMAC_SHA2_384_192},  {"sha512", c::INTEGRITY_HMAC_SHA2_512_256},
    {"md5", c::INTEGRITY_HMAC_MD5_96},
};

// IOS 15's IKEv2 words. chacha20-poly1305 is ours (IOS has no such
// proposal word); the writer needs a spelling the reader takes back.
constexpr Word<EncryptionAlgorithm> kIkev2Encryption[] = {
    {"aes-cbc-256", c::ENCRYPTION_AES_CBC_256}, {"aes-cbc-192", c::ENCRYPTION_AES_CBC_192},
    {"aes-cbc-128", c::ENCRYPTION_AES_CBC_128}, {"aes-gcm-256", c::ENCRYPTION_AES_GCM_256},
    {"aes-gcm-128", c::ENCRYPTION_AES_GCM_128}, {"chacha20-poly1305", c::ENCRYPTION_CHACHA20_POLY1305},
    {"3des", c::ENCRYPTION_3DES},               {"des", c::ENCRYPTION_DES},
};

constexpr Word<IntegrityAlgorithm> kIkev2Integrity[] = {
    {"sha1", c::INTEGRITY_HMAC_SHA1_96},          {"sha256", c::INTEGRITY_HMAC_SHA2_256_128},
    {"sha384", c::INTEGRITY_HMAC_SHA2_384_192},   {"sha512", c::INTEGRITY_HMAC_SHA2_512_256},
    {"md5", c::INTEGRITY_HMAC_MD5_96},
};

constexpr Word<PrfAlgorithm> kIkev2Prf[] = {
    {"sha1", c::PRF_HMAC_SHA1},          {"sha256", c::PRF_HMAC_SHA2_256},
    {"sha384", c::PRF_HMAC_SHA2_384},    {"sha512", c::PRF_HMAC_SHA2_512},
    {"md5", c::PRF_HMAC_MD5},
};

constexpr Word<ike::v1::AuthMethod> kAuthentication[] = {
    {"rsa-sig", ike::v1::AUTH_METHOD_RSA_SIG},
    {"pre-share", ike::v1::AUTH_METHOD_PRE_SHARE},
    {"rsa-encr", ike::v1::AUTH_METHOD_RSA_ENCR},
    {"ecdsa-sig", ike::v1::AUTH_METHOD_ECDSA_SIG},
};

constexpr Word<IntegrityAlgorithm> kAh[] = {
    {"ah-sha-hmac", c::INTEGRITY_HMAC_SHA1_96},
    {"ah-sha256-hmac", c::INTEGRITY_HMAC_SHA2_256_128},
    {"ah-sha384-hmac", c::INTEGRITY_HMAC_SHA2_384_192},
    {"ah-sha512-hmac", c::INTEGRITY_HMAC_SHA2_512_256},
    {"ah-md5-hmac", c::INTEGRITY_HMAC_MD5_96},
};

constexpr Word<IntegrityAlgorithm> kEspAuth[] = {
    {"esp-sha-hmac", c::INTEGRITY_HMAC_SHA1_96},
    {"esp-sha256-hmac", c::INTEGRITY_HMAC_SHA2_256_128},
    {"esp-sha384-hmac", c::INTEGRITY_HMAC_SHA2_384_192},
    {"esp-sha512-hmac", c::INTEGRITY_HMAC_SHA2_512_256},
    {"esp-md5-hmac", c::INTEGRITY_HMAC_MD5_96},
};

constexpr Word<EncryptionAlgorithm> kEspCipher[] = {
    {"esp-aes 256", c::ENCRYPTION_AES_CBC_256},
    {"esp-aes 192", c::ENCRYPTION_AES_CBC_192},
    {"esp-aes", c::ENCRYPTION_AES_CBC_128},
    {"esp-aes 128", c::ENCRYPTION_AES_CBC_128},
    {"esp-gcm 256", c::ENCRYPTION_AES_GCM_256},
    {"esp-gcm", c::ENCRYPTION_AES_GCM_128},
    {"esp-gcm 128", c::ENCRYPTION_AES_GCM_128},
    {"esp-chacha20-poly1305", c::ENCRYPTION_CHACHA20_POLY1305},
    {"esp-null", c::ENCRYPTION_NULL},
    {"esp-3des", c::ENCRYPTION_3DES},
    {"esp-des", c::ENCRYPTION_DES},
};

constexpr Word<uint32_t> kProtocols[] = {
    {"ip", 0},    {"icmp", 1}, {"tcp", 6},  {"udp", 17},
    {"gre", 47},  {"esp", 50}, {"ahp", 51}, {"ospf", 89},
};

constexpr Word<uint32_t> kPorts[] = {
    {"ftp-data", 20}, {"ftp", 21},     {"telnet", 23},  {"smtp", 25},  {"domain", 53},
    {"www", 80},      {"pop3", 110},   {"ntp", 123},    {"snmp", 161}, {"bgp", 179},
    {"isakmp", 500},  {"syslog", 514}, {"non500-isakmp", 4500},
};

std::string Dotted(uint32_t v) {
  return absl::StrCat(v >> 24, ".", (v >> 16) & 0xff, ".", (v >> 8) & 0xff, ".", v & 0xff);
}
uint32_t MaskOf(uint32_t length) {
  return length == 0 ? 0 : 0xffffffffu << (32 - std::min<uint32_t>(length, 32));
}

}  // namespace

std::string Netmask(uint32_t length) { return Dotted(MaskOf(length)); }
std::string Wildcard(uint32_t length) { return Dotted(~MaskOf(length)); }

std::optional<EncryptionAlgorithm> IsakmpEncryption(absl::string_view words) {
  return Find(kIsakmpEncryption, words);
}
std::string IsakmpEncryptionWords(EncryptionAlgorithm e) { return Name(kIsakmpEncryption, e); }

std::optional<PrfAlgorithm> IsakmpHash(absl::string_view word) { return Find(kHash, word); }
std::string IsakmpHashWord(PrfAlgorithm p) { return Name(kHash, p); }

std::optional<IntegrityAlgorithm> IsakmpIntegrity(absl::string_view word) {
  return Find(kIntegrity, word);
}
std::string IsakmpIntegrityWord(IntegrityAlgorithm i) { return Name(kIntegrity, i); }

std::optional<EncryptionAlgorithm> Ikev2Encryption(absl::string_view word) {
  return Find(kIkev2Encryption, word);
}
std::string Ikev2EncryptionWord(EncryptionAlgorithm e) { return Name(kIkev2Encryption, e); }
std::optional<IntegrityAlgorithm> Ikev2Integrity(absl::string_view word) {
  return Find(kIkev2Integrity, word);
}
std::string Ikev2IntegrityWord(IntegrityAlgorithm i) { return Name(kIkev2Integrity, i); }
std::optional<PrfAlgorithm> Ikev2Prf(absl::string_view word) { return Find(kIkev2Prf, word); }
std::string Ikev2PrfWord(PrfAlgorithm p) { return Name(kIkev2Prf, p); }

PrfAlgorithm PrfOfIntegrity(IntegrityAlgorithm i) {
  // The same word names both in IOS's tables.
  auto prf = Find(kIkev2Prf, Name(kIkev2Integrity, i));
  return prf ? *prf : c::PRF_UNSPECIFIED;
}

std::optional<ike::v1::AuthMethod> IsakmpAuthentication(absl::string_view word) {
  return Find(kAuthentication, word);
}
std::string IsakmpAuthenticationWord(ike::v1::AuthMethod a) {
  if (a == ike::v1::AUTH_METHOD_UNSPECIFIED) a = ike::v1::AUTH_METHOD_RSA_SIG;
  return Name(kAuthentication, a);
}

std::optional<DhGroup> DhGroupNumber(absl::string_view number) {
  int n = 0;
  if (!absl::SimpleAtoi(number, &n) || n <= 0) return std::nullopt;
  if (!c::DhGroup_IsValid(n)) return std::nullopt;
  return static_cast<DhGroup>(n);
}

bool TransformTakesKeySize(absl::string_view word) {
  return word == "esp-aes" || word == "esp-gcm";
}

std::optional<Transform> TransformKeyword(absl::string_view word, int key_bits) {
  if (auto ah = Find(kAh, word)) return Transform{Transform::Kind::kAh, {}, *ah};
  if (auto auth = Find(kEspAuth, word)) return Transform{Transform::Kind::kEspAuth, {}, *auth};
  if (word == "comp-lzs") return Transform{Transform::Kind::kCompression, {}, {}};
  std::string spelled(word);
  if (key_bits != 0) {
    if (!TransformTakesKeySize(word)) return std::nullopt;
    spelled = absl::StrCat(word, " ", key_bits);
  }
  if (auto cipher = Find(kEspCipher, spelled)) {
    return Transform{Transform::Kind::kEspCipher, *cipher, {}};
  }
  return std::nullopt;
}

std::string TransformSetWords(const ike::v1::TransformSet& ts) {
  std::string out;
  auto add = [&out](const std::string& w) {
    if (w.empty()) return;
    if (!out.empty()) out += ' ';
    out += w;
  };
  if (ts.ah() != c::INTEGRITY_UNSPECIFIED) add(Name(kAh, ts.ah()));
  if (ts.esp_encryption() != c::ENCRYPTION_UNSPECIFIED) {
    add(Name(kEspCipher, ts.esp_encryption()));
  }
  if (ts.esp_integrity() != c::INTEGRITY_UNSPECIFIED) add(Name(kEspAuth, ts.esp_integrity()));
  return out;
}

bool IsLegacy(EncryptionAlgorithm e) {
  return e == c::ENCRYPTION_DES || e == c::ENCRYPTION_3DES;
}
bool IsLegacy(PrfAlgorithm p) { return p == c::PRF_HMAC_MD5; }
bool IsLegacy(IntegrityAlgorithm i) { return i == c::INTEGRITY_HMAC_MD5_96; }
bool IsLegacy(DhGroup g) {
  return g == c::DH_GROUP_MODP_768 || g == c::DH_GROUP_MODP_1024 || g == c::DH_GROUP_MODP_1536 ||
         g == c::DH_GROUP_MODP_2048_256;
}

std::optional<uint32_t> AclProtocol(absl::string_view word) {
  if (auto p = Find(kProtocols, word)) return p;
  uint32_t n = 0;
  if (absl::SimpleAtoi(word, &n) && n <= 255) return n;
  return std::nullopt;
}

std::string AclProtocolWord(uint32_t protocol) {
  std::string w = Name(kProtocols, protocol);
  return w.empty() ? absl::StrCat(protocol) : w;
}

std::optional<uint32_t> AclPort(absl::string_view word) {
  if (auto p = Find(kPorts, word)) return p;
  uint32_t n = 0;
  if (absl::SimpleAtoi(word, &n) && n <= 65535) return n;
  return std::nullopt;
}

}  // namespace vpnfleet::controller::ios
