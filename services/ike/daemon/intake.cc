#include "services/ike/daemon/intake.h"

#include "absl/strings/str_cat.h"
#include "common/bytes/big_endian.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/codec/other_versions.h"
#include "services/ike/sa/notify.h"

namespace vpnfleet::ike {

HeaderView PeekHeader(const std::string& d) {
  HeaderView h;
  h.spi_i = bytes::LoadBe64(d.data());
  h.spi_r = bytes::LoadBe64(d.data() + 8);
  h.exchange = static_cast<uint8_t>(d[18]);
  h.flags = static_cast<uint8_t>(d[19]);
  return h;
}

bool HeaderView::from_initiator() const { return (flags & v2::kFlagInitiator) != 0; }
bool HeaderView::is_response() const { return (flags & v2::kFlagResponse) != 0; }
bool HeaderView::is_init_request() const {
  return from_initiator() && spi_r == 0 &&
         exchange == static_cast<uint8_t>(v2::ExchangeType::kIkeSaInit) && !is_response();
}

std::optional<Refusal> CheckVersion(const std::string& d, Rng* rng, bool speaks_ikev1) {
  if (d.size() < v2::kHeaderSize) {
    return Refusal{"MALFORMED", absl::StrCat("a ", d.size(), "-octet datagram is no IKE message"),
                   std::nullopt};
  }
  const uint8_t major = *v2::MajorVersion(d);
  if (major == 2 || (major == 1 && speaks_ikev1)) return std::nullopt;
  if (major == 1) {
    // No IKEv1 policy configured: say so rather than let the peer
    // retransmit into silence.
    return Refusal{"IKEV1_NOT_CONFIGURED",
                   "an IKEv1 (ISAKMP 1.0) message and no IKEv1 crypto isakmp policy: answered "
                   "NO-PROPOSAL-CHOSEN",
                   v2::Ikev1Refusal(d, rng->U32())};
  }
  return Refusal{"INVALID_MAJOR_VERSION", absl::StrCat("major version ", major),
                 v2::InvalidMajorVersion(d)};
}

CookieVerdict CheckCookie(CookieSecrets& secrets, const std::string& d,
                          const std::string& initiator_address, absl::Time now, std::string* reply,
                          std::string* error) {
  auto m = v2::Decode(d);
  if (!m.ok()) {
    *error = absl::StrCat("IKE_SA_INIT request: ", m.status().message());
    return CookieVerdict::kMalformed;
  }
  const auto* nonce = m->Find<v2::NoncePayload>(v2::PayloadType::kNonce);
  if (nonce == nullptr) return CookieVerdict::kDrop;
  const uint64_t spi_i = m->header.initiator_spi;
  // §2.6: the COOKIE notification comes first when the initiator returns it.
  const auto* first =
      m->payloads.empty() ? nullptr : std::get_if<v2::NotifyPayload>(&m->payloads[0].body);
  if (first != nullptr && first->type == notify::kCookie &&
      secrets.Check(first->data, nonce->data, initiator_address, spi_i, now)) {
    return CookieVerdict::kPass;
  }
  v2::Message r;
  r.header.initiator_spi = spi_i;
  r.header.exchange_type = m->header.exchange_type;
  r.header.flags = v2::kFlagResponse;
  v2::Payload p;
  p.type = static_cast<uint8_t>(v2::PayloadType::kNotify);
  v2::NotifyPayload n;
  n.type = notify::kCookie;
  n.data = secrets.Make(nonce->data, initiator_address, spi_i, now);
  p.body = n;
  r.payloads.push_back(p);
  auto bytes = v2::Encode(r);
  if (!bytes.ok()) return CookieVerdict::kDrop;
  *reply = std::move(*bytes);
  return CookieVerdict::kChallenge;
}

}  // namespace vpnfleet::ike
