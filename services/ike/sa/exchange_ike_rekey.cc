// Re-keying the IKE SA (RFC 7296 §2.18): a CREATE_CHILD_SA exchange with an
// IKE proposal (the new SPI inside), nonces and a fresh Diffie-Hellman.
// Its result is a successor IkeSa with new SPIs and keys
//   SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)   (old PRF, as strongSwan)
// and message IDs from zero, which takes over the CHILD SAs; the rekey's
// initiator then deletes the old SA (the responder waits for that Delete).
//
// Simultaneous rekeys (§2.25.2): a peer's rekey request that arrives while
// ours is out is refused with TEMPORARY_FAILURE when our nonce is the
// higher, accepted otherwise. Two of our daemons agree on one winner that
// way; a peer that accepts both (strongSwan does, then applies the
// four-nonce rule) sees us delete the redundant SA our losing request
// made.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/notify.h"
#include "services/ike/sa/payloads.h"

namespace vpnfleet::ike {
namespace {

std::string Spi64(uint64_t spi) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(spi >> (56 - 8 * i));
  return s;
}

uint64_t Spi64Of(const std::string& s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

}  // namespace

void IkeSa::StartIkeRekey(Actions& out) {
  ChildExchange x;
  x.ike_rekey = true;
  x.nonce = Nonce();
  do {
    x.new_ike_spi = env_.rng->U64();
  } while (x.new_ike_spi == 0);
  auto dh = DhExchange::Generate(suite_.dh, policy_->allow_legacy);
  if (!dh.ok()) {
    out.push_back(action::Failed{"IKE_REKEY INTERNAL_ERROR", std::string(dh.status().message())});
    return;
  }
  x.dh = *std::move(dh);
  x.proposals = Numbered(policy_->ike_proposals, Spi64(x.new_ike_spi));
  v2::SaPayload sa;
  sa.proposals = x.proposals;
  std::vector<v2::Payload> payloads;
  payloads.push_back(msg::Make(v2::PayloadType::kSa, std::move(sa)));
  payloads.push_back(msg::Make(v2::PayloadType::kNonce, v2::NoncePayload{x.nonce}));
  payloads.push_back(
      msg::Make(v2::PayloadType::kKe, v2::KePayload{x.dh->group(), x.dh->public_value()}));
  child_exchange_ = std::make_unique<ChildExchange>(std::move(x));
  if (!SendRequest(static_cast<uint8_t>(v2::ExchangeType::kCreateChildSa), payloads,
                   Pending::Kind::kRekeyIke, out)
           .ok()) {
    child_exchange_.reset();
    out.push_back(action::Failed{"IKE_REKEY INTERNAL_ERROR", ""});
  }
}

void IkeSa::HandleIkeRekeyRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                                  Actions& out) {
  const uint8_t exchange = static_cast<uint8_t>(v2::ExchangeType::kCreateChildSa);
  auto refuse = [&](uint16_t type, std::string data = {}) {
    (void)SendResponse(exchange, mid, {msg::Notify(type, std::move(data))}, out);
  };
  const auto* sa = msg::Find<v2::SaPayload>(payloads, v2::PayloadType::kSa);
  const auto* nonce = msg::Find<v2::NoncePayload>(payloads, v2::PayloadType::kNonce);
  const auto* ke = msg::Find<v2::KePayload>(payloads, v2::PayloadType::kKe);
  if (ke == nullptr) {
    refuse(notify::kInvalidSyntax);
    return;
  }
  if (child_exchange_ && !child_exchange_->lost_collision) {
    // §2.25: a rekey of a child or of this IKE SA is out. Against our own
    // child rekey we wait; against our own IKE rekey the higher nonce wins.
    if (!child_exchange_->ike_rekey || child_exchange_->nonce > nonce->data) {
      refuse(notify::kTemporaryFailure);
      return;
    }
    child_exchange_->lost_collision = true;
  }
  // Our own queued rekey is moot now.
  for (auto it = queue_.begin(); it != queue_.end();) {
    it = it->kind == Pending::Kind::kRekeyIke ? queue_.erase(it) : std::next(it);
  }
  std::vector<v2::Proposal> ours = Numbered(policy_->ike_proposals, "");
  auto chosen = ChooseProposal(sa->proposals, ours, false, ke->group);
  if (!chosen || chosen->spi.size() != 8) {
    refuse(notify::kNoProposalChosen);
    return;
  }
  auto suite = IkeSuiteOf(*chosen);
  if (!suite.ok()) {
    refuse(notify::kNoProposalChosen);
    return;
  }
  if (suite->dh != ke->group) {
    std::string group(2, '\0');
    group[0] = static_cast<char>(suite->dh >> 8);
    group[1] = static_cast<char>(suite->dh & 0xff);
    refuse(notify::kInvalidKePayload, group);
    return;
  }
  auto dh = DhExchange::Generate(suite->dh, policy_->allow_legacy);
  if (!dh.ok()) {
    refuse(notify::kNoProposalChosen);
    return;
  }
  auto shared = dh->Compute(ke->data);
  if (!shared.ok()) {
    refuse(notify::kInvalidKePayload);
    return;
  }
  const uint64_t peer_spi = Spi64Of(chosen->spi);
  uint64_t our_spi = 0;
  do {
    our_spi = env_.rng->U64();
  } while (our_spi == 0);
  const std::string nr = Nonce();
  auto successor = MakeSuccessor(false, peer_spi, our_spi, *suite, nonce->data, nr,
                                 shared->view(), true);
  if (!successor.ok()) {
    refuse(notify::kNoProposalChosen);
    return;
  }
  chosen->spi = Spi64(our_spi);
  v2::SaPayload reply_sa;
  reply_sa.proposals.push_back(*chosen);
  std::vector<v2::Payload> reply;
  reply.push_back(msg::Make(v2::PayloadType::kSa, std::move(reply_sa)));
  reply.push_back(msg::Make(v2::PayloadType::kNonce, v2::NoncePayload{nr}));
  reply.push_back(msg::Make(v2::PayloadType::kKe, v2::KePayload{dh->group(), dh->public_value()}));
  if (!SendResponse(exchange, mid, reply, out).ok()) {
    out.push_back(action::Failed{"IKE_REKEY INTERNAL_ERROR", ""});
    return;
  }
  ++stats_.ike_rekeys;
  rekeyed_at_ = env_.clock->Now();
  SetState(IkeState::kRekeyed, out);
  out.emplace_back(std::in_place_type<action::Rekeyed>, action::Rekeyed{*std::move(successor), false});
}

