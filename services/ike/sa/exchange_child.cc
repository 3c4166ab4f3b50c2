// CHILD SAs (RFC 7296 §1.3, §2.9, §2.17): the one inside IKE_AUTH, new ones
// and rekeys through CREATE_CHILD_SA, with PFS when the crypto map asks for
// it (`set pfs groupN`). Selectors are narrowed by the responder to what the
// crypto map entry's ACL allows.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/notify.h"
#include "services/ike/sa/payloads.h"

namespace vpnfleet::ike {
namespace {

std::vector<v2::Proposal> WithoutDh(std::vector<v2::Proposal> proposals) {
  for (v2::Proposal& p : proposals) {
    p.transforms.erase(std::remove_if(p.transforms.begin(), p.transforms.end(),
                                      [](const v2::Transform& t) { return t.type == kTransformDh; }),
                       p.transforms.end());
  }
  return proposals;
}

}  // namespace

bool IkeSa::HasChildFor(
    size_t child,
    const std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>>& flow) const {
  if (child >= policy_->children.size()) return false;
  const ChildPolicy& cp = policy_->children[child];
  const bool host = cp.per_host && flow.has_value();
  for (const ChildSa& c : children_) {
    if (!SameLine(cp, c)) continue;
    if (!host || (Covers(c.local_ts, {flow->first}) && Covers(c.remote_ts, {flow->second}))) {
      return true;
    }
  }
  for (const Pending& q : queue_) {
    if (q.kind == Pending::Kind::kCreateChild && q.child_policy == child &&
        (!host || q.flow == flow)) {
      return true;
    }
  }
  if (child_exchange_ && !child_exchange_->ike_rekey && child_exchange_->rekey_spi_in == 0 &&
      child_exchange_->child_policy == child && (!host || child_exchange_->flow == flow)) {
    return true;
  }
  if (auth_child_) return auth_child_->child_policy == child && (!host || auth_child_->flow == flow);
  // An initiator before IKE_AUTH: the child it was started for.
  return initiator_ && (state_ == IkeState::kIdle || state_ == IkeState::kInitSent) &&
         child_policy_index_ == static_cast<int>(child) && (!host || first_flow_ == flow);
}

std::vector<v2::Payload> IkeSa::OfferChild(ChildExchange& x, bool in_auth) {
  const ChildPolicy& cp = policy_->children[x.child_policy];
  // §1.2: IKE_AUTH's CHILD SA takes its keys from the IKE SA's exchange;
  // a PFS group is offered only in CREATE_CHILD_SA.
  x.proposals = Numbered(in_auth ? WithoutDh(cp.proposals) : cp.proposals, msg::Spi32(x.spi_in));
  const ChildSa* old = x.rekey_spi_in != 0 ? FindChildByIn(x.rekey_spi_in) : nullptr;
  if (old != nullptr) {
    // §2.8: the new SA of a rekey carries the same traffic as the old one.
    x.tsi = old->local_ts;
    x.tsr = old->remote_ts;
  } else if (x.flow && cp.per_host) {
    // `set security-association level per-host`: this host pair alone.
    x.tsi = {x.flow->first};
    x.tsr = {x.flow->second};
  } else {
    x.tsi = cp.local_ts;
    x.tsr = cp.remote_ts;
    if (x.flow) {
      // §2.9: the packet that triggered us goes first, so that a responder
      // that narrows to one host pair picks the right one.
      x.tsi.insert(x.tsi.begin(), x.flow->first);
      x.tsr.insert(x.tsr.begin(), x.flow->second);
    }
  }
  std::vector<v2::Payload> payloads;
  if (x.rekey_spi_in != 0) {
    payloads.push_back(msg::Notify(notify::kRekeySa, "", kProtocolEsp, msg::Spi32(x.rekey_spi_in)));
  }
  v2::SaPayload sa;
  sa.proposals = x.proposals;
  payloads.push_back(msg::Make(v2::PayloadType::kSa, std::move(sa)));
  if (!in_auth) {
    payloads.push_back(msg::Make(v2::PayloadType::kNonce, v2::NoncePayload{x.nonce}));
    if (cp.pfs_group != 0) {
      auto dh = DhExchange::Generate(cp.pfs_group, policy_->allow_legacy);
      if (dh.ok()) {
        x.dh = *std::move(dh);
        payloads.push_back(
            msg::Make(v2::PayloadType::kKe, v2::KePayload{x.dh->group(), x.dh->public_value()}));
      }
    }
  }
  payloads.push_back(msg::Make(v2::PayloadType::kTsi, v2::TsPayload{x.tsi}));
  payloads.push_back(msg::Make(v2::PayloadType::kTsr, v2::TsPayload{x.tsr}));
  if (cp.transport) payloads.push_back(msg::Notify(notify::kUseTransportMode));
  return payloads;
}

void IkeSa::AcceptChild(const ChildExchange& x, const std::vector<v2::Payload>& reply,
                        const std::string& ni, const std::string& nr, bool in_auth,
                        Actions& out) {
  const ChildPolicy& cp = policy_->children[x.child_policy];
  if (const v2::NotifyPayload* err = msg::FirstError(reply)) {
    out.push_back(action::Failed{absl::StrCat("CHILD_SA ", notify::Name(err->type)), ""});
    return;
  }
  const auto* sa = msg::Find<v2::SaPayload>(reply, v2::PayloadType::kSa);
  const auto* tsi = msg::Find<v2::TsPayload>(reply, v2::PayloadType::kTsi);
  const auto* tsr = msg::Find<v2::TsPayload>(reply, v2::PayloadType::kTsr);
  if (sa == nullptr || tsi == nullptr || tsr == nullptr || sa->proposals.size() != 1) {
    out.push_back(action::Failed{"CHILD_SA INVALID_SYNTAX", ""});
    return;
  }
  const v2::Proposal& chosen = sa->proposals[0];
  auto suite = ChildSuiteOf(chosen);
  const uint32_t spi_out = msg::Spi32Of(chosen.spi);
  if (!CheckChosen(chosen, x.proposals, in_auth).ok() || !suite.ok() || spi_out < 256) {
    out.push_back(action::Failed{"CHILD_SA NO_PROPOSAL_CHOSEN", ""});
    return;
  }
  if (in_auth) suite->dh = 0;
  // §2.9: the responder may narrow, never widen.
  if (tsi->selectors.empty() || tsr->selectors.empty() || !Covers(x.tsi, tsi->selectors) ||
      !Covers(x.tsr, tsr->selectors)) {
    out.push_back(action::Failed{"CHILD_SA TS_UNACCEPTABLE", ""});
    return;
  }
  std::optional<SecretBytes> shared;
  if (!in_auth && suite->dh != 0) {
    const auto* ke = msg::Find<v2::KePayload>(reply, v2::PayloadType::kKe);
    if (!x.dh || ke == nullptr || ke->group != x.dh->group()) {
      out.push_back(action::Failed{"CHILD_SA INVALID_KE_PAYLOAD", ""});
      return;
    }
    auto s = x.dh->Compute(ke->data);
    if (!s.ok()) {
      out.push_back(action::Failed{"CHILD_SA INVALID_KE_PAYLOAD", ""});
      return;
    }
    shared = *std::move(s);
  }
  const bool transport = cp.transport && msg::FindNotify(reply, notify::kUseTransportMode) != nullptr;
  ChildPolicy effective = cp;
  effective.transport = transport;
  auto child = MakeChild(effective, chosen.number - 1u, *suite, x.spi_in, spi_out, ni, nr,
                         shared ? shared->view() : absl::string_view(), true, tsi->selectors,
                         tsr->selectors);
  if (!child.ok()) {
    out.push_back(action::Failed{"CHILD_SA NO_PROPOSAL_CHOSEN", ""});
    return;
  }
  InstallChildSa(*std::move(child), x.rekey_spi_in, false, out);
}

void IkeSa::RespondChild(const std::vector<v2::Payload>& request, const std::string& ni,
                         const std::string& nr, const std::optional<DhExchange>& /*unused*/,
                         bool in_auth, uint32_t rekey_spi_in, std::vector<v2::Payload>& reply,
                         Actions& out) {
  const auto* sa = msg::Find<v2::SaPayload>(request, v2::PayloadType::kSa);
  const auto* tsi = msg::Find<v2::TsPayload>(request, v2::PayloadType::kTsi);
  const auto* tsr = msg::Find<v2::TsPayload>(request, v2::PayloadType::kTsr);
  if (sa == nullptr || tsi == nullptr || tsr == nullptr) {
    reply.push_back(msg::Notify(notify::kInvalidSyntax));
    out.push_back(action::Failed{"CHILD_SA INVALID_SYNTAX", ""});
    return;
  }
  const auto* ke = msg::Find<v2::KePayload>(request, v2::PayloadType::kKe);
  // A rekey keeps its crypto map entry; a new child may match any.
  int only = -1;
  if (rekey_spi_in != 0) {
    if (const ChildSa* old = FindChildByIn(rekey_spi_in)) {
      for (size_t i = 0; i < policy_->children.size(); ++i) {
        if (SameLine(policy_->children[i], *old)) only = static_cast<int>(i);
      }
    }
  }
  bool ts_failed = false;
  for (size_t i = 0; i < policy_->children.size(); ++i) {
    if (only >= 0 && static_cast<int>(i) != only) continue;
    const ChildPolicy& cp = policy_->children[i];
    // TSi is the initiator's side: our remote.
    TsList remote_ts = Narrow(tsi->selectors, cp.remote_ts);
    TsList local_ts = Narrow(tsr->selectors, cp.local_ts);
    if (remote_ts.empty() || local_ts.empty()) {
      ts_failed = true;
      continue;
    }
    auto chosen = ChooseProposal(sa->proposals, in_auth ? WithoutDh(cp.proposals) : cp.proposals,
                                 in_auth, ke != nullptr ? ke->group : 0);
    if (!chosen) continue;
    auto suite = ChildSuiteOf(*chosen);
    const uint32_t spi_out = msg::Spi32Of(chosen->spi);
    if (!suite.ok() || spi_out < 256) continue;
    if (in_auth) suite->dh = 0;
    std::optional<SecretBytes> shared;
    std::optional<DhExchange> mine;
    if (suite->dh != 0) {
      if (ke == nullptr || ke->group != suite->dh) {
        std::string group(2, '\0');
        group[0] = static_cast<char>(suite->dh >> 8);
        group[1] = static_cast<char>(suite->dh & 0xff);
        reply.push_back(msg::Notify(notify::kInvalidKePayload, group));
        out.push_back(action::Failed{"CHILD_SA INVALID_KE_PAYLOAD", ""});
        return;
      }
      auto dh = DhExchange::Generate(suite->dh, policy_->allow_legacy);
      if (!dh.ok()) break;
      auto s = dh->Compute(ke->data);
      if (!s.ok()) {
        reply.push_back(msg::Notify(notify::kInvalidSyntax));
        out.push_back(action::Failed{"CHILD_SA INVALID_KE_PAYLOAD", ""});
        return;
      }
      shared = *std::move(s);
      mine = *std::move(dh);
    }
    const bool transport = cp.transport && msg::FindNotify(request, notify::kUseTransportMode);
    ChildPolicy effective = cp;
    effective.transport = transport;
    const uint32_t spi_in = NewChildSpi();
    // Which transform set: ChooseProposal takes ours in order, so the
    // first that matches alone is the one it chose.
    size_t proposal_index = 0;
    for (size_t k = 0; k < cp.proposals.size(); ++k) {
      const std::vector<v2::Proposal> one = {cp.proposals[k]};
      if (ChooseProposal(sa->proposals, in_auth ? WithoutDh(one) : one, in_auth,
                         ke != nullptr ? ke->group : 0)) {
        proposal_index = k;
        break;
      }
    }
    auto child = MakeChild(effective, proposal_index, *suite, spi_in, spi_out, ni, nr,
                           shared ? shared->view() : absl::string_view(), false, local_ts,
                           remote_ts);
    if (!child.ok()) continue;
    v2::Proposal answer = *chosen;
    answer.spi = msg::Spi32(spi_in);
    v2::SaPayload reply_sa;
    reply_sa.proposals.push_back(std::move(answer));
    reply.push_back(msg::Make(v2::PayloadType::kSa, std::move(reply_sa)));
    if (!in_auth) {
      reply.push_back(msg::Make(v2::PayloadType::kNonce, v2::NoncePayload{nr}));
      if (mine) {
        reply.push_back(
            msg::Make(v2::PayloadType::kKe, v2::KePayload{mine->group(), mine->public_value()}));
      }
    }
    reply.push_back(msg::Make(v2::PayloadType::kTsi, v2::TsPayload{remote_ts}));
    reply.push_back(msg::Make(v2::PayloadType::kTsr, v2::TsPayload{local_ts}));
    if (transport) reply.push_back(msg::Notify(notify::kUseTransportMode));
    if (child_policy_index_ < 0) child_policy_index_ = static_cast<int>(i);
    InstallChildSa(*std::move(child), rekey_spi_in, rekey_spi_in != 0, out);
    return;
  }
  const uint16_t why = ts_failed ? notify::kTsUnacceptable : notify::kNoProposalChosen;
  reply.push_back(msg::Notify(why));
  out.push_back(action::Failed{absl::StrCat("CHILD_SA ", notify::Name(why)), ""});
}

absl::StatusOr<ChildSa> IkeSa::MakeChild(const ChildPolicy& cp, size_t proposal_index,
                                         const ChildSuite& suite, uint32_t spi_in,
                                         uint32_t spi_out, const std::string& ni,
                                         const std::string& nr, absl::string_view shared,
                                         bool we_initiated, TsList local_ts, TsList remote_ts) {
  const auto [ek, ik] = EspKeySizes(suite);
  if (ek == 0 && suite.encr != 11) return absl::InvalidArgumentError("unknown ESP cipher");
  // §2.17: KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr); the initiator's
  // outbound keys (encryption, then integrity) first.
  auto keymat = ChildKeyMaterial(*prf_, sk_d_.view(), shared, ni, nr, 2 * (ek + ik));
  if (!keymat.ok()) return keymat.status();
  ChildSa c;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.suite = suite;
  SecretBytes i_encr = keymat->Sub(0, ek), i_integ = keymat->Sub(ek, ik);
  SecretBytes r_encr = keymat->Sub(ek + ik, ek), r_integ = keymat->Sub(2 * ek + ik, ik);
  if (we_initiated) {
    c.encr_out = std::move(i_encr);
    c.integ_out = std::move(i_integ);
    c.encr_in = std::move(r_encr);
    c.integ_in = std::move(r_integ);
  } else {
    c.encr_in = std::move(i_encr);
    c.integ_in = std::move(i_integ);
    c.encr_out = std::move(r_encr);
    c.integ_out = std::move(r_integ);
  }
  c.local_ts = std::move(local_ts);
  c.remote_ts = std::move(remote_ts);
  FillFromPolicy(cp, proposal_index, &c);
  return c;
}

void IkeSa::InstallChildSa(ChildSa child, uint32_t replaces, bool defer_outbound,
                           Actions& out) {
  const absl::Time now = env_.clock->Now();
  child.established = now;
  child.udp_encap = nat_local_ || nat_remote_;
  child.local = local_;
  child.remote = remote_;
  // The IKE initiator re-keys before the dataplane's hard limit; the
  // responder waits for it.
  child.rekey_at = initiator_ ? ChildRekeyAt(now, child.lifetime_seconds, *env_.rng)
                              : absl::InfiniteFuture();
  children_.push_back(child);
  out.push_back(action::InstallChild{std::move(child), replaces, defer_outbound});
}

void IkeSa::StartCreateChild(const Pending& p, Actions& out) {
  ChildExchange x;
  x.nonce = Nonce();
  x.spi_in = NewChildSpi();
  if (p.kind == Pending::Kind::kRekeyChild) {
    const ChildSa* old = FindChildByIn(p.spi_in);
    if (old == nullptr) return;
    x.rekey_spi_in = p.spi_in;
    bool found = false;
    for (size_t i = 0; i < policy_->children.size(); ++i) {
      if (SameLine(policy_->children[i], *old)) {
        x.child_policy = i;
        found = true;
      }
    }
    if (!found) return;
  } else {
    x.child_policy = p.child_policy;
    x.flow = p.flow;
  }
  std::vector<v2::Payload> payloads = OfferChild(x, false);
  child_exchange_ = std::make_unique<ChildExchange>(std::move(x));
  if (!SendRequest(static_cast<uint8_t>(v2::ExchangeType::kCreateChildSa), payloads, p.kind, out)
           .ok()) {
    child_exchange_.reset();
    out.push_back(action::Failed{"CHILD_SA INTERNAL_ERROR", ""});
  }
}

void IkeSa::HandleCreateChildRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                                     Actions& out) {
  const uint8_t exchange = static_cast<uint8_t>(v2::ExchangeType::kCreateChildSa);
  std::vector<v2::Payload> reply;
  const auto* sa = msg::Find<v2::SaPayload>(payloads, v2::PayloadType::kSa);
  const auto* nonce = msg::Find<v2::NoncePayload>(payloads, v2::PayloadType::kNonce);
  if (state_ != IkeState::kEstablished) {
    (void)SendResponse(exchange, mid, {msg::Notify(notify::kTemporaryFailure)}, out);
    return;
  }
  if (sa == nullptr || nonce == nullptr || nonce->data.size() < 16) {
    (void)SendResponse(exchange, mid, {msg::Notify(notify::kInvalidSyntax)}, out);
    return;
  }
  if (!sa->proposals.empty() && sa->proposals[0].protocol == kProtocolIke) {
    HandleIkeRekeyRequest(mid, payloads, out);
    return;
  }
  uint32_t rekey_spi_in = 0;
  if (const v2::NotifyPayload* rk = msg::FindNotify(payloads, notify::kRekeySa)) {
    // The SPI is the one the peer receives on: our outbound SPI.
    const ChildSa* old = FindChildByOut(msg::Spi32Of(rk->spi));
    if (old == nullptr) {
      (void)SendResponse(exchange, mid,
                         {msg::Notify(notify::kChildSaNotFound, "", kProtocolEsp, rk->spi)}, out);
      return;
    }
    rekey_spi_in = old->spi_in;
    if (child_exchange_ && child_exchange_->rekey_spi_in == rekey_spi_in &&
        !child_exchange_->lost_collision) {
      // §2.8.1: both sides re-key this pair at once. The higher nonce wins
      // here: we refuse theirs, or let ours go and answer theirs.
      if (child_exchange_->nonce > nonce->data) {
        (void)SendResponse(exchange, mid, {msg::Notify(notify::kTemporaryFailure)}, out);
        return;
      }
      child_exchange_->lost_collision = true;
    }
  }
  const std::string nr = Nonce();
  RespondChild(payloads, nonce->data, nr, std::nullopt, false, rekey_spi_in, reply, out);
  if (rekey_spi_in != 0 && msg::FirstError(reply) == nullptr) ++stats_.rekeys;
  (void)SendResponse(exchange, mid, reply, out);
}

