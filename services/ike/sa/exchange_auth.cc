// IKE_AUTH (RFC 7296 §1.2, §2.15) with pre-shared keys, carrying the first
// CHILD SA. Certificates come with the trustpoint work.
#include <openssl/crypto.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/notify.h"
#include "services/ike/sa/payloads.h"

namespace vpnfleet::ike {
namespace {

constexpr uint8_t kAuthSharedKeyMic = 2;
constexpr uint8_t kIdFqdn = 2;

// §2.15: RestOfIDPayload, the ID payload body after the generic header.
std::string RestOfId(const v2::IdPayload& id) {
  std::string s(4, '\0');
  s[0] = static_cast<char>(id.id_type);
  return s + id.data;
}

}  // namespace

std::optional<SecretBytes> IkeSa::FindPsk(const v2::IdPayload& peer_id) const {
  // A key for the peer's name wins; otherwise the longest address match,
  // like IOS's `crypto isakmp key ... address` lookup.
  if (peer_id.id_type == kIdFqdn) {
    for (const PskEntry& e : policy_->psks) {
      if (!e.hostname.empty() && absl::EqualsIgnoreCase(e.hostname, peer_id.data)) return e.key;
    }
  }
  const PskEntry* best = nullptr;
  for (const PskEntry& e : policy_->psks) {
    if (e.address && e.address->Contains(remote_.address) &&
        (best == nullptr || e.address->length > best->address->length)) {
      best = &e;
    }
  }
  if (best != nullptr) return best->key;
  return std::nullopt;
}

absl::StatusOr<std::string> IkeSa::PskAuth(const SecretBytes& psk, bool for_initiator,
                                           const v2::IdPayload& id) const {
  // §2.15: AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
  //   InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDi')
  //   ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr')
  const SecretBytes maced =
      prf_->Compute(for_initiator ? sk_pi_.view() : sk_pr_.view(), RestOfId(id));
  std::string octets = for_initiator ? init_request_ : init_response_;
  octets += for_initiator ? nonce_r_ : nonce_i_;
  octets.append(maced.view().data(), maced.size());
  const SecretBytes pad = prf_->Compute(psk.view(), "Key Pad for IKEv2");
  const SecretBytes auth = prf_->Compute(pad.view(), octets);
  return std::string(auth.view());
}

void IkeSa::SendAuth(Actions& out) {
  auto psk = FindPsk(v2::IdPayload{});
  if (!psk) {
    Fail("NO_PRE_SHARED_KEY", out);
    return;
  }
  auto auth = PskAuth(*psk, true, policy_->local_id);
  if (!auth.ok()) {
    Fail("INTERNAL_ERROR", out);
    return;
  }
  std::vector<v2::Payload> payloads;
  payloads.push_back(msg::Make(v2::PayloadType::kIdi, policy_->local_id));
  payloads.push_back(msg::Make(v2::PayloadType::kAuth, v2::AuthPayload{kAuthSharedKeyMic, *auth}));
  if (policy_->initial_contact) payloads.push_back(msg::Notify(notify::kInitialContact));
  for (v2::Payload& p : OfferChild(*auth_child_, true)) payloads.push_back(std::move(p));
  SetState(IkeState::kAuthSent, out);
  if (!SendRequest(static_cast<uint8_t>(v2::ExchangeType::kIkeAuth), payloads,
                   Pending::Kind::kSetup, out)
           .ok()) {
    Fail("INTERNAL_ERROR", out);
  }
}

void IkeSa::HandleAuthRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                              Actions& out) {
  const uint8_t exchange = static_cast<uint8_t>(v2::ExchangeType::kIkeAuth);
  auto refuse = [&](const char* reason) {
    (void)SendResponse(exchange, mid, {msg::Notify(notify::kAuthenticationFailed)}, out);
    Fail(reason, out);
  };
  const auto* idi = msg::Find<v2::IdPayload>(payloads, v2::PayloadType::kIdi);
  const auto* auth = msg::Find<v2::AuthPayload>(payloads, v2::PayloadType::kAuth);
  if (idi == nullptr || auth == nullptr) {
    // EAP (no AUTH from the initiator) is not offered.
    refuse("AUTHENTICATION_FAILED");
    return;
  }
  remote_id_ = *idi;
  if (auth->method != kAuthSharedKeyMic) {
    refuse("AUTHENTICATION_FAILED");
    return;
  }
  auto psk = FindPsk(*idi);
  if (!psk) {
    refuse("NO_PRE_SHARED_KEY");
    return;
  }
  auto expected = PskAuth(*psk, true, *idi);
  if (!expected.ok() || expected->size() != auth->data.size() ||
      CRYPTO_memcmp(expected->data(), auth->data.data(), expected->size()) != 0) {
    refuse("AUTHENTICATION_FAILED");
    return;
  }
  auto mine = PskAuth(*psk, false, policy_->local_id);
  if (!mine.ok()) {
    refuse("INTERNAL_ERROR");
    return;
  }
  std::vector<v2::Payload> reply;
  reply.push_back(msg::Make(v2::PayloadType::kIdr, policy_->local_id));
  reply.push_back(msg::Make(v2::PayloadType::kAuth, v2::AuthPayload{kAuthSharedKeyMic, *mine}));
  Actions installs;
  if (msg::Find<v2::SaPayload>(payloads, v2::PayloadType::kSa) != nullptr) {
    RespondChild(payloads, nonce_i_, nonce_r_, std::nullopt, true, 0, reply, installs);
  }
  if (!SendResponse(exchange, mid, reply, out).ok()) {
    Fail("INTERNAL_ERROR", out);
    return;
  }
  bool contact = false;
  for (const v2::Payload& p : payloads) {
    const auto* n = std::get_if<v2::NotifyPayload>(&p.body);
    contact |= n != nullptr && n->type == notify::kInitialContact;
  }
  Establish(contact, out);
  out.insert(out.end(), installs.begin(), installs.end());
}