void IkeSa::HandleIkeRekeyResponse(const std::vector<v2::Payload>& payloads, Actions& out) {
  ChildExchange x = std::move(*child_exchange_);
  child_exchange_.reset();
  if (const v2::NotifyPayload* err = msg::FirstError(payloads)) {
    if (x.lost_collision) return;  // the peer's rekey won; we are its responder
    if (err->type == notify::kTemporaryFailure && state_ == IkeState::kEstablished) {
      // The peer is busy (or won a collision it then lost to nobody): try
      // again shortly, jittered.
      ike_rekey_at_ = env_.clock->Now() + absl::Seconds(2 + env_.rng->U32() % 8);
      return;
    }
    // The hard lifetime ends the SA if this is never resolved.
    out.push_back(action::Failed{absl::StrCat("IKE_REKEY ", notify::Name(err->type)), ""});
    return;
  }
  const auto* sa = msg::Find<v2::SaPayload>(payloads, v2::PayloadType::kSa);
  const auto* nonce = msg::Find<v2::NoncePayload>(payloads, v2::PayloadType::kNonce);
  const auto* ke = msg::Find<v2::KePayload>(payloads, v2::PayloadType::kKe);
  if (sa == nullptr || nonce == nullptr || ke == nullptr || sa->proposals.size() != 1 ||
      sa->proposals[0].spi.size() != 8 || !CheckChosen(sa->proposals[0], x.proposals, false).ok()) {
    out.push_back(action::Failed{"IKE_REKEY NO_PROPOSAL_CHOSEN", "unacceptable answer"});
    return;
  }
  auto suite = IkeSuiteOf(sa->proposals[0]);
  if (!suite.ok() || suite->dh != x.dh->group() || ke->group != x.dh->group()) {
    out.push_back(action::Failed{"IKE_REKEY INVALID_KE_PAYLOAD", ""});
    return;
  }
  auto shared = x.dh->Compute(ke->data);
  if (!shared.ok()) {
    out.push_back(action::Failed{"IKE_REKEY INVALID_KE_PAYLOAD", ""});
    return;
  }
  const bool redundant = x.lost_collision;
  auto successor = MakeSuccessor(true, x.new_ike_spi, Spi64Of(sa->proposals[0].spi), *suite,
                                 x.nonce, nonce->data, shared->view(), !redundant);
  if (!successor.ok()) {
    out.push_back(action::Failed{"IKE_REKEY INTERNAL_ERROR", ""});
    return;
  }
  out.emplace_back(std::in_place_type<action::Rekeyed>, action::Rekeyed{*std::move(successor), redundant});
  if (redundant) return;  // the SA the peer's rekey made carries on; it deletes this one
  ++stats_.ike_rekeys;
  // §2.18: the initiator of the rekey deletes the old IKE SA; its children
  // already live in the successor, so the Delete takes none with it.
  rekeyed_at_ = env_.clock->Now();
  SetState(IkeState::kRekeyed, out);
  queue_.clear();
  Pending p;
  p.kind = Pending::Kind::kDeleteIke;
  p.reason = "rekeyed";
  StartInformational(p, out);
}

