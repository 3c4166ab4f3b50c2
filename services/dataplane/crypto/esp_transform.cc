#include "services/dataplane/crypto/esp_transform.h"

#include "services/dataplane/packet/byte_order.h"

#include <cstring>

#include <openssl/crypto.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/algorithms.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

const EVP_CIPHER* CipherFor(cv1::EncryptionAlgorithm alg) {
  switch (alg) {
    case cv1::ENCRYPTION_AES_GCM_128: return EVP_aes_128_gcm();
    case cv1::ENCRYPTION_AES_GCM_256: return EVP_aes_256_gcm();
    case cv1::ENCRYPTION_CHACHA20_POLY1305: return EVP_chacha20_poly1305();
    case cv1::ENCRYPTION_AES_CBC_128: return EVP_aes_128_cbc();
    case cv1::ENCRYPTION_AES_CBC_192: return EVP_aes_192_cbc();
    case cv1::ENCRYPTION_AES_CBC_256: return EVP_aes_256_cbc();
    case cv1::ENCRYPTION_3DES: return EVP_des_ede3_cbc();
    case cv1::ENCRYPTION_DES: return EVP_des_cbc();
    default: return nullptr;
  }
}

// DES lives in OpenSSL 3's legacy provider; load it (with the default one)
// once, and only when legacy algorithms are allowed.
// The handles live as long as the process (and stay reachable, so leak
// checkers see them as in use).
bool LoadLegacyProvider() {
  static OSSL_PROVIDER* const legacy = OSSL_PROVIDER_load(nullptr, "legacy");
  static OSSL_PROVIDER* const fallback = OSSL_PROVIDER_load(nullptr, "default");
  return legacy != nullptr && fallback != nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EspTransform>> EspTransform::Create(const EspTransformConfig& c) {
  if ((crypto::IsLegacy(c.encryption) || crypto::IsLegacy(c.integrity)) && !c.allow_legacy) {
    return absl::InvalidArgumentError("legacy algorithm while legacy algorithms are not allowed");
  }
  std::unique_ptr<EspTransform> t(new EspTransform());
  t->esn_ = c.esn;
  t->aead_ = crypto::IsAead(c.encryption);
  if (c.encryption_key.size() != crypto::EncryptionKeyLength(c.encryption)) {
    return absl::InvalidArgumentError("encryption key has the wrong length");
  }
  if (c.encryption == cv1::ENCRYPTION_DES && !LoadLegacyProvider()) {
    return absl::FailedPreconditionError("OpenSSL's legacy provider (DES) is not available");
  }
  if (c.encryption != cv1::ENCRYPTION_NULL) {
    t->cipher_ = CipherFor(c.encryption);
    if (t->cipher_ == nullptr) return absl::InvalidArgumentError("unsupported encryption algorithm");
  }
  const auto* key = reinterpret_cast<const uint8_t*>(c.encryption_key.data());
  if (t->aead_) {
    const size_t key_len = c.encryption_key.size() - 4;
    std::memcpy(t->salt_, key + key_len, 4);
    t->layout_ = {8, 1, 16};
  } else if (t->cipher_ != nullptr) {
    const int block = EVP_CIPHER_get_block_size(t->cipher_);
    t->layout_ = {static_cast<uint8_t>(EVP_CIPHER_get_iv_length(t->cipher_)),
                  static_cast<uint8_t>(block), 0};
  } else {
    t->layout_ = {0, 1, 0};
  }
  if (t->cipher_ != nullptr) {
    t->enc_ = EVP_CIPHER_CTX_new();
    t->dec_ = EVP_CIPHER_CTX_new();
    if (t->enc_ == nullptr || t->dec_ == nullptr ||
        EVP_EncryptInit_ex(t->enc_, t->cipher_, nullptr, key, nullptr) != 1 ||
        EVP_DecryptInit_ex(t->dec_, t->cipher_, nullptr, key, nullptr) != 1) {
      return absl::InternalError("OpenSSL refused the cipher key");
    }
    if (!t->aead_) {
      // ESP pads itself (RFC 4303 §2.4); the cipher must not add PKCS#7.
      EVP_CIPHER_CTX_set_padding(t->enc_, 0);
      EVP_CIPHER_CTX_set_padding(t->dec_, 0);
    }
  }
  if (!t->aead_) {
    if (c.integrity == cv1::INTEGRITY_UNSPECIFIED) {
      if (t->cipher_ == nullptr) {
        return absl::InvalidArgumentError("NULL encryption needs an integrity algorithm");
      }
      // Encryption without integrity is allowed by RFC 4303 but not by us.
      return absl::InvalidArgumentError("a CBC cipher needs an integrity algorithm");
    }
    auto mac = IcvMac::Create(c.integrity, c.integrity_key, c.allow_legacy);
    if (!mac.ok()) return mac.status();
    t->mac_ = *std::move(mac);
    t->layout_.icv_size = t->mac_->icv_size();
  } else if (c.integrity != cv1::INTEGRITY_UNSPECIFIED) {
    return absl::InvalidArgumentError("a combined-mode cipher takes no integrity algorithm");
  }
  return t;
}

EspTransform::~EspTransform() {
  EVP_CIPHER_CTX_free(enc_);  // frees cleanse the key schedules
  EVP_CIPHER_CTX_free(dec_);
  OPENSSL_cleanse(salt_, sizeof salt_);
  OPENSSL_cleanse(iv_pool_, sizeof iv_pool_);
}

bool EspTransform::Mac(const uint8_t* data, size_t size, uint64_t seq, uint8_t* icv) noexcept {
  if (!mac_->Begin() || !mac_->Update(data, size)) return false;
  if (esn_) {
    // RFC 4303 §2.2.1: the high 32 bits are authenticated as if appended.
    uint8_t high[4];
    StoreBe32(high, static_cast<uint32_t>(seq >> 32));
    if (!mac_->Update(high, sizeof high)) return false;
  }
  return mac_->Finish(icv);
}

// RFC 4106 §4 / RFC 7634 §2: nonce = salt || explicit IV. RFC 4106 §5 /
// RFC 7634 §2.1: AAD = SPI || 32-bit sequence number, or SPI || 64-bit ESN.
size_t EspTransform::AeadInputs(const uint8_t* packet, const uint8_t* iv, uint64_t seq,
                                uint8_t* nonce, uint8_t* aad) const noexcept {
  std::memcpy(nonce, salt_, 4);
  std::memcpy(nonce + 4, iv, 8);
  std::memcpy(aad, packet, 4);
  if (esn_) {
    StoreBe64(aad + 4, seq);
    return 12;
  }
  std::memcpy(aad + 4, packet + 4, 4);
  return 8;
}

bool EspTransform::NextIv(uint8_t* iv) noexcept {
  if (iv_pool_used_ + layout_.iv_size > sizeof iv_pool_) {
    if (RAND_bytes(iv_pool_, sizeof iv_pool_) != 1) return false;
    iv_pool_used_ = 0;
  }
  std::memcpy(iv, iv_pool_ + iv_pool_used_, layout_.iv_size);
  iv_pool_used_ += layout_.iv_size;
  return true;
}

size_t EspTransform::Seal(uint8_t* packet, size_t plaintext_size, uint64_t seq) noexcept {
  uint8_t* iv = packet + kEspHeaderSize;
  uint8_t* text = iv + layout_.iv_size;
  uint8_t* icv = text + plaintext_size;
  int len = 0;
  if (aead_) {
    // The 64-bit sequence number is a unique explicit IV per key (RFC 4106 §3.1).
    StoreBe64(iv, seq);
    uint8_t nonce[12], aad[12];
    const size_t aad_len = AeadInputs(packet, iv, seq, nonce, aad);
    if (EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_EncryptUpdate(enc_, nullptr, &len, aad, static_cast<int>(aad_len)) != 1 ||
        EVP_EncryptUpdate(enc_, text, &len, text, static_cast<int>(plaintext_size)) != 1 ||
        EVP_EncryptFinal_ex(enc_, text + len, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(enc_, EVP_CTRL_AEAD_GET_TAG, 16, icv) != 1) {
      return 0;
    }
    return kEspHeaderSize + layout_.iv_size + plaintext_size + layout_.icv_size;
  }
  if (cipher_ != nullptr) {
    // CBC needs an unpredictable IV (RFC 3602 §3).
    if (!NextIv(iv) ||
        EVP_EncryptInit_ex(enc_, nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_EncryptUpdate(enc_, text, &len, text, static_cast<int>(plaintext_size)) != 1 ||
        EVP_EncryptFinal_ex(enc_, text + len, &len) != 1) {
      return 0;
    }
  }
  if (!Mac(packet, static_cast<size_t>(icv - packet), seq, icv)) return 0;
  return kEspHeaderSize + layout_.iv_size + plaintext_size + layout_.icv_size;
}

bool EspTransform::Open(uint8_t* packet, const EspView& view, uint64_t seq) noexcept {
  uint8_t* text = packet + view.ciphertext_offset;
  const uint8_t* icv = packet + view.icv_offset;
  int len = 0;
  if (aead_) {
    uint8_t nonce[12], aad[12];
    const size_t aad_len = AeadInputs(packet, packet + view.iv_offset, seq, nonce, aad);
    return EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_CIPHER_CTX_ctrl(dec_, EVP_CTRL_AEAD_SET_TAG, 16, const_cast<uint8_t*>(icv)) == 1 &&
           EVP_DecryptUpdate(dec_, nullptr, &len, aad, static_cast<int>(aad_len)) == 1 &&
           EVP_DecryptUpdate(dec_, text, &len, text, static_cast<int>(view.ciphertext_size)) == 1 &&
           EVP_DecryptFinal_ex(dec_, text + len, &len) == 1;
  }
  // Verify before decrypting: nothing unauthenticated reaches the cipher.
  uint8_t expected[32];
  if (!Mac(packet, view.icv_offset, seq, expected) ||
      CRYPTO_memcmp(expected, icv, layout_.icv_size) != 0) {
    return false;
  }
  if (cipher_ == nullptr) return true;
  return EVP_DecryptInit_ex(dec_, nullptr, nullptr, nullptr, packet + view.iv_offset) == 1 &&
         EVP_DecryptUpdate(dec_, text, &len, text, static_cast<int>(view.ciphertext_size)) == 1 &&
         EVP_DecryptFinal_ex(dec_, text + len, &len) == 1;
}

}  // namespace vpnfleet::dataplane