void IkeSa::HandleAuthResponse(const std::vector<v2::Payload>& payloads, Actions& out) {
  const auto* idr = msg::Find<v2::IdPayload>(payloads, v2::PayloadType::kIdr);
  const auto* auth = msg::Find<v2::AuthPayload>(payloads, v2::PayloadType::kAuth);
  if (idr == nullptr || auth == nullptr) {
    const v2::NotifyPayload* err = msg::FirstError(payloads);
    Fail(err != nullptr ? notify::Name(err->type) : "AUTHENTICATION_FAILED", out);
    return;
  }
  remote_id_ = *idr;
  auto psk = FindPsk(*idr);
  auto expected = psk ? PskAuth(*psk, false, *idr) : absl::StatusOr<std::string>(std::string());
  if (!psk || auth->method != kAuthSharedKeyMic || !expected.ok() ||
      expected->size() != auth->data.size() ||
      CRYPTO_memcmp(expected->data(), auth->data.data(), expected->size()) != 0) {
    // §2.21.2: the IKE SA is not established; tell the peer and go.
    Fail("AUTHENTICATION_FAILED", out);
    return;
  }
  Establish(false, out);
  AcceptChild(*auth_child_, payloads, nonce_i_, nonce_r_, true, out);
  auth_child_.reset();
}

void IkeSa::Establish(bool initial_contact, Actions& out) {
  const absl::Time now = env_.clock->Now();
  established_at_ = now;
  // Lifetime with jitter (up to 10% shorter), so that a fleet started at
  // once does not re-key at once.
  const int64_t jitter_ms = absl::ToInt64Milliseconds(policy_->ike_lifetime) / 10;
  const int64_t j = jitter_ms > 0 ? static_cast<int64_t>(env_.rng->U64() % uint64_t(jitter_ms)) : 0;
  expires_at_ = now + policy_->ike_lifetime - absl::Milliseconds(j);
  if (nat_local_) next_keepalive_ = now + policy_->nat_keepalive;
  SetState(IkeState::kEstablished, out);
  action::Established e;
  e.initial_contact = initial_contact;
  out.emplace_back(std::in_place_type<action::Established>, e);
}

}  // namespace vpnfleet::ike
