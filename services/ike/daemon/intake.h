// What happens to a datagram before any SA has it: the header fields the
// engine routes by, the version check (RFC 7296 §1.5: IKEv1 and unknown
// majors answered, never silently dropped), and the cookie challenge of a
// responder under load (§2.6), all before any state is created.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_INTAKE_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_INTAKE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/random/rng.h"
#include "services/ike/daemon/cookies.h"

namespace vpnfleet::ike {

// The fixed part of the IKE header (§3.1) of a datagram of at least
// v2::kHeaderSize octets.
struct HeaderView {
  uint64_t spi_i = 0, spi_r = 0;
  uint8_t exchange = 0, flags = 0;
  bool from_initiator() const;
  bool is_response() const;
  bool is_init_request() const;  // a new IKE_SA_INIT request (no responder SPI yet)
};
HeaderView PeekHeader(const std::string& datagram);

// Why a datagram gets no SA, and what (if anything) goes back.
struct Refusal {
  std::string reason;  // a label of vpnfleet_ike_messages_refused_total
  std::string detail;
  std::optional<std::string> reply;
};

// A datagram that is no IKE message we speak: too short, IKEv1 while no
// IKEv1 policy is configured (answered NO-PROPOSAL-CHOSEN in ISAKMP), or
// another major version (INVALID_MAJOR_VERSION).
std::optional<Refusal> CheckVersion(const std::string& datagram, Rng* rng, bool speaks_ikev1);

// An IKE_SA_INIT request while many responders wait: it passes only when
// it carries a valid COOKIE first (`kPass`); otherwise `reply` holds the
// challenge to send (`kChallenge`), or the request is dropped unanswered
// (`kMalformed` with the refusal's detail in `error`, or `kDrop`).
enum class CookieVerdict { kPass, kChallenge, kMalformed, kDrop };
CookieVerdict CheckCookie(CookieSecrets& secrets, const std::string& datagram,
                          const std::string& initiator_address, absl::Time now, std::string* reply,
                          std::string* error);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_INTAKE_H_
