// IKE_SA_INIT (RFC 7296 §1.2): proposals, Diffie-Hellman and nonces; the
// COOKIE and INVALID_KE_PAYLOAD retries (§2.6, §1.2); NAT detection
// (§2.23), after which the initiator moves to port 4500.
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/notify.h"
#include "services/ike/sa/payloads.h"

namespace vpnfleet::ike {
namespace {

constexpr int kMaxInitAttempts = 4;

// §2.23: SHA-1(SPIi | SPIr | IP | Port).
std::string NatHash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e) {
  std::string in;
  for (int i = 7; i >= 0; --i) in += static_cast<char>(spi_i >> (8 * i));
  for (int i = 7; i >= 0; --i) in += static_cast<char>(spi_r >> (8 * i));
  in.append(reinterpret_cast<const char*>(e.address.bytes.data()),
            e.address.family == net::Family::kV4 ? 4 : 16);
  in += static_cast<char>(e.port >> 8);
  in += static_cast<char>(e.port & 0xff);
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), md);
  return std::string(reinterpret_cast<const char*>(md), sizeof md);
}

}  // namespace

std::vector<v2::Payload> IkeSa::NatDetection(uint64_t spi_r) const {
  return {msg::Notify(notify::kNatDetectionSourceIp, NatHash(spi_i_, spi_r, local_)),
          msg::Notify(notify::kNatDetectionDestinationIp, NatHash(spi_i_, spi_r, remote_))};
}

void IkeSa::CheckNat(const v2::Message& m) {
  bool saw_src = false, src_match = false, saw_dst = false, dst_match = false;
  const std::string remote_hash =
      NatHash(m.header.initiator_spi, m.header.responder_spi, remote_);
  const std::string local_hash = NatHash(m.header.initiator_spi, m.header.responder_spi, local_);
  for (const v2::Payload& p : m.payloads) {
    const auto* n = std::get_if<v2::NotifyPayload>(&p.body);
    if (n == nullptr) continue;
    if (n->type == notify::kNatDetectionSourceIp) {
      saw_src = true;
      src_match |= n->data == remote_hash;
    } else if (n->type == notify::kNatDetectionDestinationIp) {
      saw_dst = true;
      dst_match |= n->data == local_hash;
    }
  }
  nat_remote_ = saw_src && !src_match;
  nat_local_ = saw_dst && !dst_match;
}

Actions IkeSa::Start() {
  Actions out;
  if (!initiator_ || state_ != IkeState::kIdle) return out;
  if (policy_->ike_proposals.empty() || child_policy_index_ < 0) {
    Fail("NO_PROPOSAL_CHOSEN", out);
    return out;
  }
  do {
    spi_i_ = env_.rng->U64();
  } while (spi_i_ == 0);
  nonce_i_ = Nonce();
  ChildExchange x;
  x.child_policy = static_cast<size_t>(child_policy_index_);
  x.flow = first_flow_;
  x.spi_in = NewChildSpi();
  auth_child_ = std::make_unique<ChildExchange>(std::move(x));
  Actions sent = SendInit();
  out.insert(out.end(), sent.begin(), sent.end());
  return out;
}