absl::StatusOr<std::shared_ptr<IkeSa>> IkeSa::MakeSuccessor(
    bool we_initiated, uint64_t spi_i, uint64_t spi_r, const IkeSuite& suite,
    const std::string& ni, const std::string& nr, absl::string_view shared, bool take_children) {
  auto prf = Prf::ForId(suite.prf);
  if (!prf.ok()) return prf.status();
  std::shared_ptr<IkeSa> s(new IkeSa(env_, policy_, we_initiated, local_, remote_));
  s->spi_i_ = spi_i;
  s->spi_r_ = spi_r;
  s->suite_ = suite;
  s->nonce_i_ = ni;
  s->nonce_r_ = nr;
  const SecretBytes skeyseed = RekeySkeySeed(*prf_, sk_d_.view(), shared, ni, nr);
  if (absl::Status st = s->DeriveKeysFromSeed(*prf, skeyseed.view()); !st.ok()) return st;
  s->ForgetSetupState();
  const absl::Time now = env_.clock->Now();
  s->state_ = IkeState::kEstablished;
  s->nat_local_ = nat_local_;
  s->nat_remote_ = nat_remote_;
  s->remote_id_ = remote_id_;
  s->peer_hashes_ = peer_hashes_;
  s->fragmentation_ = fragmentation_;  // RFC 7383 §2.3: the rekeyed SA keeps it
  s->local_auth_method_ = local_auth_method_;
  s->remote_auth_method_ = remote_auth_method_;
  s->remote_subject_ = remote_subject_;
  s->remote_key_ec_ = remote_key_ec_;
  s->child_policy_index_ = child_policy_index_;
  s->created_ = now;
  s->established_at_ = now;
  s->last_heard_ = now;
  const int64_t jitter_ms = absl::ToInt64Milliseconds(policy_->ike_lifetime) / 10;
  const int64_t j = jitter_ms > 0 ? static_cast<int64_t>(env_.rng->U64() % uint64_t(jitter_ms)) : 0;
  s->expires_at_ = now + policy_->ike_lifetime - absl::Milliseconds(j);
  s->ike_rekey_at_ = now + (s->expires_at_ - now) * 9 / 10;
  if (nat_local_) s->next_keepalive_ = next_keepalive_;
  if (take_children) {
    s->children_ = std::move(children_);
    children_.clear();
    // The new IKE initiator re-keys the children by time (see
    // InstallChildSa); one whose rekey was under way on the old SA starts
    // over.
    for (ChildSa& c : s->children_) {
      if (!s->initiator_ || c.lifetime_seconds == 0) {
        c.rekey_at = absl::InfiniteFuture();
      } else if (c.rekey_at == absl::InfiniteFuture()) {
        const absl::Time due =
            c.established + absl::Seconds(static_cast<double>(c.lifetime_seconds) * 0.87);
        c.rekey_at = std::max(due, now + absl::Seconds(1));
      }
    }
  }
  return s;
}

}  // namespace vpnfleet::ike
