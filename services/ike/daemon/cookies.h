// IKEv2 cookies (RFC 7296 §2.6) from a secret that rotates: a responder
// under load answers IKE_SA_INIT with COOKIE and creates state only for a
// request that returns it, so a flood from spoofed addresses costs an HMAC.
//
//   Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
//
// The secret changes every `period`; a cookie of the previous one is still
// taken (a peer that got it just before the change), older ones are not.
// The comparison takes constant time.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_COOKIES_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_COOKIES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/ike/keymat/prf.h"
#include "common/random/rng.h"

namespace vpnfleet::ike {

class CookieSecrets {
 public:
  explicit CookieSecrets(Rng* rng, absl::Duration period = absl::Minutes(2))
      : rng_(rng), period_(period) {}

  // The cookie for this initiator (its nonce, address and SPI) now.
  std::string Make(absl::string_view nonce, absl::string_view address, uint64_t spi_i,
                   absl::Time now);
  // Whether `cookie` is one Make gave this initiator under the current or
  // the previous secret.
  bool Check(absl::string_view cookie, absl::string_view nonce, absl::string_view address,
             uint64_t spi_i, absl::Time now);

  static constexpr size_t kSize = 1 + 16;  // version, truncated HMAC-SHA-256

 private:
  void Rotate(absl::Time now);
  std::string Compute(const SecretBytes& secret, uint8_t version, absl::string_view nonce,
                      absl::string_view address, uint64_t spi_i) const;

  Rng* rng_;
  absl::Duration period_;
  absl::Time rotated_ = absl::InfinitePast();
  uint8_t version_ = 0;
  SecretBytes current_, previous_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_COOKIES_H_
