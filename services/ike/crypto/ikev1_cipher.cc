#include "services/ike/crypto/ikev1_cipher.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::ike::ikev1 {
namespace {

const EVP_CIPHER* EvpCipher(uint16_t id, size_t key_size) {
  switch (static_cast<CipherId>(id)) {
    case CipherId::kDesCbc: return EVP_des_cbc();
    case CipherId::kTripleDesCbc: return EVP_des_ede3_cbc();
    case CipherId::kAesCbc:
      return key_size == 16 ? EVP_aes_128_cbc() : key_size == 24 ? EVP_aes_192_cbc()
                                                                 : EVP_aes_256_cbc();
  }
  return nullptr;
}

}  // namespace

const char* CipherName(uint16_t id, uint16_t key_bits) {
  switch (static_cast<CipherId>(id)) {
    case CipherId::kDesCbc: return "des";
    case CipherId::kTripleDesCbc: return "3des";
    case CipherId::kAesCbc:
      return key_bits == 256 ? "aes 256" : key_bits == 192 ? "aes 192" : "aes";
  }
  return "unknown";
}

absl::StatusOr<Cipher> Cipher::Create(uint16_t id, uint16_t key_bits, bool allow_legacy) {
  switch (static_cast<CipherId>(id)) {
    case CipherId::kAesCbc:
      if (key_bits == 0) key_bits = 128;
      if (key_bits != 128 && key_bits != 192 && key_bits != 256) break;
      return Cipher(id, key_bits / 8, 16);
    case CipherId::kDesCbc:
    case CipherId::kTripleDesCbc:
      if (!allow_legacy) {
        return absl::InvalidArgumentError(absl::StrCat("encryption ", CipherName(id, 0),
                                                       " is legacy"));
      }
      if (key_bits != 0) break;  // fixed-length ciphers take no key length
      return Cipher(id, id == static_cast<uint16_t>(CipherId::kDesCbc) ? 8 : 24, 8);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("phase-1 encryption ", id, " with a ", key_bits, "-bit key is not supported"));
}

absl::StatusOr<std::string> Cipher::Run(bool encrypt, const SecretBytes& key,
                                        absl::string_view iv, absl::string_view in) const {
  if (key.size() != key_size_ || iv.size() != block_size_ || in.size() % block_size_ != 0) {
    return absl::InvalidArgumentError("phase-1 cipher: key, IV or length does not fit");
  }
  ossl::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(in.size(), '\0');
  int n = 0;
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EvpCipher(id_, key_size_), nullptr,
                        reinterpret_cast<const unsigned char*>(key.view().data()),
                        reinterpret_cast<const unsigned char*>(iv.data()), encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                       reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1 ||
      static_cast<size_t>(n) != in.size()) {
    return absl::InternalError("phase-1 cipher failed");
  }
  return out;
}

absl::StatusOr<std::string> Cipher::Encrypt(const SecretBytes& key, absl::string_view iv,
                                            absl::string_view plain) const {
  std::string padded(plain);
  if (padded.empty() || padded.size() % block_size_ != 0) {
    padded.resize((padded.size() / block_size_ + 1) * block_size_, '\0');
  }
  return Run(true, key, iv, padded);
}

absl::StatusOr<std::string> Cipher::Decrypt(const SecretBytes& key, absl::string_view iv,
                                            absl::string_view ciphertext) const {
  if (ciphertext.empty() || ciphertext.size() % block_size_ != 0) {
    return absl::InvalidArgumentError(absl::StrCat("encrypted body of ", ciphertext.size(),
                                                   " octets is not whole cipher blocks"));
  }
  return Run(false, key, iv, ciphertext);
}

std::string LastBlock(absl::string_view ciphertext, size_t block_size) {
  if (ciphertext.size() < block_size) return std::string();
  return std::string(ciphertext.substr(ciphertext.size() - block_size));
}

}  // namespace vpnfleet::ike::ikev1