Actions IkeSa::SendInit() {
  Actions out;
  if (!dh_) {
    uint16_t group = 0;
    for (const v2::Transform& t : policy_->ike_proposals.front().transforms) {
      if (t.type == kTransformDh) {
        group = t.id;
        break;
      }
    }
    auto dh = DhExchange::Generate(group, policy_->allow_legacy);
    if (!dh.ok()) {
      Fail("INVALID_KE_PAYLOAD", out);
      return out;
    }
    dh_ = *std::move(dh);
  }
  ++init_attempts_;
  std::vector<v2::Payload> payloads;
  // §2.6: the cookie goes first.
  if (!cookie_.empty()) payloads.push_back(msg::Notify(notify::kCookie, cookie_));
  v2::SaPayload sa;
  sa.proposals = Numbered(policy_->ike_proposals, "");
  payloads.push_back(msg::Make(v2::PayloadType::kSa, std::move(sa)));
  payloads.push_back(msg::Make(v2::PayloadType::kKe, v2::KePayload{dh_->group(), dh_->public_value()}));
  payloads.push_back(msg::Make(v2::PayloadType::kNonce, v2::NoncePayload{nonce_i_}));
  for (v2::Payload& p : NatDetection(0)) payloads.push_back(std::move(p));
  // RFC 7427 §4: the hashes we take in digital signatures.
  payloads.push_back(msg::Notify(notify::kSignatureHashAlgorithms, auth::OurHashAlgorithms()));
  // RFC 7383 §2.3: we take and send fragmented messages.
  if (policy_->fragment_size != 0) {
    payloads.push_back(msg::Notify(notify::kIkev2FragmentationSupported));
  }
  v2::Message m;
  m.header.initiator_spi = spi_i_;
  m.header.exchange_type = static_cast<uint8_t>(v2::ExchangeType::kIkeSaInit);
  m.header.flags = v2::kFlagInitiator;
  m.payloads = std::move(payloads);
  auto datagram = v2::Encode(m);
  if (!datagram.ok()) {
    Fail("INTERNAL_ERROR", out);
    return out;
  }
  init_request_ = *datagram;
  Outstanding o;
  o.message_id = 0;
  o.exchange = m.header.exchange_type;
  o.datagrams = {*datagram};
  o.tries = 1;
  o.next_send = env_.clock->Now() + policy_->retransmit_timeout;
  outstanding_ = std::move(o);
  next_request_id_ = 1;
  SetState(IkeState::kInitSent, out);
  SendRaw(*std::move(datagram), out);
  return out;
}

void IkeSa::HandleInitResponse(const v2::Message& m, absl::string_view datagram, Actions& out) {
  for (const v2::Payload& p : m.payloads) {
    const auto* n = std::get_if<v2::NotifyPayload>(&p.body);
    if (n == nullptr) continue;
    if (n->type == notify::kCookie && init_attempts_ < kMaxInitAttempts) {
      // §2.6: the responder wants proof of our address first.
      if (n->data.empty() || n->data.size() > 64) break;
      cookie_ = n->data;
      outstanding_.reset();
      Actions again = SendInit();
      out.insert(out.end(), again.begin(), again.end());
      return;
    }
    if (n->type == notify::kInvalidKePayload) {
      // §1.2: retry with the group the responder names, if we allow it.
      if (n->data.size() == 2 && init_attempts_ < kMaxInitAttempts) {
        const uint16_t group = static_cast<uint16_t>((static_cast<uint8_t>(n->data[0]) << 8) |
                                                     static_cast<uint8_t>(n->data[1]));
        if (group != dh_->group() && OffersGroup(policy_->ike_proposals, group)) {
          auto dh = DhExchange::Generate(group, policy_->allow_legacy);
          if (dh.ok()) {
            dh_ = *std::move(dh);
            outstanding_.reset();
            Actions again = SendInit();
            out.insert(out.end(), again.begin(), again.end());
            return;
          }
        }
      }
      Fail("INVALID_KE_PAYLOAD", out);
      return;
    }
    if (notify::IsError(n->type)) {
      Fail(notify::Name(n->type), out);
      return;
    }
  }
  if (!v2::ValidateMessage(m).ok() || m.header.responder_spi == 0) {
    ++stats_.dropped;  // maybe forged; the real answer may still come
    return;
  }
  const auto* sa = m.Find<v2::SaPayload>(v2::PayloadType::kSa);
  const auto* ke = m.Find<v2::KePayload>(v2::PayloadType::kKe);
  const auto* nonce = m.Find<v2::NoncePayload>(v2::PayloadType::kNonce);
  if (sa == nullptr || ke == nullptr || nonce == nullptr || sa->proposals.size() != 1) {
    ++stats_.dropped;
    return;
  }
  const std::vector<v2::Proposal> sent = Numbered(policy_->ike_proposals, "");
  if (!CheckChosen(sa->proposals[0], sent, false).ok()) {
    Fail("NO_PROPOSAL_CHOSEN", out);
    return;
  }
  auto suite = IkeSuiteOf(sa->proposals[0]);
  if (!suite.ok() || suite->dh != dh_->group() || ke->group != dh_->group()) {
    Fail("INVALID_KE_PAYLOAD", out);
    return;
  }
  auto shared = dh_->Compute(ke->data);
  if (!shared.ok()) {
    Fail("INVALID_KE_PAYLOAD", out);
    return;
  }
  suite_ = *suite;
  spi_r_ = m.header.responder_spi;
  nonce_r_ = nonce->data;
  if (!DeriveKeys(shared->view()).ok()) {
    Fail("NO_PROPOSAL_CHOSEN", out);
    return;
  }
  init_response_ = std::string(datagram);
  outstanding_.reset();
  ReadHashAlgorithms(m.payloads);
  fragmentation_ = policy_->fragment_size != 0 &&
                   msg::FindNotify(m.payloads, notify::kIkev2FragmentationSupported) != nullptr;
  CheckNat(m);
  if (nat_local_ || nat_remote_) {
    // §2.23: with a NAT between us, IKE continues on port 4500 and ESP
    // goes inside UDP.
    local_.port = kNatTPort;
    remote_.port = kNatTPort;
    next_keepalive_ = env_.clock->Now() + policy_->nat_keepalive;
  }
  SendAuth(out);
}

