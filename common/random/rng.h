// The randomness seam: protocol cores take an Rng so that tests can replay a
// negotiation byte for byte. Production uses the system RNG (OpenSSL's
// RAND_bytes); tests use SeededRng, which is NOT for keys or nonces.
#ifndef VPNFLEET_COMMON_RANDOM_RNG_H_
#define VPNFLEET_COMMON_RANDOM_RNG_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace vpnfleet {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void Fill(void* out, size_t n) = 0;

  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    Fill(s.data(), n);
    return s;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Fill(&v, sizeof v);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Fill(&v, sizeof v);
    return v;
  }
};

// OpenSSL's DRBG. Thread-safe.
class SystemRng final : public Rng {
 public:
  void Fill(void* out, size_t n) override;
  static SystemRng* Get();
};

// SplitMix64 from a seed: deterministic, for tests only.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(uint64_t seed) : state_(seed) {}
  void Fill(void* out, size_t n) override {
    auto* p = static_cast<uint8_t*>(out);
    for (size_t i = 0; i < n; ++i) {
      if (i % 8 == 0) word_ = Next();
      p[i] = static_cast<uint8_t>(word_ >> (8 * (i % 8)));
    }
  }

 private:
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
  uint64_t word_ = 0;
};

}  // namespace vpnfleet

#endif  // VPNFLEET_COMMON_RANDOM_RNG_H_
