#include "services/pki/ca/keys.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::pki {

absl::StatusOr<EvpKey> GenerateKey(v1::KeyAlgorithm alg) {
  EVP_PKEY* key = nullptr;
  switch (alg) {
    case v1::KEY_ALGORITHM_RSA_2048: key = EVP_RSA_gen(2048); break;
    case v1::KEY_ALGORITHM_RSA_3072: key = EVP_RSA_gen(3072); break;
    case v1::KEY_ALGORITHM_RSA_4096: key = EVP_RSA_gen(4096); break;
    case v1::KEY_ALGORITHM_ECDSA_P256: key = EVP_EC_gen("P-256"); break;
    case v1::KEY_ALGORITHM_ECDSA_P384: key = EVP_EC_gen("P-384"); break;
    default:
      return absl::InvalidArgumentError("key algorithm must be RSA 2048/3072/4096 or ECDSA P-256/P-384");
  }
  if (key == nullptr) return absl::InternalError("OpenSSL could not generate the key");
  return EvpKey(key);
}

v1::KeyAlgorithm KeyAlgorithmOf(const EVP_PKEY* key) {
  if (key == nullptr) return v1::KEY_ALGORITHM_UNSPECIFIED;
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits >= 4096) return v1::KEY_ALGORITHM_RSA_4096;
    if (bits >= 3072) return v1::KEY_ALGORITHM_RSA_3072;
    if (bits >= 2048) return v1::KEY_ALGORITHM_RSA_2048;
    return v1::KEY_ALGORITHM_UNSPECIFIED;
  }
  if (EVP_PKEY_is_a(key, "EC")) {
    char curve[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof curve, &len) != 1) {
      return v1::KEY_ALGORITHM_UNSPECIFIED;
    }
    const std::string name(curve, len);
    if (name == "prime256v1" || name == "P-256") return v1::KEY_ALGORITHM_ECDSA_P256;
    if (name == "secp384r1" || name == "P-384") return v1::KEY_ALGORITHM_ECDSA_P384;
  }
  return v1::KEY_ALGORITHM_UNSPECIFIED;
}

absl::StatusOr<std::string> PrivateKeyToPem(const EVP_PKEY* key, absl::string_view passphrase) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_secmem()), BIO_free);
  if (!bio) return absl::InternalError("BIO_new failed");
  const EVP_CIPHER* cipher = passphrase.empty() ? nullptr : EVP_aes_256_cbc();
  if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key, cipher, passphrase.data(),
                                    static_cast<int>(passphrase.size()), nullptr, nullptr) != 1) {
    return absl::InternalError("could not encode the private key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<EvpKey> PrivateKeyFromPem(absl::string_view pem, absl::string_view passphrase) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return absl::InternalError("BIO_new failed");
  // An empty passphrase must not fall back to a terminal prompt.
  std::string pass(passphrase);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pass.data());
  OPENSSL_cleanse(pass.data(), pass.size());
  if (key == nullptr) {
    return absl::InvalidArgumentError("not a private key in PEM, or the passphrase is wrong");
  }
  return EvpKey(key);
}



absl::StatusOr<v1::KeyAlgorithm> ParseKeyAlgorithmName(absl::string_view name) {
  const std::pair<const char*, v1::KeyAlgorithm> names[] = {
      {"rsa-2048", v1::KEY_ALGORITHM_RSA_2048},     {"rsa-3072", v1::KEY_ALGORITHM_RSA_3072},
      {"rsa-4096", v1::KEY_ALGORITHM_RSA_4096},     {"ecdsa-p256", v1::KEY_ALGORITHM_ECDSA_P256},
      {"ecdsa-p384", v1::KEY_ALGORITHM_ECDSA_P384}};
  for (const auto& [n, alg] : names) {
    if (absl::EqualsIgnoreCase(name, n)) return alg;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "key \"", name, "\": use rsa-2048, rsa-3072, rsa-4096, ecdsa-p256 or ecdsa-p384"));
}

std::string DerToPem(absl::string_view der, absl::string_view label) {
  std::string b64;
  absl::Base64Escape(der, &b64);
  std::string pem = absl::StrCat("-----BEGIN ", label, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&pem, b64.substr(i, 64), "\n");
  absl::StrAppend(&pem, "-----END ", label, "-----\n");
  return pem;
}

}  // namespace vpnfleet::pki
