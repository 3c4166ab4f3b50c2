// Ikev1Sa, part: phase 1 (RFC 2409 §5), Main Mode and Aggressive Mode with
// pre-shared keys (§5.4), signatures (§5.1: RSA, and ECDSA per RFC 4754)
// or RSA-encrypted nonces (§5.2); the floating to port 4500 (RFC 3947)
// once ikev1_nat.cc's detection says so.
//
//   Main Mode                          Aggressive Mode
//   1 I->R  SA, VID                    1 I->R  SA, KE, Ni, IDii, VID [CR]
//   2 R->I  SA, VID                    2 R->I  SA, KE, Nr, IDir, AUTH_R, VID, NAT-D [CR]
//   3 I->R  KE, Ni, NAT-D [CR]         3 I->R  AUTH_I, NAT-D
//   4 R->I  KE, Nr, NAT-D [CR]
//   5 I->R  *IDii, AUTH_I [N(INITIAL-CONTACT)]     (* encrypted, on 4500 behind NAT)
//   6 R->I  *IDir, AUTH_R
//
// AUTH is HASH with a pre-shared key, [CERT...] SIG with a signature
// method; CR names our trust anchors when the method signs. With
// encrypted nonces (rsa-encr) the ID and nonce bodies go encrypted to the
// peer's RSA key in messages 3 and 4 (Aggressive Mode: 1 and 2), and 5/6
// carry the HASH alone:
//   3 I->R  KE, <IDii_b>PubKey_r, <Ni_b>PubKey_r, NAT-D
//   4 R->I  KE, <IDir_b>PubKey_i, <Nr_b>PubKey_i, NAT-D
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "services/ike/auth/certificates.h"
#include "services/ike/sa/ikev1_ids.h"
#include "services/ike/sa/ikev1_payloads.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {
namespace {

using isakmp::Exchange;
using isakmp::Payload;
using isakmp::PayloadType;
using ikev1::All;
using ikev1::BodyOf;
using ikev1::DataOf;
using ikev1::First;

// Why the peer's key exchange was refused: a decryption or identity
// failure (rsa-encr) is one of authentication.
const char* KeyExchangeRefusal(const absl::Status& s) {
  return s.code() == absl::StatusCode::kPermissionDenied ||
                 s.code() == absl::StatusCode::kFailedPrecondition
             ? "AUTHENTICATION_FAILED"
             : "MALFORMED";
}

}  // namespace

// --- starting ---

Actions Ikev1Sa::StartMain() {
  Actions out;
  if (policy_->ikev1_policies.empty()) {
    Fail("NO_PROPOSAL_CHOSEN", out, "no IKEv1 crypto isakmp policy");
    return out;
  }
  Payload sa = isakmp::MakeSa(ikev1::Phase1Offer(policy_->ikev1_policies));
  sai_b_ = BodyOf(sa);
  std::vector<Payload> p{std::move(sa)};
  AppendVendorIds(p);
  if (SendPhase1(p, false, true, out)) SetV1State(Ikev1State::kMmNoState, out);
  return out;
}

Actions Ikev1Sa::StartAggressive() {
  Actions out;
  if (policy_->ikev1_policies.empty()) {
    Fail("NO_PROPOSAL_CHOSEN", out, "no IKEv1 crypto isakmp policy");
    return out;
  }
  // The first message carries the key exchange: every policy offered must
  // share the first one's group and method.
  const ikev1::Phase1Policy& first = policy_->ikev1_policies.front();
  std::vector<ikev1::Phase1Policy> same;
  for (const ikev1::Phase1Policy& pol : policy_->ikev1_policies) {
    if (pol.group == first.group && pol.auth == first.auth) same.push_back(pol);
  }
  auto dh = DhExchange::Generate(first.group, policy_->allow_legacy);
  if (!dh.ok()) {
    Fail("NO_PROPOSAL_CHOSEN", out, std::string(dh.status().message()));
    return out;
  }
  dh_ = std::move(*dh);
  gxi_ = dh_->public_value();
  ni_ = Nonce();
  Payload sa = isakmp::MakeSa(ikev1::Phase1Offer(same));
  sai_b_ = BodyOf(sa);
  std::vector<Payload> p{std::move(sa), isakmp::MakeData(PayloadType::kKe, gxi_)};
  if (first.auth == ikev1::kAuthRsaEncr) {
    if (!AppendEncryptedIdAndNonce(ni_, p, out)) return out;
  } else {
    Payload id = isakmp::MakeId(ikev1::Phase1Id(policy_->local_id));
    id_i_b_ = BodyOf(id);
    p.push_back(isakmp::MakeData(PayloadType::kNonce, ni_));
    p.push_back(std::move(id));
  }
  AppendVendorIds(p);
  AppendCertRequests(first.auth, p);
  if (SendPhase1(p, false, true, out)) SetV1State(Ikev1State::kAgNoState, out);
  return out;
}

