#include "absl/strings/string_view.h"
#include "common/crypto/algorithms.h"

namespace vpnfleet::crypto {

namespace v1 = vpnfleet::common::v1;

bool IsAead(EncryptionAlgorithm alg) {
  return alg == v1::ENCRYPTION_AES_GCM_128 || alg == v1::ENCRYPTION_AES_GCM_256 ||
         alg == v1::ENCRYPTION_CHACHA20_POLY1305;
}

size_t EncryptionKeyLength(EncryptionAlgorithm alg) {
  switch (alg) {
    case v1::ENCRYPTION_NULL: return 0;
    case v1::ENCRYPTION_DES: return 8;
    case v1::ENCRYPTION_3DES: return 24;
    case v1::ENCRYPTION_AES_CBC_128: return 16;
    case v1::ENCRYPTION_AES_CBC_192: return 24;
    case v1::ENCRYPTION_AES_CBC_256: return 32;
    case v1::ENCRYPTION_AES_GCM_128: return 16 + 4;
    case v1::ENCRYPTION_AES_GCM_256: return 32 + 4;
    case v1::ENCRYPTION_CHACHA20_POLY1305: return 32 + 4;
    default: return 0;
  }
}

size_t IntegrityKeyLength(IntegrityAlgorithm alg) {
  switch (alg) {
    case v1::INTEGRITY_HMAC_MD5_96: return 16;
    case v1::INTEGRITY_HMAC_SHA1_96: return 20;
    case v1::INTEGRITY_HMAC_SHA2_256_128: return 32;
    case v1::INTEGRITY_HMAC_SHA2_384_192: return 48;
    case v1::INTEGRITY_HMAC_SHA2_512_256: return 64;
    default: return 0;
  }
}

bool IsLegacy(EncryptionAlgorithm alg) {
  return alg == v1::ENCRYPTION_DES || alg == v1::ENCRYPTION_3DES;
}
bool IsLegacy(IntegrityAlgorithm alg) { return alg == v1::INTEGRITY_HMAC_MD5_96; }
bool IsLegacy(PrfAlgorithm alg) { return alg == v1::PRF_HMAC_MD5; }
bool IsLegacy(DhGroup group) {
  return group == v1::DH_GROUP_MODP_768 || group == v1::DH_GROUP_MODP_1024 ||
         group == v1::DH_GROUP_MODP_1536 || group == v1::DH_GROUP_MODP_2048_256;
}

absl::string_view EspEncryptionKeyword(EncryptionAlgorithm alg) {
  switch (alg) {
    case v1::ENCRYPTION_NULL: return "esp-null";
    case v1::ENCRYPTION_DES: return "esp-des";
    case v1::ENCRYPTION_3DES: return "esp-3des";
    case v1::ENCRYPTION_AES_CBC_128: return "esp-aes";
    case v1::ENCRYPTION_AES_CBC_192: return "esp-aes 192";
    case v1::ENCRYPTION_AES_CBC_256: return "esp-aes 256";
    case v1::ENCRYPTION_AES_GCM_128: return "esp-gcm";
    case v1::ENCRYPTION_AES_GCM_256: return "esp-gcm 256";
    case v1::ENCRYPTION_CHACHA20_POLY1305: return "esp-chacha20-poly1305";
    default: return "";
  }
}

absl::string_view EspIntegrityKeyword(IntegrityAlgorithm alg) {
  switch (alg) {
    case v1::INTEGRITY_HMAC_MD5_96: return "esp-md5-hmac";
    case v1::INTEGRITY_HMAC_SHA1_96: return "esp-sha-hmac";
    case v1::INTEGRITY_HMAC_SHA2_256_128: return "esp-sha256-hmac";
    case v1::INTEGRITY_HMAC_SHA2_384_192: return "esp-sha384-hmac";
    case v1::INTEGRITY_HMAC_SHA2_512_256: return "esp-sha512-hmac";
    default: return "";
  }
}

absl::string_view AhKeyword(IntegrityAlgorithm alg) {
  switch (alg) {
    case v1::INTEGRITY_HMAC_MD5_96: return "ah-md5-hmac";
    case v1::INTEGRITY_HMAC_SHA1_96: return "ah-sha-hmac";
    case v1::INTEGRITY_HMAC_SHA2_256_128: return "ah-sha256-hmac";
    case v1::INTEGRITY_HMAC_SHA2_384_192: return "ah-sha384-hmac";
    case v1::INTEGRITY_HMAC_SHA2_512_256: return "ah-sha512-hmac";
    default: return "";
  }
}

}  // namespace vpnfleet::crypto
