// Wiping secrets from memory before it is released (OPENSSL_cleanse cannot be
// optimised away).
#ifndef VPNFLEET_COMMON_CRYPTO_ZEROIZE_H_
#define VPNFLEET_COMMON_CRYPTO_ZEROIZE_H_

#include <string>

#include <openssl/crypto.h>

namespace vpnfleet::crypto {

inline void ZeroizeString(std::string* s) {
  if (s == nullptr) return;
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

}  // namespace vpnfleet::crypto

#endif  // VPNFLEET_COMMON_CRYPTO_ZEROIZE_H_