// --- receiving ---

void Ikev1Sa::ReceivePhase1(const isakmp::Framed& f, absl::string_view datagram, Actions& out) {
  if (parked_) {
    // Waiting for the OCSP answer on the peer's last message: its repeats
    // change nothing.
    ++stats_.dropped;
    return;
  }
  if (!last_received_.empty() && datagram == last_received_) {
    // The peer did not hear our answer: the same octets again.
    if (!last_sent_.datagram.empty()) {
      ++stats_.retransmits;
      SendRaw(last_sent_.datagram, out);
    }
    return;
  }
  const bool aggressive = f.header.exchange == static_cast<uint8_t>(Exchange::kAggressive);
  const bool fresh = !initiator_ && !p1_;
  if (fresh) {
    if (aggressive && !policy_->aggressive_mode) {
      // `crypto isakmp aggressive-mode disable`: not even an answer that
      // would reveal the hash of a pre-shared key.
      Fail("AGGRESSIVE_MODE_DISABLED", out);
      return;
    }
    aggressive_ = aggressive;
  } else if (aggressive != aggressive_ || v1state_ == Ikev1State::kQmIdle) {
    ++stats_.dropped;
    return;
  }
  // Which message of the exchange this is, from our role and state.
  int n = 0;
  if (aggressive_) {
    n = fresh ? 1 : initiator_ && v1state_ == Ikev1State::kAgNoState ? 2
        : !initiator_ && v1state_ == Ikev1State::kAgInitExch ? 3 : 0;
  } else if (initiator_) {
    n = v1state_ == Ikev1State::kMmNoState ? 2 : v1state_ == Ikev1State::kMmSaSetup ? 4
        : v1state_ == Ikev1State::kMmKeyAuth ? 6 : 0;
  } else {
    n = fresh ? 1 : v1state_ == Ikev1State::kMmSaSetup ? 3
        : v1state_ == Ikev1State::kMmKeyExch ? 5 : 0;
  }
  if (n == 0) {
    ++stats_.dropped;
    return;
  }
  const bool encrypted = (f.header.flags & isakmp::kFlagEncrypted) != 0;
  // Main Mode 5 and 6 are always encrypted; nothing before them can be.
  if ((!aggressive_ && (n >= 5) != encrypted) || (aggressive_ && n < 3 && encrypted)) {
    ++stats_.dropped;
    return;
  }
  absl::StatusOr<std::vector<Payload>> payloads =
      encrypted ? OpenWith(f, &iv_)
                : isakmp::DecodePayloads(f.header.next_payload, f.body, false);
  if (!payloads.ok()) {
    ++stats_.dropped;
    if (encrypted) {
      // What IOS reports as a probable pre-shared key mismatch: the keys
      // differ, so the peer's message decrypts to noise.
      Fail("AUTHENTICATION_FAILED", out,
           !EncryptsNonces() ? "encrypted message does not decrypt: probable pre-shared key mismatch"
           : peer_nonce_unreadable_
               ? "encrypted message does not decrypt: the peer's nonce did not decrypt with our "
                 "RSA key (it holds another public key of ours)"
               : "encrypted message does not decrypt: the keys differ (a pubkey-chain holds a "
                 "wrong key)");
    }
    return;
  }
  if (encrypted) p1_last_block_ = iv_;
  if (initiator_ && n == 2) spi_r_ = f.header.responder_cookie;
  last_received_ = std::string(datagram);
  if (aggressive_) {
    AggressiveMessage(n, *payloads, out);
  } else {
    MainMessage(n, *payloads, out);
  }
}

