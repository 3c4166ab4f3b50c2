#include "common/crypto/hmac.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

namespace vpnfleet::crypto {
namespace {

constexpr const char* kPrepared[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
constexpr size_t kCount = sizeof kPrepared / sizeof kPrepared[0];

// One keyless HMAC context per digest, made on first use and never
// changed after: copies of it may be taken from any thread.
struct Templates {
  EVP_MAC_CTX* ctx[kCount] = {};
  Templates() {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) return;
    for (size_t i = 0; i < kCount; ++i) {
      EVP_MAC_CTX* c = EVP_MAC_CTX_new(mac);
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                              const_cast<char*>(kPrepared[i]), 0),
                             OSSL_PARAM_construct_end()};
      if (c != nullptr && EVP_MAC_CTX_set_params(c, params) == 1) {
        ctx[i] = c;
      } else {
        EVP_MAC_CTX_free(c);
      }
    }
    EVP_MAC_free(mac);  // the contexts hold their own references
  }
};

const EVP_MAC_CTX* TemplateFor(const char* digest) {
  static const Templates* templates = new Templates();  // lives as long as the process
  for (size_t i = 0; i < kCount; ++i) {
    if (std::strcmp(digest, kPrepared[i]) == 0) return templates->ctx[i];
  }
  return nullptr;
}

}  // namespace

size_t Hmac(const char* digest, const void* key, size_t key_len, const void* data,
            size_t data_len, unsigned char out[EVP_MAX_MD_SIZE]) {
  const EVP_MAC_CTX* t = TemplateFor(digest);
  if (t == nullptr) {
    unsigned int n = 0;
    const EVP_MD* md = EVP_get_digestbyname(digest);
    if (md == nullptr || HMAC(md, key, static_cast<int>(key_len),
                              static_cast<const unsigned char*>(data), data_len, out, &n) == nullptr) {
      return 0;
    }
    return n;
  }
  EVP_MAC_CTX* c = EVP_MAC_CTX_dup(t);
  size_t n = 0;
  // An empty key is a valid HMAC key; OpenSSL wants a non-null pointer for it.
  static const unsigned char kNoKey[1] = {0};
  const bool ok =
      c != nullptr &&
      EVP_MAC_init(c, key_len ? static_cast<const unsigned char*>(key) : kNoKey, key_len,
                   nullptr) == 1 &&
      EVP_MAC_update(c, static_cast<const unsigned char*>(data), data_len) == 1 &&
      EVP_MAC_final(c, out, &n, EVP_MAX_MD_SIZE) == 1;
  EVP_MAC_CTX_free(c);  // wipes the keyed state
  return ok ? n : 0;
}

}  // namespace vpnfleet::crypto
