// IKE_AUTH (RFC 7296 §1.2, §2.15) with pre-shared keys or certificates
// (RSA and ECDSA, classic or RFC 7427 signatures), carrying the first
// CHILD SA. Each side authenticates by its own method.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/notify.h"
#include "services/ike/sa/payloads.h"

namespace vpnfleet::ike {
namespace {


// §2.15: RestOfIDPayload, the ID payload body after the generic header.
std::string RestOfId(const v2::IdPayload& id) {
  std::string s(4, '\0');
  s[0] = static_cast<char>(id.id_type);
  return s + id.data;
}

}  // namespace

std::optional<SecretBytes> IkeSa::FindPsk(const v2::IdPayload& peer_id) const {
  return FindPreSharedKey(policy_->psks, remote_.address, &peer_id);
}

std::string IkeSa::SignedOctets(bool for_initiator, const v2::IdPayload& id) const {
  // §2.15: InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDi')
  //        ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr')
  const SecretBytes maced =
      prf_->Compute(for_initiator ? sk_pi_.view() : sk_pr_.view(), RestOfId(id));
  std::string octets = for_initiator ? init_request_ : init_response_;
  octets += for_initiator ? nonce_r_ : nonce_i_;
  octets.append(maced.view().data(), maced.size());
  return octets;
}

std::string IkeSa::PskAuth(const SecretBytes& psk, bool for_initiator,
                           const v2::IdPayload& id) const {
  // §2.15: AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
  const SecretBytes pad = prf_->Compute(psk.view(), "Key Pad for IKEv2");
  const SecretBytes auth = prf_->Compute(pad.view(), SignedOctets(for_initiator, id));
  return std::string(auth.view());
}

void IkeSa::ReadHashAlgorithms(const std::vector<v2::Payload>& payloads) {
  const v2::NotifyPayload* n = msg::FindNotify(payloads, notify::kSignatureHashAlgorithms);
  if (n != nullptr) peer_hashes_ = auth::ParseHashAlgorithms(n->data);
}

absl::Status IkeSa::AppendOurAuth(std::vector<v2::Payload>& payloads) {
  const v2::IdPayload& id = policy_->local_id;
  payloads.push_back(msg::Make(initiator_ ? v2::PayloadType::kIdi : v2::PayloadType::kIdr, id));
  v2::AuthPayload auth;
  if (policy_->credential) {
    for (const std::string& der : policy_->credential->chain_der()) {
      payloads.push_back(
          msg::Make(v2::PayloadType::kCert, v2::CertPayload{auth::kCertX509Signature, der}));
    }
    auto signed_auth = policy_->credential->Sign(SignedOctets(initiator_, id), peer_hashes_);
    if (!signed_auth.ok()) {
      return absl::InternalError(absl::StrCat("INTERNAL_ERROR: ", signed_auth.status().message()));
    }
    auth = *std::move(signed_auth);
  } else {
    // The initiator looks its key up by the peer's address; the responder
    // by the identity the initiator just proved.
    auto psk = FindPsk(initiator_ ? v2::IdPayload{} : remote_id_);
    if (!psk) return absl::NotFoundError("NO_PRE_SHARED_KEY: no key for this peer");
    auth = v2::AuthPayload{auth::kAuthSharedKey, PskAuth(*psk, initiator_, id)};
  }
  // §1.2: the initiator's CERTREQ asks the responder for its certificate.
  if (initiator_ && policy_->trust) {
    payloads.push_back(msg::Make(
        v2::PayloadType::kCertReq,
        v2::CertPayload{auth::kCertX509Signature, policy_->trust->certreq_data()}));
  }
  local_auth_method_ = auth.method;
  payloads.push_back(msg::Make(v2::PayloadType::kAuth, std::move(auth)));
  return absl::OkStatus();
}

absl::Status IkeSa::CheckPeerAuth(const std::vector<v2::Payload>& payloads,
                                  const v2::IdPayload& id) {
  const auto* auth = msg::Find<v2::AuthPayload>(payloads, v2::PayloadType::kAuth);
  if (auth == nullptr) return absl::UnauthenticatedError("AUTHENTICATION_FAILED: no AUTH payload");
  const bool peer_is_initiator = !initiator_;
  remote_auth_method_ = auth->method;
  if (auth->method == auth::kAuthSharedKey) {
    auto psk = FindPsk(id);
    if (!psk) return absl::NotFoundError("NO_PRE_SHARED_KEY: no key for this peer");
    const std::string expected = PskAuth(*psk, peer_is_initiator, id);
    if (expected.size() != auth->data.size() ||
        CRYPTO_memcmp(expected.data(), auth->data.data(), expected.size()) != 0) {
      return absl::UnauthenticatedError("AUTHENTICATION_FAILED: pre-shared key mismatch");
    }
    return absl::OkStatus();
  }
  if (!policy_->trust) {
    return absl::UnauthenticatedError(
        absl::StrCat("AUTHENTICATION_FAILED: the peer signs (method ", auth->method,
                     ") but no trustpoint is configured"));
  }
  std::vector<const v2::CertPayload*> certs;
  for (const v2::Payload& p : payloads) {
    if (p.type != static_cast<uint8_t>(v2::PayloadType::kCert)) continue;
    if (const auto* c = std::get_if<v2::CertPayload>(&p.body)) certs.push_back(c);
  }
  auth::OcspQuery ask;
  auto verified =
      policy_->trust->Verify(certs, env_.clock->Now(), revocation_asked_ ? nullptr : &ask);
  if (verified.status().code() == absl::StatusCode::kUnavailable && !ask.key.empty()) {
    parked_auth_ = std::make_unique<ParkedAuth>();
    parked_auth_->query = std::move(ask);
    return verified.status();
  }
  if (!verified.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("CERTIFICATE_UNTRUSTED: ", verified.status().message()));
  }
  remote_subject_ = verified->subject;
  remote_key_ec_ = EVP_PKEY_get_base_id(X509_get0_pubkey(verified->leaf.get())) == EVP_PKEY_EC;
  if (absl::Status s = auth::IdMatchesCertificate(id, verified->leaf.get()); !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("ID_MISMATCH: ", s.message()));
  }
  if (absl::Status s = auth::VerifySignature(verified->leaf.get(), *auth,
                                             SignedOctets(peer_is_initiator, id));
      !s.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("AUTHENTICATION_FAILED: ", s.message()));
  }
  return absl::OkStatus();
}