void Ikev1Sa::MainMessage(int n, const std::vector<Payload>& p, Actions& out) {
  switch (n) {
    case 1: {
      const Payload* sa = First(p, PayloadType::kSa);
      if (sa == nullptr) {
        Fail("MALFORMED", out, "Main Mode 1 without SA");
        return;
      }
      ReadVendorIds(p);
      auto choice = ikev1::ChoosePhase1(std::get<isakmp::SaPayload>(sa->body),
                                        policy_->ikev1_policies, policy_->allow_legacy);
      if (!choice) {
        isakmp::NotificationPayload no;
        no.type = kV1NoProposalChosen;
        no.spi = Cookies();
        auto d = Plain(static_cast<uint8_t>(Exchange::kInformational),
                       {isakmp::MakeNotification(no)});
        if (d.ok()) SendRaw(std::move(*d), out);
        Fail("NO_PROPOSAL_CHOSEN", out, "no crypto isakmp policy matches the offer");
        return;
      }
      if (auto s = TakeSuite(choice->suite); !s.ok()) {
        Fail("NO_PROPOSAL_CHOSEN", out, std::string(s.message()));
        return;
      }
      sai_b_ = std::string(sa->raw_body());
      std::vector<Payload> reply{isakmp::MakeSa(std::move(choice->reply))};
      AppendVendorIds(reply);
      if (!SendPhase1(reply, false, false, out)) return;
      SetV1State(Ikev1State::kMmSaSetup, out);
      return;
    }
    case 2: {
      const Payload* sa = First(p, PayloadType::kSa);
      if (sa == nullptr) {
        Fail("MALFORMED", out, "Main Mode 2 without SA");
        return;
      }
      auto suite = ikev1::CheckPhase1Reply(std::get<isakmp::SaPayload>(sa->body),
                                           policy_->ikev1_policies);
      if (!suite.ok()) {
        Fail("NO_PROPOSAL_CHOSEN", out, std::string(suite.status().message()));
        return;
      }
      if (auto s = TakeSuite(*suite); !s.ok()) {
        Fail("NO_PROPOSAL_CHOSEN", out, std::string(s.message()));
        return;
      }
      ReadVendorIds(p);
      if (!NewDh(out)) return;
      gxi_ = dh_->public_value();
      ni_ = Nonce();
      std::vector<Payload> m3{isakmp::MakeData(PayloadType::kKe, gxi_)};
      if (EncryptsNonces()) {
        if (!AppendEncryptedIdAndNonce(ni_, m3, out)) return;
      } else {
        m3.push_back(isakmp::MakeData(PayloadType::kNonce, ni_));
      }
      AppendCertRequests(p1_->auth, m3);
      for (Payload& x : NatDetection()) m3.push_back(std::move(x));
      if (!SendPhase1(m3, false, true, out)) return;
      SetV1State(Ikev1State::kMmSaSetup, out);
      return;
    }
    case 3:
    case 4: {
      if (auto s = TakePeerKeyExchange(p); !s.ok()) {
        Fail(KeyExchangeRefusal(s), out, std::string(s.message()));
        return;
      }
      CheckNat(p);
      if (n == 3) {
        if (!NewDh(out)) return;
        gxr_ = dh_->public_value();
        nr_ = Nonce();
      }
      // Main Mode finds the pre-shared key by the peer's address: its
      // identity is only sent once encrypted under that key.
      if (!TakePsk(nullptr, out)) return;
      if (auto s = DeriveKeys(); !s.ok()) {
        Fail("INVALID_KE_PAYLOAD", out, std::string(s.message()));
        return;
      }
      if (n == 3) {
        std::vector<Payload> m4{isakmp::MakeData(PayloadType::kKe, gxr_)};
        if (EncryptsNonces()) {
          if (!AppendEncryptedIdAndNonce(nr_, m4, out)) return;
        } else {
          m4.push_back(isakmp::MakeData(PayloadType::kNonce, nr_));
        }
        AppendCertRequests(p1_->auth, m4);
        for (Payload& x : NatDetection()) m4.push_back(std::move(x));
        if (!SendPhase1(m4, false, false, out)) return;
        SetV1State(Ikev1State::kMmKeyExch, out);
        return;
      }
      // RFC 3947 §4: behind a NAT, the initiator moves to port 4500 for
      // message 5 on.
      if ((nat_local_ || nat_remote_) && peer_nat_t_) {
        local_.port = kNatTPort;
        remote_.port = kNatTPort;
      }
      std::vector<Payload> m5 = OurIdAndAuth(policy_->initial_contact && initial_contact_, out);
      if (m5.empty() || !SendPhase1(m5, true, true, out)) return;
      SetV1State(Ikev1State::kMmKeyAuth, out);
      return;
    }
    case 5:
    case 6: {
      if (auto s = CheckPeerAuth(p); !s.ok()) {
        if (!Park(s, n, p, out)) Fail("AUTHENTICATION_FAILED", out, std::string(s.message()));
        return;
      }
      bool initial_contact = false;
      for (const Payload* x : All(p, PayloadType::kNotification)) {
        const auto& nt = std::get<isakmp::NotificationPayload>(x->body);
        initial_contact = initial_contact || nt.type == kV1InitialContact;
      }
      if (n == 5) {
        std::vector<Payload> m6 = OurIdAndAuth(false, out);
        if (m6.empty() || !SendPhase1(m6, true, false, out)) return;
      } else {
        last_sent_ = Retransmit{};
      }
      EstablishPhase1(initial_contact, out);
      return;
    }
  }
}

