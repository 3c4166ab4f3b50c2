#include "common/random/rng.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vpnfleet {
namespace {

// Each RAND_bytes call costs a getpid() system call (OpenSSL's fork check)
// and a lock on the DRBG, more than the bytes themselves for the 4 to 32
// octets of an SPI, a nonce or an IV. Small requests are therefore served
// from a per-thread pool filled 256 octets at a time; each octet handed out
// is wiped from the pool, and a forked child starts with an empty one.
struct Pool {
  unsigned char bytes[256];
  size_t left = 0;  // the unused octets are the last `left`
  ~Pool() { OPENSSL_cleanse(bytes, sizeof bytes); }
};

thread_local Pool pool;

void DrawOrAbort(unsigned char* out, size_t n) {
  // RAND_bytes fails only when the DRBG cannot be seeded; continuing with
  // predictable SPIs or nonces would be worse than stopping.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

void ForgetPoolInChild() {
  OPENSSL_cleanse(pool.bytes, sizeof pool.bytes);
  pool.left = 0;
}

}  // namespace

void SystemRng::Fill(void* out, size_t n) {
  if (n == 0) return;
  auto* o = static_cast<unsigned char*>(out);
  if (n > sizeof pool.bytes / 4) {
    DrawOrAbort(o, n);
    return;
  }
  static std::once_flag at_fork;
  std::call_once(at_fork, [] { pthread_atfork(nullptr, nullptr, ForgetPoolInChild); });
  if (pool.left < n) {
    DrawOrAbort(pool.bytes, sizeof pool.bytes);
    pool.left = sizeof pool.bytes;
  }
  unsigned char* from = pool.bytes + sizeof pool.bytes - pool.left;
  std::memcpy(o, from, n);
  OPENSSL_cleanse(from, n);
  pool.left -= n;
}

SystemRng* SystemRng::Get() {
  static SystemRng* rng = new SystemRng();
  return rng;
}

}  // namespace vpnfleet
