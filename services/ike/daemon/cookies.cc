#include "services/ike/daemon/cookies.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/crypto/hmac.h"

namespace vpnfleet::ike {

void CookieSecrets::Rotate(absl::Time now) {
  if (now - rotated_ < period_) return;
  // Two periods quiet: the previous secret is as old as the current one.
  previous_ = now - rotated_ < 2 * period_ ? std::move(current_) : SecretBytes();
  current_ = SecretBytes(rng_->Bytes(32));
  ++version_;
  rotated_ = now;
}

std::string CookieSecrets::Compute(const SecretBytes& secret, uint8_t version,
                                   absl::string_view nonce, absl::string_view address,
                                   uint64_t spi_i) const {
  std::string in(nonce);
  in.append(address.data(), address.size());
  for (int i = 7; i >= 0; --i) in.push_back(static_cast<char>(spi_i >> (8 * i)));
  unsigned char md[EVP_MAX_MD_SIZE];
  crypto::Hmac("SHA256", secret.view().data(), secret.size(), in.data(), in.size(), md);
  std::string out(1, static_cast<char>(version));
  out.append(reinterpret_cast<const char*>(md), kSize - 1);
  return out;
}

std::string CookieSecrets::Make(absl::string_view nonce, absl::string_view address,
                                uint64_t spi_i, absl::Time now) {
  Rotate(now);
  return Compute(current_, version_, nonce, address, spi_i);
}

bool CookieSecrets::Check(absl::string_view cookie, absl::string_view nonce,
                          absl::string_view address, uint64_t spi_i, absl::Time now) {
  Rotate(now);
  if (cookie.size() != kSize) return false;
  const uint8_t version = static_cast<uint8_t>(cookie[0]);
  const SecretBytes* secret = nullptr;
  if (version == version_) {
    secret = &current_;
  } else if (version == static_cast<uint8_t>(version_ - 1) && !previous_.empty()) {
    secret = &previous_;
  }
  if (secret == nullptr) return false;
  const std::string want = Compute(*secret, version, nonce, address, spi_i);
  return CRYPTO_memcmp(want.data(), cookie.data(), kSize) == 0;
}

}  // namespace vpnfleet::ike
