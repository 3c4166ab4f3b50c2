// Ikev1Sa, part: phase-1 authentication (RFC 2409 §5.1, §5.2, §5.4; RFC
// 4754): the pre-shared key for the peer, our HASH or our CERT chain and
// SIG, the CR naming our CAs, the IDs and nonces encrypted to the peer's
// RSA key (rsa-encr), and the check of what the peer sent (HASH; or chain,
// revocation, identity and SIG), waiting for an OCSP verdict when the
// trustpoint asks for one.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/ike/auth/certificates.h"
#include "services/ike/sa/ikev1_ids.h"
#include "services/ike/sa/ikev1_payloads.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {

using isakmp::Payload;
using isakmp::PayloadType;
using ikev1::All;
using ikev1::BodyOf;
using ikev1::DataOf;
using ikev1::First;

std::optional<SecretBytes> Ikev1Sa::FindPsk(const v2::IdPayload* peer_id) const {
  return FindPreSharedKey(policy_->psks, remote_.address, peer_id);
}

std::string Ikev1Sa::OurHash(const std::string& id_body) const {
  return ikev1::PhaseOneHash(*hash_, skeyid_.view(), initiator_, gxi_, gxr_, CookieI(),
                             CookieR(), sai_b_, id_body);
}

bool Ikev1Sa::Signs() const { return p1_ && ikev1::IsSignatureMethod(p1_->auth); }

bool Ikev1Sa::EncryptsNonces() const { return p1_ && p1_->auth == ikev1::kAuthRsaEncr; }

bool Ikev1Sa::TakePsk(const v2::IdPayload* peer_id, Actions& out) {
  if (Signs() || EncryptsNonces()) return true;
  auto psk = FindPsk(peer_id);
  if (!psk) {
    Fail("NO_PRE_SHARED_KEY", out,
         absl::StrCat("no crypto isakmp key for ",
                      peer_id != nullptr ? IdentityText(*peer_id) : remote_.address.ToString()));
    return false;
  }
  psk_ = std::move(*psk);
  return true;
}

absl::Status Ikev1Sa::CheckPeerAuth(const std::vector<Payload>& p) {
  const Payload* id = First(p, PayloadType::kId);
  std::string id_body;
  if (EncryptsNonces()) {
    // The ID came encrypted with the key exchange; an ID here (Aggressive
    // Mode's second message) is that ciphertext.
    id_body = initiator_ ? id_r_b_ : id_i_b_;
  } else if (id != nullptr) {
    id_body = std::string(id->raw_body());
    remote_id_ = ikev1::Phase1IdOf(std::get<isakmp::IdPayload>(id->body));
  } else if (aggressive_ && !initiator_) {
    id_body = id_i_b_;  // the initiator's ID came in the first message
  } else {
    return absl::InvalidArgumentError("no ID payload");
  }
  if (Signs()) return CheckPeerSignature(p, id_body);
  const std::string* hash = DataOf(p, PayloadType::kHash);
  if (hash == nullptr) return absl::InvalidArgumentError("no HASH payload");
  const std::string want = ikev1::PhaseOneHash(*hash_, skeyid_.view(), !initiator_, gxi_, gxr_,
                                               CookieI(), CookieR(), sai_b_, id_body);
  if (want.size() != hash->size() ||
      CRYPTO_memcmp(want.data(), hash->data(), want.size()) != 0) {
    if (!EncryptsNonces()) {
      return absl::PermissionDeniedError("the peer's HASH does not match (pre-shared key differs)");
    }
    return absl::PermissionDeniedError(
        peer_nonce_unreadable_
            ? "the peer's nonce did not decrypt with our RSA key (it holds another public key of ours)"
            : "the peer's HASH does not match (it could not decrypt our nonce: the pubkey-chain "
              "holds another key for it)");
  }
  return absl::OkStatus();
}