void IkeSa::HandleInitRequest(const v2::Message& m, absl::string_view datagram, Actions& out) {
  auto reply_error = [&](uint16_t type, std::string data) {
    v2::Message r;
    r.header.initiator_spi = m.header.initiator_spi;
    r.header.exchange_type = m.header.exchange_type;
    r.header.flags = v2::kFlagResponse;
    r.payloads.push_back(msg::Notify(type, std::move(data)));
    auto bytes = v2::Encode(r);
    if (bytes.ok()) SendRaw(*std::move(bytes), out);
  };
  if (!v2::ValidateMessage(m).ok() || m.header.initiator_spi == 0 ||
      m.header.responder_spi != 0 || m.header.message_id != 0) {
    reply_error(notify::kInvalidSyntax, "");
    Fail("INVALID_SYNTAX", out);
    return;
  }
  const auto* sa = m.Find<v2::SaPayload>(v2::PayloadType::kSa);
  const auto* ke = m.Find<v2::KePayload>(v2::PayloadType::kKe);
  const auto* nonce = m.Find<v2::NoncePayload>(v2::PayloadType::kNonce);
  if (sa == nullptr || ke == nullptr || nonce == nullptr) {
    reply_error(notify::kInvalidSyntax, "");
    Fail("INVALID_SYNTAX", out);
    return;
  }
  spi_i_ = m.header.initiator_spi;
  auto chosen = ChooseProposal(sa->proposals, Numbered(policy_->ike_proposals, ""), false,
                               ke->group);
  if (!chosen) {
    reply_error(notify::kNoProposalChosen, "");
    Fail("NO_PROPOSAL_CHOSEN", out);
    return;
  }
  auto suite = IkeSuiteOf(*chosen);
  if (!suite.ok()) {
    reply_error(notify::kNoProposalChosen, "");
    Fail("NO_PROPOSAL_CHOSEN", out);
    return;
  }
  if (suite->dh != ke->group) {
    // §1.2: name the group we want; keep no state (the initiator retries
    // as a new exchange).
    std::string group(2, '\0');
    group[0] = static_cast<char>(suite->dh >> 8);
    group[1] = static_cast<char>(suite->dh & 0xff);
    reply_error(notify::kInvalidKePayload, group);
    out.push_back(action::StateChanged{state_, IkeState::kDead});
    state_ = IkeState::kDead;
    return;
  }
  auto dh = DhExchange::Generate(suite->dh, policy_->allow_legacy);
  if (!dh.ok()) {
    reply_error(notify::kNoProposalChosen, "");
    Fail("NO_PROPOSAL_CHOSEN", out);
    return;
  }
  auto shared = dh->Compute(ke->data);
  if (!shared.ok()) {
    reply_error(notify::kInvalidSyntax, "");
    Fail("INVALID_KE_PAYLOAD", out);
    return;
  }
  dh_ = *std::move(dh);
  suite_ = *suite;
  nonce_i_ = nonce->data;
  nonce_r_ = Nonce();
  do {
    spi_r_ = env_.rng->U64();
  } while (spi_r_ == 0);
  if (!DeriveKeys(shared->view()).ok()) {
    reply_error(notify::kNoProposalChosen, "");
    Fail("NO_PROPOSAL_CHOSEN", out);
    return;
  }
  CheckNat(m);
  ReadHashAlgorithms(m.payloads);
  init_request_ = std::string(datagram);
  v2::Message r;
  r.header.initiator_spi = spi_i_;
  r.header.responder_spi = spi_r_;
  r.header.exchange_type = m.header.exchange_type;
  r.header.flags = v2::kFlagResponse;
  v2::SaPayload reply_sa;
  reply_sa.proposals.push_back(*chosen);
  r.payloads.push_back(msg::Make(v2::PayloadType::kSa, std::move(reply_sa)));
  r.payloads.push_back(msg::Make(v2::PayloadType::kKe, v2::KePayload{dh_->group(), dh_->public_value()}));
  r.payloads.push_back(msg::Make(v2::PayloadType::kNonce, v2::NoncePayload{nonce_r_}));
  // §1.2: CERTREQ here asks the initiator for its certificate (strongSwan
  // sends it only when asked).
  if (policy_->trust) {
    r.payloads.push_back(msg::Make(v2::PayloadType::kCertReq,
                                   v2::CertPayload{auth::kCertX509Signature, policy_->trust->certreq_data()}));
  }
  for (v2::Payload& p : NatDetection(spi_r_)) r.payloads.push_back(std::move(p));
  r.payloads.push_back(msg::Notify(notify::kSignatureHashAlgorithms, auth::OurHashAlgorithms()));
  if (policy_->fragment_size != 0 &&
      msg::FindNotify(m.payloads, notify::kIkev2FragmentationSupported) != nullptr) {
    r.payloads.push_back(msg::Notify(notify::kIkev2FragmentationSupported));
    fragmentation_ = true;
  }
  auto bytes = v2::Encode(r);
  if (!bytes.ok()) {
    Fail("INTERNAL_ERROR", out);
    return;
  }
  init_response_ = *bytes;
  expected_request_id_ = 1;
  if (nat_local_) next_keepalive_ = env_.clock->Now() + policy_->nat_keepalive;
  SetState(IkeState::kInitDone, out);
  SendRaw(*std::move(bytes), out);
}

