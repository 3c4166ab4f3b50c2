// HMAC without OpenSSL 3's per-call lookups. The one-shot HMAC() looks the
// MAC and the digest up by name on every call (locks, string compares, a
// hash-table walk): in an IKE handshake, which runs prf a dozen times, that
// cost more than the hashing. Here each digest's MAC context is made once
// per process and copied for each computation; the copy is wiped when freed.
#ifndef VPNFLEET_COMMON_CRYPTO_HMAC_H_
#define VPNFLEET_COMMON_CRYPTO_HMAC_H_

#include <cstddef>

#include <openssl/evp.h>

namespace vpnfleet::crypto {

// HMAC of `data` under `key` with the digest named `digest` ("SHA1",
// "SHA256", "SHA384", "SHA512"; other names go through OpenSSL's lookup)
// into `out` (EVP_MAX_MD_SIZE octets). Returns the MAC's length, 0 on
// failure. Any thread.
size_t Hmac(const char* digest, const void* key, size_t key_len, const void* data,
            size_t data_len, unsigned char out[EVP_MAX_MD_SIZE]);

}  // namespace vpnfleet::crypto

#endif  // VPNFLEET_COMMON_CRYPTO_HMAC_H_