absl::Status Ikev1Sa::CheckPeerSignature(const std::vector<Payload>& p,
                                         const std::string& id_body) {
  const std::string* sig = DataOf(p, PayloadType::kSig);
  if (sig == nullptr) return absl::InvalidArgumentError("no SIG payload");
  // The trust store judges IKEv2's CERT form; the fields are the same.
  std::vector<v2::CertPayload> certs;
  for (const Payload* c : All(p, PayloadType::kCert)) {
    const auto& cert = std::get<isakmp::CertPayload>(c->body);
    certs.push_back(v2::CertPayload{cert.encoding, cert.data});
  }
  std::vector<const v2::CertPayload*> chain;
  for (const v2::CertPayload& c : certs) chain.push_back(&c);
  auth::OcspQuery ask;
  auto verified = policy_->trust->Verify(chain, env_.clock->Now(),
                                         revocation_asked_ ? nullptr : &ask);
  if (verified.status().code() == absl::StatusCode::kUnavailable && !ask.key.empty()) {
    pending_ocsp_ = std::move(ask);
    return verified.status();
  }
  if (!verified.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate not trusted: ", verified.status().message()));
  }
  if (absl::Status s = auth::IdMatchesCertificate(remote_id_, verified->leaf.get()); !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("identity not in the certificate: ",
                                                    s.message()));
  }
  const std::string hash = ikev1::PhaseOneHash(*hash_, skeyid_.view(), !initiator_, gxi_, gxr_,
                                               CookieI(), CookieR(), sai_b_, id_body);
  const bool ecdsa = ikev1::IsEcdsaMethod(p1_->auth);
  if (absl::Status s = auth::VerifyDigestSignature(verified->leaf.get(), ecdsa, hash, *sig);
      !s.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("SIG: ", s.message()));
  }
  remote_subject_ = verified->subject;
  const EVP_PKEY* key = X509_get0_pubkey(verified->leaf.get());
  remote_auth_method_ = !ecdsa ? auth::kAuthRsaSignature
                        : static_cast<uint8_t>(ikev1::SignatureMethodFor(
                              key != nullptr ? EVP_PKEY_get_bits(key) : 521));
  return absl::OkStatus();
}

bool Ikev1Sa::Park(const absl::Status& s, int n, const std::vector<Payload>& p, Actions& out) {
  if (s.code() != absl::StatusCode::kUnavailable || !pending_ocsp_) return false;
  revocation_asked_ = true;
  parked_ = Parked{n, p, env_.clock->Now() + kRevocationWait};
  out.emplace_back(std::in_place_type<action::CheckRevocation>,
                   action::CheckRevocation{std::move(*pending_ocsp_)});
  pending_ocsp_.reset();
  return true;
}

Actions Ikev1Sa::RevocationAnswered() {
  Actions out;
  if (!parked_ || v1state_ == Ikev1State::kDeleted) return out;
  Parked parked = std::move(*parked_);
  parked_.reset();
  if (aggressive_) {
    AggressiveMessage(parked.n, parked.payloads, out);
  } else {
    MainMessage(parked.n, parked.payloads, out);
  }
  return out;
}

bool Ikev1Sa::AppendOurAuth(const std::string& id_body, std::vector<Payload>& p, Actions& out) {
  const std::string hash = OurHash(id_body);
  if (!Signs()) {
    p.push_back(isakmp::MakeData(PayloadType::kHash, hash));
    return true;
  }
  const auth::LocalCredential& cred = *policy_->ikev1_credential;
  auto sig = cred.SignDigest(hash);
  if (!sig.ok()) {
    Fail("INTERNAL", out, std::string(sig.status().message()));
    return false;
  }
  // The whole chain, whether or not the peer asked (a CR is optional, and
  // a peer without our certificate could not check the SIG).
  for (const std::string& der : cred.chain_der()) {
    p.push_back(Payload{static_cast<uint8_t>(PayloadType::kCert), isakmp::CertPayload{4, der}, ""});
  }
  p.push_back(isakmp::MakeData(PayloadType::kSig, *std::move(sig)));
  local_auth_method_ = cred.is_rsa() ? auth::kAuthRsaSignature
                                     : static_cast<uint8_t>(ikev1::SignatureMethodFor(cred.ec_bits()));
  return true;
}

void Ikev1Sa::AppendCertRequests(uint16_t method, std::vector<Payload>& p) const {
  if (!ikev1::IsSignatureMethod(method) || !policy_->trust) return;
  for (const std::string& name : policy_->trust->ca_names()) {
    p.push_back(Payload{static_cast<uint8_t>(PayloadType::kCertReq), isakmp::CertPayload{4, name}, ""});
  }
}

std::vector<Payload> Ikev1Sa::OurIdAndAuth(bool initial_contact, Actions& out) {
  std::vector<Payload> p;
  if (EncryptsNonces()) {
    // Main Mode 5/6 with encrypted nonces: the HASH alone (the ID went
    // encrypted with the key exchange).
    if (!AppendOurAuth(initiator_ ? id_i_b_ : id_r_b_, p, out)) return {};
  } else {
    Payload id = isakmp::MakeId(ikev1::Phase1Id(policy_->local_id));
    const std::string body = BodyOf(id);
    (initiator_ ? id_i_b_ : id_r_b_) = body;
    p.push_back(std::move(id));
    if (!AppendOurAuth(body, p, out)) return {};
  }
  if (initial_contact) {
    isakmp::NotificationPayload n;
    n.type = kV1InitialContact;
    n.spi = Cookies();
    p.push_back(isakmp::MakeNotification(std::move(n)));
  }
  return p;
}

// --- encrypted nonces (rsa-encr, RFC 2409 §5.2) ---