void IkeSa::HandleCreateChildResponse(const std::vector<v2::Payload>& payloads, Actions& out) {
  if (!child_exchange_) return;
  if (child_exchange_->ike_rekey) {
    HandleIkeRekeyResponse(payloads, out);
    return;
  }
  ChildExchange x = std::move(*child_exchange_);
  child_exchange_.reset();
  const v2::NotifyPayload* err = msg::FirstError(payloads);
  if (x.rekey_spi_in != 0 && (x.lost_collision || (err != nullptr && err->type == notify::kTemporaryFailure))) {
    if (err == nullptr) {
      // We lost the collision but the peer made our pair too (strongSwan
      // answers both): it is redundant; delete it (§2.8.1).
      if (const v2::SaPayload* sa = msg::Find<v2::SaPayload>(payloads, v2::PayloadType::kSa)) {
        if (sa->proposals.size() == 1) {
          Pending p;
          p.kind = Pending::Kind::kDeleteChild;
          p.spi_in = x.spi_in;
          p.orphan = true;
          p.reason = "rekey collision";
          queue_.push_front(p);
        }
      }
    } else if (!x.lost_collision) {
      // The peer is busy (its own rekey won, or an IKE rekey): try again
      // shortly unless the pair is gone meanwhile.
      if (ChildSa* old = FindChildByIn(x.rekey_spi_in)) {
        old->rekey_at = env_.clock->Now() + absl::Seconds(2 + env_.rng->U32() % 8);
      }
    }
    return;
  }
  const auto* nonce = msg::Find<v2::NoncePayload>(payloads, v2::PayloadType::kNonce);
  if (nonce == nullptr && msg::FirstError(payloads) == nullptr) {
    out.push_back(action::Failed{"CHILD_SA INVALID_SYNTAX", ""});
    return;
  }
  const size_t before = children_.size();
  AcceptChild(x, payloads, x.nonce, nonce != nullptr ? nonce->data : std::string(), false, out);
  if (x.rekey_spi_in != 0 && children_.size() > before) {
    // §2.8: the rekey's initiator deletes the old SA.
    ++stats_.rekeys;
    Pending p;
    p.kind = Pending::Kind::kDeleteChild;
    p.spi_in = x.rekey_spi_in;
    p.reason = "rekeyed";
    queue_.push_front(p);
  }
}

}  // namespace vpnfleet::ike