absl::Status IkeSa::DeriveKeys(absl::string_view shared) {
  auto prf = Prf::ForId(suite_.prf);
  if (!prf.ok()) return prf.status();
  const SecretBytes skeyseed = SkeySeed(*prf, nonce_i_, nonce_r_, shared);
  return DeriveKeysFromSeed(*prf, skeyseed.view());
}

absl::Status IkeSa::DeriveKeysFromSeed(const Prf& prf, absl::string_view skeyseed) {
  auto lengths = SkCipher::KeyLengths(suite_.encr, suite_.key_bits, suite_.integ);
  if (!lengths.ok()) return lengths.status();
  auto keys = DeriveIkeSaKeys(prf, skeyseed, nonce_i_, nonce_r_, spi_i_, spi_r_, *lengths);
  if (!keys.ok()) return keys.status();
  auto ci = SkCipher::Create(suite_.encr, suite_.key_bits, suite_.integ, keys->sk_ei, keys->sk_ai);
  auto cr = SkCipher::Create(suite_.encr, suite_.key_bits, suite_.integ, keys->sk_er, keys->sk_ar);
  if (!ci.ok()) return ci.status();
  if (!cr.ok()) return cr.status();
  prf_ = prf;
  sk_d_ = std::move(keys->sk_d);
  sk_pi_ = std::move(keys->sk_pi);
  sk_pr_ = std::move(keys->sk_pr);
  if (initiator_) {
    send_ = *std::move(ci);
    recv_ = *std::move(cr);
  } else {
    send_ = *std::move(cr);
    recv_ = *std::move(ci);
  }
  return absl::OkStatus();
}

}  // namespace vpnfleet::ike