namespace {
// "REASON: detail" → {REASON, detail}.
std::pair<std::string, std::string> ReasonOf(const absl::Status& s) {
  const absl::string_view m = s.message();
  const size_t colon = m.find(": ");
  if (colon == absl::string_view::npos) return {std::string(m), ""};
  return {std::string(m.substr(0, colon)), std::string(m.substr(colon + 2))};
}
}  // namespace

void IkeSa::SendAuth(Actions& out) {
  std::vector<v2::Payload> payloads;
  if (absl::Status s = AppendOurAuth(payloads); !s.ok()) {
    auto [reason, detail] = ReasonOf(s);
    Fail(reason, out, detail);
    return;
  }
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
  auto refuse = [&](const absl::Status& why) {
    (void)SendResponse(exchange, mid, {msg::Notify(notify::kAuthenticationFailed)}, out);
    auto [reason, detail] = ReasonOf(why);
    Fail(reason, out, detail);
  };
  const auto* idi = msg::Find<v2::IdPayload>(payloads, v2::PayloadType::kIdi);
  if (idi == nullptr || msg::Find<v2::AuthPayload>(payloads, v2::PayloadType::kAuth) == nullptr) {
    // EAP (no AUTH from the initiator) is not offered.
    refuse(absl::UnauthenticatedError("AUTHENTICATION_FAILED: no IDi or AUTH (EAP is not offered)"));
    return;
  }
  remote_id_ = *idi;
  if (absl::Status s = CheckPeerAuth(payloads, *idi); !s.ok()) {
    if (parked_auth_) {
      ParkAuth(true, mid, payloads, out);
      return;
    }
    refuse(s);
    return;
  }
  std::vector<v2::Payload> reply;
  if (absl::Status s = AppendOurAuth(reply); !s.ok()) {
    refuse(s);
    return;
  }
  Actions installs;
  const auto* cp = msg::Find<v2::CpPayload>(payloads, v2::PayloadType::kCp);
  if (cp != nullptr && cp->cfg_type == v2::kCfgRequest) {
    // §3.15.4: a peer asking for an address (a remote-access client, or
    // strongSwan's `vips`) gets INTERNAL_ADDRESS_FAILURE: we assign none.
    // The IKE SA still comes up; its CHILD SA is not made.
    reply.push_back(msg::Notify(notify::kInternalAddressFailure));
    installs.push_back(action::Failed{
        "CHILD_SA INTERNAL_ADDRESS_FAILURE",
        "the peer asked for a virtual IP (CP CFG_REQUEST); vpnfleet assigns no addresses"});
  } else if (msg::Find<v2::SaPayload>(payloads, v2::PayloadType::kSa) != nullptr) {
    RespondChild(payloads, nonce_i_, nonce_r_, std::nullopt, true, 0, reply, installs);
  }
  if (!SendResponse(exchange, mid, reply, out).ok()) {
    Fail("INTERNAL_ERROR", out);
    return;
  }
  Establish(msg::FindNotify(payloads, notify::kInitialContact) != nullptr, out);
  out.insert(out.end(), installs.begin(), installs.end());
  ForgetSetupState();
}