void Ikev1Sa::AggressiveMessage(int n, const std::vector<Payload>& p, Actions& out) {
  if (n == 1) {
    const Payload* sa = First(p, PayloadType::kSa);
    const Payload* id = First(p, PayloadType::kId);
    if (sa == nullptr || id == nullptr) {
      Fail("MALFORMED", out, "Aggressive Mode 1 without SA or ID");
      return;
    }
    ReadVendorIds(p);
    auto choice = ikev1::ChoosePhase1(std::get<isakmp::SaPayload>(sa->body),
                                      policy_->ikev1_policies, policy_->allow_legacy);
    if (!choice) {
      Fail("NO_PROPOSAL_CHOSEN", out, "no crypto isakmp policy matches the offer");
      return;
    }
    if (auto s = TakeSuite(choice->suite); !s.ok()) {
      Fail("NO_PROPOSAL_CHOSEN", out, std::string(s.message()));
      return;
    }
    if (auto s = TakePeerKeyExchange(p); !s.ok()) {
      Fail(KeyExchangeRefusal(s), out, std::string(s.message()));
      return;
    }
    sai_b_ = std::string(sa->raw_body());
    if (!EncryptsNonces()) {
      id_i_b_ = std::string(id->raw_body());
      remote_id_ = ikev1::Phase1IdOf(std::get<isakmp::IdPayload>(id->body));
    }
    if (!TakePsk(&remote_id_, out)) return;
    if (!NewDh(out)) return;
    gxr_ = dh_->public_value();
    nr_ = Nonce();
    if (auto s = DeriveKeys(); !s.ok()) {
      Fail("INVALID_KE_PAYLOAD", out, std::string(s.message()));
      return;
    }
    std::vector<Payload> m2{isakmp::MakeSa(std::move(choice->reply)),
                            isakmp::MakeData(PayloadType::kKe, gxr_)};
    if (EncryptsNonces()) {
      if (!AppendEncryptedIdAndNonce(nr_, m2, out)) return;
    } else {
      Payload our_id = isakmp::MakeId(ikev1::Phase1Id(policy_->local_id));
      id_r_b_ = BodyOf(our_id);
      m2.push_back(isakmp::MakeData(PayloadType::kNonce, nr_));
      m2.push_back(std::move(our_id));
    }
    if (!AppendOurAuth(id_r_b_, m2, out)) return;
    AppendCertRequests(p1_->auth, m2);
    AppendVendorIds(m2);
    for (Payload& x : NatDetection()) m2.push_back(std::move(x));
    if (!SendPhase1(m2, false, false, out)) return;
    SetV1State(Ikev1State::kAgInitExch, out);
    return;
  }
  if (n == 2) {
    const Payload* sa = First(p, PayloadType::kSa);
    if (sa == nullptr) {
      Fail("MALFORMED", out, "Aggressive Mode 2 without SA");
      return;
    }
    auto suite = ikev1::CheckPhase1Reply(std::get<isakmp::SaPayload>(sa->body),
                                         policy_->ikev1_policies);
    // Message 1 offered one group and one method (the first policy's): an
    // answer with another policy's is refused, not followed.
    const uint16_t offered = policy_->ikev1_policies.front().auth;
    if (!suite.ok() || suite->group != dh_->group() ||
        !(suite->auth == offered ||
          (ikev1::IsEcdsaMethod(suite->auth) && ikev1::IsEcdsaMethod(offered)))) {
      Fail("NO_PROPOSAL_CHOSEN", out,
           suite.ok() ? "answer changed the group or the authentication method"
                      : std::string(suite.status().message()));
      return;
    }
    if (auto s = TakeSuite(*suite); !s.ok()) {
      Fail("NO_PROPOSAL_CHOSEN", out, std::string(s.message()));
      return;
    }
    ReadVendorIds(p);
    if (auto s = TakePeerKeyExchange(p); !s.ok()) {
      Fail(KeyExchangeRefusal(s), out, std::string(s.message()));
      return;
    }
    const Payload* id = EncryptsNonces() ? nullptr : First(p, PayloadType::kId);
    if (id != nullptr) remote_id_ = ikev1::Phase1IdOf(std::get<isakmp::IdPayload>(id->body));
    if (!TakePsk(id != nullptr ? &remote_id_ : nullptr, out)) return;
    if (auto s = DeriveKeys(); !s.ok()) {
      Fail("INVALID_KE_PAYLOAD", out, std::string(s.message()));
      return;
    }
    if (auto s = CheckPeerAuth(p); !s.ok()) {
      if (!Park(s, n, p, out)) Fail("AUTHENTICATION_FAILED", out, std::string(s.message()));
      return;
    }
    CheckNat(p);
    if ((nat_local_ || nat_remote_) && peer_nat_t_) {
      local_.port = kNatTPort;
      remote_.port = kNatTPort;
    }
    std::vector<Payload> m3;
    if (!AppendOurAuth(id_i_b_, m3, out)) return;
    for (Payload& x : NatDetection()) m3.push_back(std::move(x));
    // The last message of the exchange: answered again only if the peer
    // repeats its second one.
    if (!SendPhase1(m3, false, false, out)) return;
    EstablishPhase1(false, out);
    return;
  }
  // n == 3
  CheckNat(p);
  if (auto s = CheckPeerAuth(p); !s.ok()) {
    if (!Park(s, n, p, out)) Fail("AUTHENTICATION_FAILED", out, std::string(s.message()));
    return;
  }
  last_sent_ = Retransmit{};
  EstablishPhase1(false, out);
}

