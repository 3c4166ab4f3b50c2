#include "services/ike/auth/rsa_encryption.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "services/ike/auth/key_encoding.h"

namespace vpnfleet::ike::auth {
namespace {

constexpr int kMinBits = 1024;
constexpr int kMaxBits = 8192;
constexpr size_t kPkcs1Overhead = 11;

absl::Status CheckSize(const EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  if (bits < kMinBits || bits > kMaxBits) {
    return absl::InvalidArgumentError(absl::StrCat("an RSA key of ", bits,
                                                   " bits (1024..8192 are accepted)"));
  }
  return absl::OkStatus();
}

std::string PublicDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  if (n <= 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RsaPublicKey>> RsaPublicKey::FromDer(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::shared_ptr<RsaPublicKey> k(new RsaPublicKey());
  k->key_.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (!k->key_ || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("not a DER SubjectPublicKeyInfo");
  }
  if (!IsRsa(k->key_.get())) return absl::InvalidArgumentError("not an RSA public key");
  if (absl::Status s = CheckSize(k->key_.get()); !s.ok()) return s;
  k->der_ = std::string(der);
  return std::shared_ptr<const RsaPublicKey>(std::move(k));
}

size_t RsaPublicKey::size_octets() const {
  return static_cast<size_t>(EVP_PKEY_get_size(key_.get()));
}

absl::StatusOr<std::string> RsaPublicKey::Encrypt(absl::string_view plain) const {
  if (plain.size() + kPkcs1Overhead > size_octets()) {
    return absl::InvalidArgumentError(absl::StrCat(plain.size(), " octets do not fit a ",
                                                   size_octets() * 8, "-bit RSA key"));
  }
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
  size_t n = size_octets();
  std::string out(n, '\0');
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                       reinterpret_cast<const unsigned char*>(plain.data()), plain.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("RSA encryption failed");
  }
  out.resize(n);
  return out;
}

absl::StatusOr<std::shared_ptr<const RsaKeyPair>> RsaKeyPair::FromPem(std::string name,
                                                                      absl::string_view pem) {
  std::shared_ptr<RsaKeyPair> k(new RsaKeyPair());
  k->name_ = std::move(name);
  std::unique_ptr<BIO, ossl::OpenSslDeleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  k->key_.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!k->key_) return absl::InvalidArgumentError("no private key (unencrypted PEM) found");
  if (!IsRsa(k->key_.get())) return absl::InvalidArgumentError("not an RSA key");
  if (absl::Status s = CheckSize(k->key_.get()); !s.ok()) return s;
  k->public_der_ = PublicDer(k->key_.get());
  if (k->public_der_.empty()) return absl::InternalError("cannot encode the public key");
  return std::shared_ptr<const RsaKeyPair>(std::move(k));
}

size_t RsaKeyPair::size_octets() const {
  return static_cast<size_t>(EVP_PKEY_get_size(key_.get()));
}

absl::StatusOr<std::string> RsaKeyPair::Decrypt(absl::string_view cipher) const {
  const absl::Status refused = absl::PermissionDeniedError("does not decrypt with our RSA key");
  if (cipher.size() != size_octets()) return refused;
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
  size_t n = size_octets();
  std::string out(n, '\0');
  const bool ok =
      ctx && EVP_PKEY_decrypt_init(ctx.get()) == 1 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
      EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n,
                       reinterpret_cast<const unsigned char*>(cipher.data()), cipher.size()) == 1;
  ERR_clear_error();
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return refused;
  }
  out.resize(n);
  return out;
}

}  // namespace vpnfleet::ike::auth
