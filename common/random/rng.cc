#include "common/random/rng.h"

#include <openssl/rand.h>

#include <cstdlib>

namespace vpnfleet {

void SystemRng::Fill(void* out, size_t n) {
  // RAND_bytes fails only when the DRBG cannot be seeded; continuing with
  // predictable SPIs or nonces would be worse than stopping.
  if (n > 0 && RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1) {
    std::abort();
  }
}

SystemRng* SystemRng::Get() {
  static SystemRng* rng = new SystemRng();
  return rng;
}

}  // namespace vpnfleet