// --- helpers ---

bool Ikev1Sa::SendPhase1(const std::vector<Payload>& payloads, bool encrypt, bool on_timer,
                         Actions& out) {
  const uint8_t exchange = static_cast<uint8_t>(aggressive_ ? Exchange::kAggressive
                                                            : Exchange::kIdentityProtection);
  auto d = encrypt ? SealPhase1(exchange, payloads) : Plain(exchange, payloads);
  if (!d.ok()) {
    Fail("INTERNAL", out, std::string(d.status().message()));
    return false;
  }
  Remember(std::move(*d), on_timer, out);
  return true;
}

bool Ikev1Sa::NewDh(Actions& out) {
  auto dh = DhExchange::Generate(p1_->group, policy_->allow_legacy);
  if (!dh.ok()) {
    Fail("NO_PROPOSAL_CHOSEN", out, std::string(dh.status().message()));
    return false;
  }
  dh_ = std::move(*dh);
  return true;
}

absl::Status Ikev1Sa::TakePeerKeyExchange(const std::vector<Payload>& p) {
  const std::string* ke = DataOf(p, PayloadType::kKe);
  const std::string* nonce = DataOf(p, PayloadType::kNonce);
  if (ke == nullptr || nonce == nullptr) return absl::InvalidArgumentError("no KE or nonce");
  // RFC 2409 §5: nonces of 8 to 256 octets (an encrypted one: once decrypted).
  if (!EncryptsNonces() && (nonce->size() < 8 || nonce->size() > 256)) {
    return absl::InvalidArgumentError("nonce of the wrong size");
  }
  const uint16_t group = p1_ ? p1_->group : 0;
  if (ke->size() != DhExchange::PublicValueSize(group)) {
    return absl::InvalidArgumentError(absl::StrCat("KE of ", ke->size(), " octets for group ",
                                                   group));
  }
  (initiator_ ? gxr_ : gxi_) = *ke;
  if (EncryptsNonces()) return TakeEncryptedIdAndNonce(p);
  (initiator_ ? nr_ : ni_) = *nonce;
  return absl::OkStatus();
}