void IkeSa::HandleAuthResponse(const std::vector<v2::Payload>& payloads, Actions& out) {
  const auto* idr = msg::Find<v2::IdPayload>(payloads, v2::PayloadType::kIdr);
  if (idr == nullptr || msg::Find<v2::AuthPayload>(payloads, v2::PayloadType::kAuth) == nullptr) {
    const v2::NotifyPayload* err = msg::FirstError(payloads);
    Fail(err != nullptr ? notify::Name(err->type) : "AUTHENTICATION_FAILED", out,
         "the responder refused our authentication");
    return;
  }
  remote_id_ = *idr;
  if (absl::Status s = CheckPeerAuth(payloads, *idr); !s.ok()) {
    if (parked_auth_) {
      ParkAuth(false, 0, payloads, out);
      return;
    }
    // §2.21.2: the IKE SA is not established; tell the peer and go.
    auto [reason, detail] = ReasonOf(s);
    Fail(reason, out, detail);
    return;
  }
  Establish(false, out);
  AcceptChild(*auth_child_, payloads, nonce_i_, nonce_r_, true, out);
  auth_child_.reset();
  ForgetSetupState();
}

void IkeSa::ParkAuth(bool request, uint32_t mid, const std::vector<v2::Payload>& payloads,
                     Actions& out) {
  revocation_asked_ = true;
  parked_auth_->request = request;
  parked_auth_->mid = mid;
  parked_auth_->payloads = payloads;
  parked_auth_->deadline = env_.clock->Now() + kRevocationWait;
  out.emplace_back(std::in_place_type<action::CheckRevocation>,
                   action::CheckRevocation{std::move(parked_auth_->query)});
}

void IkeSa::ResumeAuth(Actions& out) {
  std::unique_ptr<ParkedAuth> parked = std::move(parked_auth_);
  if (!parked) return;
  if (parked->request && state_ == IkeState::kInitDone) {
    HandleAuthRequest(parked->mid, parked->payloads, out);
  } else if (!parked->request && state_ == IkeState::kAuthSent) {
    HandleAuthResponse(parked->payloads, out);
  }
}

Actions IkeSa::RevocationAnswered() {
  Actions out;
  ResumeAuth(out);
  PumpQueue(out);
  return out;
}

void IkeSa::ForgetSetupState() {
  // What only IKE_SA_INIT and IKE_AUTH needed (the signed octets, the DH
  // private value) goes: an established SA is kept small, and fewer secrets
  // stay in memory.
  std::string().swap(init_request_);
  std::string().swap(init_response_);
  std::string().swap(cookie_);
  std::string().swap(nonce_i_);
  std::string().swap(nonce_r_);
  dh_.reset();
  sk_pi_ = SecretBytes();
  sk_pr_ = SecretBytes();
}

void IkeSa::Establish(bool initial_contact, Actions& out) {
  const absl::Time now = env_.clock->Now();
  established_at_ = now;
  // Lifetime with jitter (up to 10% shorter), so that a fleet started at
  // once does not re-key at once.
  const int64_t jitter_ms = absl::ToInt64Milliseconds(policy_->ike_lifetime) / 10;
  const int64_t j = jitter_ms > 0 ? static_cast<int64_t>(env_.rng->U64() % uint64_t(jitter_ms)) : 0;
  expires_at_ = now + policy_->ike_lifetime - absl::Milliseconds(j);
  // Re-key at 90% of that (§2.8: before the hard lifetime); the peer with
  // the shorter lifetime goes first, which keeps collisions rare.
  ike_rekey_at_ = now + (expires_at_ - now) * 9 / 10;
  if (nat_local_) next_keepalive_ = now + policy_->nat_keepalive;
  SetState(IkeState::kEstablished, out);
  action::Established e;
  e.initial_contact = initial_contact;
  out.emplace_back(std::in_place_type<action::Established>, e);
}

}  // namespace vpnfleet::ike