std::shared_ptr<const auth::RsaPublicKey> Ikev1Sa::FindPeerRsaKey(const v2::IdPayload* id) const {
  std::optional<net::IpAddress> address;
  if (id == nullptr) {
    address = remote_.address;
  } else if (id->id_type == auth::kIdIpv4 || id->id_type == auth::kIdIpv6) {
    const size_t n = id->id_type == auth::kIdIpv4 ? 4 : 16;
    if (id->data.size() != n) return nullptr;
    net::IpAddress a;
    a.family = n == 4 ? net::Family::kV4 : net::Family::kV6;
    std::copy(id->data.begin(), id->data.end(), a.bytes.begin());
    address = a;
  }
  for (const PeerRsaKey& k : policy_->peer_rsa_keys) {
    if (address ? k.address == address
                : (id->id_type == auth::kIdFqdn || id->id_type == auth::kIdRfc822) &&
                      !k.name.empty() && absl::EqualsIgnoreCase(k.name, id->data)) {
      return k.key;
    }
  }
  return nullptr;
}

bool Ikev1Sa::AppendEncryptedIdAndNonce(const std::string& nonce, std::vector<Payload>& p,
                                        Actions& out) {
  if (!peer_rsa_key_) peer_rsa_key_ = FindPeerRsaKey(nullptr);
  if (!peer_rsa_key_) {
    Fail("AUTHENTICATION_FAILED", out,
         absl::StrCat("rsa-encr: no crypto key pubkey-chain rsa key for ",
                      remote_.address.ToString()));
    return false;
  }
  const std::string id_body = BodyOf(isakmp::MakeId(ikev1::Phase1Id(policy_->local_id)));
  (initiator_ ? id_i_b_ : id_r_b_) = id_body;
  auto id = peer_rsa_key_->Encrypt(id_body);
  auto encrypted_nonce = peer_rsa_key_->Encrypt(nonce);
  if (!id.ok() || !encrypted_nonce.ok()) {
    Fail("INTERNAL", out, std::string((id.ok() ? encrypted_nonce.status() : id.status()).message()));
    return false;
  }
  // §5.2: the payload bodies are encrypted, the generic headers are not.
  p.push_back(Payload{static_cast<uint8_t>(PayloadType::kId), isakmp::UnknownPayload{*std::move(id)}, ""});
  p.push_back(isakmp::MakeData(PayloadType::kNonce, *std::move(encrypted_nonce)));
  return true;
}

absl::Status Ikev1Sa::TakeEncryptedIdAndNonce(const std::vector<Payload>& p) {
  const Payload* id = First(p, PayloadType::kId);
  const std::string* nonce = DataOf(p, PayloadType::kNonce);
  const auth::RsaKeyPair* ours = policy_->ikev1_rsa_key.get();
  if (id == nullptr || nonce == nullptr) return absl::InvalidArgumentError("no ID or nonce");
  if (ours == nullptr) return absl::FailedPreconditionError("rsa-encr: we hold no RSA key");
  auto id_body = ours->Decrypt(id->raw_body());
  if (!id_body.ok() || id_body->size() < 4) {
    return absl::PermissionDeniedError(
        "rsa-encr: the peer's identity does not decrypt with our RSA key");
  }
  isakmp::IdPayload parsed;
  parsed.id_type = static_cast<uint8_t>((*id_body)[0]);
  parsed.protocol = static_cast<uint8_t>((*id_body)[1]);
  parsed.port = static_cast<uint16_t>((static_cast<uint8_t>((*id_body)[2]) << 8) |
                                      static_cast<uint8_t>((*id_body)[3]));
  parsed.data = id_body->substr(4);
  remote_id_ = ikev1::Phase1IdOf(parsed);
  (initiator_ ? id_r_b_ : id_i_b_) = *std::move(id_body);
  auto key = FindPeerRsaKey(&remote_id_);
  if (initiator_) {
    if (!peer_rsa_key_) {
      return absl::PermissionDeniedError("rsa-encr in an answer to an offer without it");
    }
    // We encrypted to the key of the peer's address; a key configured for
    // the identity it now claims must be that one.
    if (key && key->der() != peer_rsa_key_->der()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "rsa-encr: identity ", IdentityText(remote_id_),
          " has another key in the pubkey-chain than address ", remote_.address.ToString()));
    }
  } else {
    if (!key) {
      return absl::PermissionDeniedError(absl::StrCat(
          "rsa-encr: no crypto key pubkey-chain rsa key for identity ", IdentityText(remote_id_)));
    }
    peer_rsa_key_ = std::move(key);
  }
  auto plain = ours->Decrypt(*nonce);
  std::string& slot = initiator_ ? nr_ : ni_;
  peer_nonce_unreadable_ = !plain.ok() || plain->size() < 8 || plain->size() > 256;
  if (peer_nonce_unreadable_) {
    slot = Nonce();  // see the header: fail later, at the HASH, like a wrong key
  } else {
    slot = *std::move(plain);
  }
  return absl::OkStatus();
}

}  // namespace vpnfleet::ike