absl::Status Ikev1Sa::TakeSuite(const ikev1::Phase1Suite& suite) {
  if (ikev1::IsSignatureMethod(suite.auth)) {
    const auto& cred = policy_->ikev1_credential;
    if (!cred || !policy_->trust) {
      return absl::FailedPreconditionError(absl::StrCat(
          "phase-1 authentication ", ikev1::AuthMethodName(suite.auth),
          " needs an enrolled trustpoint and its CA"));
    }
    if ((suite.auth == ikev1::kAuthRsaSig) != cred->is_rsa()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "phase-1 authentication ", ikev1::AuthMethodName(suite.auth), " but trustpoint ",
          cred->trustpoint(), " holds ", cred->is_rsa() ? "an RSA" : "an ECDSA", " key"));
    }
  } else if (suite.auth == ikev1::kAuthRsaEncr) {
    if (!policy_->ikev1_rsa_key) {
      return absl::FailedPreconditionError(
          "phase-1 authentication rsa-encr needs an RSA key pair (a trustpoint's key.pem)");
    }
  } else if (suite.auth != ikev1::kAuthPsk) {
    return absl::UnimplementedError(absl::StrCat("phase-1 authentication ",
                                                 ikev1::AuthMethodName(suite.auth),
                                                 " is not offered by this daemon yet"));
  }
  auto hash = ikev1::Hash::ForId(suite.hash, policy_->allow_legacy);
  if (!hash.ok()) return hash.status();
  auto cipher = ikev1::Cipher::Create(suite.encr, suite.key_bits, policy_->allow_legacy);
  if (!cipher.ok()) return cipher.status();
  if (DhExchange::PublicValueSize(suite.group) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("DH group ", suite.group));
  }
  p1_ = suite;
  hash_ = *hash;
  cipher_ = *cipher;
  suite_ = ikev1::ToIkeSuite(suite);
  return absl::OkStatus();
}

absl::Status Ikev1Sa::DeriveKeys() {
  auto shared = dh_->Compute(initiator_ ? gxr_ : gxi_);
  if (!shared.ok()) return shared.status();
  // §5: SKEYID from the pre-shared key; for signatures from the nonces
  // and g^xy; for encrypted nonces from the nonces and the cookies.
  SecretBytes skeyid =
      Signs()            ? ikev1::SkeyidSignature(*hash_, ni_, nr_, shared->view())
      : EncryptsNonces() ? ikev1::SkeyidEncryptedNonces(*hash_, ni_, nr_, CookieI(), CookieR())
                         : ikev1::SkeyidPsk(*hash_, psk_.view(), ni_, nr_);
  auto keys = ikev1::DerivePhase1(*hash_, std::move(skeyid), shared->view(), CookieI(),
                                  CookieR(), gxi_, gxr_, cipher_->key_size(),
                                  cipher_->block_size());
  if (!keys.ok()) return keys.status();
  skeyid_ = std::move(keys->skeyid);
  skeyid_d_ = std::move(keys->skeyid_d);
  skeyid_a_ = std::move(keys->skeyid_a);
  enc_key_ = std::move(keys->encryption_key);
  iv_ = keys->iv;
  p1_last_block_ = iv_;
  return absl::OkStatus();
}

void Ikev1Sa::EstablishPhase1(bool initial_contact, Actions& out) {
  const absl::Time now = env_.clock->Now();
  SetV1State(Ikev1State::kQmIdle, out);
  established_at_ = now;
  const absl::Duration lifetime = absl::Seconds(static_cast<int64_t>(p1_->lifetime_seconds));
  expires_at_ = now + lifetime;
  if (initiator_) {
    // 85-90% of the lifetime, jittered: a fleet set up at once does not
    // come back at once.
    const int64_t span_ms = absl::ToInt64Milliseconds(lifetime) / 20;
    const int64_t j = span_ms > 0 ? static_cast<int64_t>(env_.rng->U64() % uint64_t(span_ms)) : 0;
    reestablish_at_ = now + lifetime * 9 / 10 - absl::Milliseconds(j);
  } else {
    reestablish_at_ = now + lifetime * 19 / 20;
  }
  if (EncryptsNonces()) {
    local_auth_method_ = remote_auth_method_ = auth::kAuthRsaEncryptedNonces;
    // The nonces were the secret SKEYID came from.
    OPENSSL_cleanse(ni_.data(), ni_.size());
    OPENSSL_cleanse(nr_.data(), nr_.size());
  } else if (!Signs()) {
    local_auth_method_ = remote_auth_method_ = auth::kAuthSharedKey;
  }
  // What only the handshake needed goes (the DH key, SKEYID, the key).
  dh_.reset();
  skeyid_ = SecretBytes();
  psk_ = SecretBytes();
  if (nat_local_) next_keepalive_ = now + policy_->nat_keepalive;
  out.push_back(action::Established{initial_contact});
  PumpWaiting(out);
}

}  // namespace vpnfleet::ike
