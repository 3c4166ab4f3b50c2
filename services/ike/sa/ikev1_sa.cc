#include "services/ike/sa/ikev1_sa.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/ike/keymat/ikev1_keys.h"
#include "services/ike/sa/ikev1_payloads.h"

namespace vpnfleet::ike {

namespace {
using isakmp::Exchange;
using isakmp::Payload;

// The peer's phase-1 SA is forgotten this long after a Quick Mode we
// answered got no HASH(3) (the initiator gave up or lost it).
constexpr absl::Duration kQuickTimeout = absl::Seconds(30);
// A duplicate pair (see Superseded) lives this long once its rekey is due:
// the peer may still be sending on it until it hears our Delete.
constexpr absl::Duration kSupersededGrace = absl::Seconds(10);

std::string Be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}
}  // namespace

const char* Ikev1StateName(Ikev1State s) {
  switch (s) {
    case Ikev1State::kMmNoState: return "MM_NO_STATE";
    case Ikev1State::kMmSaSetup: return "MM_SA_SETUP";
    case Ikev1State::kMmKeyExch: return "MM_KEY_EXCH";
    case Ikev1State::kMmKeyAuth: return "MM_KEY_AUTH";
    case Ikev1State::kAgNoState: return "AG_NO_STATE";
    case Ikev1State::kAgInitExch: return "AG_INIT_EXCH";
    case Ikev1State::kQmIdle: return "QM_IDLE";
    case Ikev1State::kDeleted: return "MM_NO_STATE";  // what IOS shows of a deleted SA
  }
  return "?";
}

Ikev1Sa::Ikev1Sa(Env env, std::shared_ptr<const SaPolicy> policy, bool initiator,
                 Endpoint local, Endpoint remote)
    : IkeSession(std::move(policy), initiator, local, remote), env_(env) {
  created_ = env_.clock->Now();
  last_heard_ = created_;
}

std::unique_ptr<Ikev1Sa> Ikev1Sa::NewInitiator(Env env, std::shared_ptr<const SaPolicy> policy,
                                               Endpoint local, Endpoint remote, size_t child,
                                               Flow flow, bool aggressive) {
  std::unique_ptr<Ikev1Sa> sa(new Ikev1Sa(env, std::move(policy), true, local, remote));
  sa->aggressive_ = aggressive;
  sa->child_policy_index_ = static_cast<int>(child);
  sa->first_flow_ = flow;
  if (child != kPhase1Only) {
    sa->waiting_.push_back(Waiting{child, flow, 0});
  } else {
    // A successor: INITIAL-CONTACT would make the peer drop the SAs it is
    // to take over (strongSwan destroys the "duplicate").
    sa->initial_contact_ = false;
  }
  do {
    sa->spi_i_ = env.rng->U64();
  } while (sa->spi_i_ == 0);
  return sa;
}

std::unique_ptr<Ikev1Sa> Ikev1Sa::NewResponder(Env env, std::shared_ptr<const SaPolicy> policy,
                                               Endpoint local, Endpoint remote) {
  std::unique_ptr<Ikev1Sa> sa(new Ikev1Sa(env, std::move(policy), false, local, remote));
  do {
    sa->spi_r_ = env.rng->U64();
  } while (sa->spi_r_ == 0);
  return sa;
}

Actions Ikev1Sa::Start() { return aggressive_ ? StartAggressive() : StartMain(); }

// --- plumbing ---

void Ikev1Sa::SetV1State(Ikev1State s, Actions& out) {
  v1state_ = s;
  IkeState general = state_;
  switch (s) {
    case Ikev1State::kQmIdle: general = IkeState::kEstablished; break;
    case Ikev1State::kDeleted: general = IkeState::kDead; break;
    default:
      // A responder that answered is half-open until phase 1 completes
      // (the manager's half-open limit counts it).
      general = initiator_ ? IkeState::kInitSent : IkeState::kInitDone;
      break;
  }
  if (general != state_) {
    out.push_back(action::StateChanged{state_, general});
    state_ = general;
  }
}

void Ikev1Sa::Fail(const std::string& reason, Actions& out, std::string detail) {
  out.push_back(action::Failed{reason, std::move(detail)});
  Forget(reason, out);
}

void Ikev1Sa::SendRaw(std::string datagram, Actions& out) {
  ++stats_.messages_out;
  out.push_back(action::Send{local_, remote_, std::move(datagram), false});
}

std::string Ikev1Sa::CookieI() const { return Be64(spi_i_); }
std::string Ikev1Sa::CookieR() const { return Be64(spi_r_); }
std::string Ikev1Sa::Cookies() const { return CookieI() + CookieR(); }

isakmp::Header Ikev1Sa::HeaderFor(uint8_t exchange, uint32_t message_id) const {
  isakmp::Header h;
  h.initiator_cookie = spi_i_;
  h.responder_cookie = spi_r_;
  h.exchange = exchange;
  h.message_id = message_id;
  return h;
}

absl::StatusOr<std::string> Ikev1Sa::Plain(uint8_t exchange,
                                           const std::vector<Payload>& payloads) const {
  auto chain = isakmp::EncodePayloads(payloads);
  if (!chain.ok()) return chain.status();
  return isakmp::EncodeFramed(HeaderFor(exchange, 0), payloads.front().type, *chain);
}

absl::StatusOr<std::string> Ikev1Sa::SealPhase1(uint8_t exchange,
                                                const std::vector<Payload>& payloads) {
  auto d = SealWith(exchange, 0, &iv_, payloads);
  if (d.ok()) p1_last_block_ = iv_;
  return d;
}

absl::StatusOr<std::string> Ikev1Sa::SealWith(uint8_t exchange, uint32_t message_id,
                                              std::string* iv,
                                              const std::vector<Payload>& payloads,
                                              bool commit) const {
  auto chain = isakmp::EncodePayloads(payloads);
  if (!chain.ok()) return chain.status();
  auto ct = cipher_->Encrypt(enc_key_, *iv, *chain);
  if (!ct.ok()) return ct.status();
  *iv = ikev1::LastBlock(*ct, cipher_->block_size());
  isakmp::Header h = HeaderFor(exchange, message_id);
  h.flags = isakmp::kFlagEncrypted | (commit ? isakmp::kFlagCommit : 0);
  return isakmp::EncodeFramed(h, payloads.front().type, *ct);
}

absl::StatusOr<std::vector<Payload>> Ikev1Sa::OpenWith(const isakmp::Framed& f,
                                                       std::string* iv) const {
  if (!cipher_) return absl::FailedPreconditionError("encrypted message before keys");
  auto plain = cipher_->Decrypt(enc_key_, *iv, f.body);
  if (!plain.ok()) return plain.status();
  auto payloads = isakmp::DecodePayloads(f.header.next_payload, *plain, true);
  if (!payloads.ok()) return payloads.status();
  *iv = ikev1::LastBlock(f.body, cipher_->block_size());
  return payloads;
}

absl::Duration Ikev1Sa::RetryAfter(int tries) const {
  // IOS's phase-1 retransmissions back off from the configured interval.
  absl::Duration d = policy_->retransmit_timeout;
  for (int i = 0; i < tries && d < absl::Seconds(32); ++i) d *= 2;
  return d;
}

void Ikev1Sa::Remember(std::string datagram, bool retransmit_on_timer, Actions& out) {
  last_sent_.datagram = datagram;
  last_sent_.tries = 0;
  last_sent_.next_send = retransmit_on_timer ? env_.clock->Now() + RetryAfter(0)
                                             : absl::InfiniteFuture();
  SendRaw(std::move(datagram), out);
}

std::string Ikev1Sa::Nonce() { return env_.rng->Bytes(32); }

uint32_t Ikev1Sa::NewChildSpi() {
  uint32_t spi = 0;
  // SPIs below 256 are reserved (RFC 4303 §2.1).
  while (spi < 256) spi = env_.rng->U32();
  return spi;
}

uint32_t Ikev1Sa::NewMessageId() {
  uint32_t mid = 0;
  while (mid == 0 || quick_.count(mid) != 0) mid = env_.rng->U32();
  return mid;
}

ChildSa* Ikev1Sa::FindChildByIn(uint32_t spi_in) {
  for (ChildSa& c : children_) {
    if (c.spi_in == spi_in) return &c;
  }
  return nullptr;
}

void Ikev1Sa::InstallChildSa(ChildSa child, uint32_t replaces, Actions& out) {
  const absl::Time now = env_.clock->Now();
  child.established = now;
  child.udp_encap = nat_local_ || nat_remote_;
  child.local = local_;
  child.remote = remote_;
  // As with IKEv2 the phase-1 initiator re-keys, the responder lets it
  // (IOS re-keys from either side; one is enough).
  child.rekey_at = initiator_ ? ChildRekeyAt(now, child.lifetime_seconds, *env_.rng)
                              : absl::InfiniteFuture();
  children_.push_back(child);
  // IKEv1 has no rule on who sends first on a new pair: both sides install
  // both halves as soon as they hold the keys (RFC 2409 §5.5).
  out.push_back(action::InstallChild{std::move(child), replaces, false});
}

bool Ikev1Sa::IsRetiring(uint32_t spi_in) const {
  for (const Retiring& r : retiring_) {
    if (r.spi_in == spi_in) return true;
  }
  return false;
}

void Ikev1Sa::Retire(uint32_t spi_in, absl::Duration grace) {
  if (ChildSa* c = FindChildByIn(spi_in)) c->rekey_at = absl::InfiniteFuture();
  retiring_.push_back(Retiring{spi_in, env_.clock->Now() + grace});
}

void Ikev1Sa::DeleteAllChildren(const std::string& reason, Actions& out) {
  for (const ChildSa& c : children_) {
    out.push_back(action::DeleteChild{c.spi_in, c.spi_out, reason});
  }
  children_.clear();
}

// --- events ---

Actions Ikev1Sa::Receive(const Endpoint& local, const Endpoint& remote,
                         absl::string_view datagram) {
  Actions out;
  if (state_ == IkeState::kDead) return out;
  auto f = isakmp::DecodeHeader(datagram);
  if (!f.ok()) {
    ++stats_.dropped;
    return out;
  }
  // A fresh responder learns the initiator's cookie from the first
  // message, which (like its repeats) has no responder cookie yet; an
  // initiator learns the responder's from the answer.
  const bool first = !initiator_ && f->header.responder_cookie == 0 &&
                     (spi_i_ == 0 || f->header.initiator_cookie == spi_i_);
  const bool answer = initiator_ && (v1state_ == Ikev1State::kMmNoState ||
                                     v1state_ == Ikev1State::kAgNoState);
  if (first && spi_i_ == 0) spi_i_ = f->header.initiator_cookie;
  if (f->header.initiator_cookie != spi_i_ ||
      (!first && !answer && f->header.responder_cookie != spi_r_)) {
    ++stats_.dropped;
    return out;
  }
  if (!(remote == remote_)) {
    // The manager moves remote_ on a NAT mapping change (SetRemote); a
    // first message after floating arrives on 4500 from the same peer.
    if (!(remote.address == remote_.address)) {
      ++stats_.dropped;
      return out;
    }
    remote_ = remote;
  }
  local_ = local;
  ++stats_.messages_in;
  switch (static_cast<Exchange>(f->header.exchange)) {
    case Exchange::kIdentityProtection:
    case Exchange::kAggressive:
      ReceivePhase1(*f, datagram, out);
      break;
    case Exchange::kQuickMode:
      if (v1state_ == Ikev1State::kQmIdle) {
        ReceiveQuick(*f, datagram, out);
      } else {
        ++stats_.dropped;
      }
      break;
    case Exchange::kInformational:
      ReceiveInformational(*f, out);
      break;
    default:
      ++stats_.dropped;
      break;
  }
  if (state_ != IkeState::kDead) last_heard_ = env_.clock->Now();
  return out;
}

Actions Ikev1Sa::Tick() {
  Actions out;
  const absl::Time now = env_.clock->Now();
  if (state_ == IkeState::kDead) return out;
  if (parked_ && now >= parked_->deadline) {
    // No OCSP answer in time: judged by the next revocation method.
    Actions resumed = RevocationAnswered();
    out.insert(out.end(), resumed.begin(), resumed.end());
    if (state_ == IkeState::kDead) return out;
  }
  if (now >= last_sent_.next_send) {
    if (last_sent_.tries >= policy_->retransmit_tries) {
      Fail("TIMEOUT", out, absl::StrCat("no answer in ", StateName()));
      return out;
    }
    ++last_sent_.tries;
    ++stats_.retransmits;
    last_sent_.next_send = now + RetryAfter(last_sent_.tries);
    SendRaw(last_sent_.datagram, out);
  }
  if (state_ != IkeState::kEstablished) {
    if (now - created_ > policy_->half_open_timeout + (initiator_ ? absl::Seconds(30) : absl::ZeroDuration())) {
      Fail("HALF_OPEN_TIMEOUT", out);
    }
    return out;
  }
  for (auto it = quick_.begin(); it != quick_.end();) {
    Quick& q = it->second;
    if (now >= q.sent.next_send) {
      if (q.sent.tries >= policy_->retransmit_tries) {
        out.push_back(action::Failed{"TIMEOUT", "Quick Mode got no answer"});
        it = quick_.erase(it);
        continue;
      }
      ++q.sent.tries;
      ++stats_.retransmits;
      q.sent.next_send = now + RetryAfter(q.sent.tries);
      SendRaw(q.sent.datagram, out);
    }
    if (now - q.started > kQuickTimeout) {
      if (q.we_initiated && q.commit && q.pending) {
        out.push_back(action::Failed{
            "TIMEOUT", "Quick Mode: the responder set the commit bit but sent no CONNECTED"});
      }
      it = quick_.erase(it);
      continue;
    }
    ++it;
  }
  if (now >= reestablish_at_) {
    reestablish_at_ = absl::InfiniteFuture();  // asked once
    out.push_back(action::Reestablish{});
  }
  if (now >= expires_at_) {
    out.push_back(action::Failed{"LIFETIME_EXPIRED", ""});
    Actions closing = Close("ISAKMP SA lifetime expired");
    out.insert(out.end(), closing.begin(), closing.end());
    return out;
  }
  std::vector<uint32_t> superseded;
  for (ChildSa& c : children_) {
    if (now >= c.rekey_at) {
      c.rekey_at = absl::InfiniteFuture();  // once
      if (Superseded(c)) {
        superseded.push_back(c.spi_in);
      } else {
        waiting_.push_back(Waiting{0, std::nullopt, c.spi_in});
      }
    }
  }
  for (uint32_t spi_in : superseded) Retire(spi_in, kSupersededGrace);
  for (auto it = retiring_.begin(); it != retiring_.end();) {
    if (now < it->at) {
      ++it;
      continue;
    }
    Actions closing = CloseChild(it->spi_in, "replaced by a rekey");
    out.insert(out.end(), closing.begin(), closing.end());
    it = retiring_.erase(it);
  }
  if (dpd_ && now >= dpd_->next_send) {
    if (dpd_->tries >= policy_->retransmit_tries) {
      Fail("DPD_TIMEOUT", out);
      return out;
    }
    ++dpd_->tries;
    SendDpd(out);
  } else if (!dpd_ && DpdCheckDue(now)) {
    if (!policy_->dpd_on_demand || last_outbound_ > last_heard_) {
      dpd_ = Dpd{++dpd_sequence_, 0, now};
      SendDpd(out);
    } else {
      next_dpd_check_ = now + policy_->dpd_interval;
    }
  }
  if (nat_local_ && now >= next_keepalive_) {
    next_keepalive_ = now + policy_->nat_keepalive;
    out.push_back(action::Send{local_, remote_, std::string(1, '\xff'), true});
  }
  PumpWaiting(out);
  return out;
}

absl::Time Ikev1Sa::NextDeadline() const {
  absl::Time t = absl::InfiniteFuture();
  if (state_ == IkeState::kDead) return t;
  t = std::min(t, last_sent_.next_send);
  if (parked_) t = std::min(t, parked_->deadline);
  if (state_ != IkeState::kEstablished) {
    return std::min(t, created_ + policy_->half_open_timeout +
                           (initiator_ ? absl::Seconds(30) : absl::ZeroDuration()) +
                           absl::Milliseconds(1));
  }
  t = std::min(t, expires_at_);
  t = std::min(t, reestablish_at_);
  for (const auto& [mid, q] : quick_) {
    t = std::min(t, q.sent.next_send);
    t = std::min(t, q.started + kQuickTimeout + absl::Milliseconds(1));
  }
  for (const ChildSa& c : children_) t = std::min(t, c.rekey_at);
  for (const Retiring& r : retiring_) t = std::min(t, r.at);
  if (dpd_) {
    t = std::min(t, dpd_->next_send);
  } else if (policy_->dpd_interval > absl::ZeroDuration() && peer_dpd_) {
    t = std::min(t, std::max(last_heard_ + policy_->dpd_interval, next_dpd_check_));
  }
  if (nat_local_) t = std::min(t, next_keepalive_);
  if (!waiting_.empty()) t = env_.clock->Now();
  return t;
}

Actions Ikev1Sa::Close(const std::string& reason) {
  Actions out;
  if (state_ == IkeState::kDead) return out;
  if (state_ == IkeState::kEstablished) {
    for (const ChildSa& c : children_) SendDeleteChild(c.spi_in, out);
    isakmp::DeletePayload d;
    d.protocol = isakmp::kProtoIsakmp;
    d.spi_size = 16;
    d.spis.push_back(Cookies());
    SendInformational({isakmp::MakeDelete(std::move(d))}, out);
  }
  Forget(reason, out);
  return out;
}

Actions Ikev1Sa::Abandon(const std::string& reason) {
  Actions out;
  Forget(reason, out);
  return out;
}

void Ikev1Sa::Forget(const std::string& reason, Actions& out) {
  DeleteAllChildren(reason, out);
  quick_.clear();
  waiting_.clear();
  retiring_.clear();
  last_sent_ = Retransmit{};
  dpd_.reset();
  parked_.reset();
  SetV1State(Ikev1State::kDeleted, out);
}

Actions Ikev1Sa::CloseChild(uint32_t spi_in, const std::string& reason) {
  Actions out;
  ChildSa* c = FindChildByIn(spi_in);
  if (c == nullptr) return out;
  if (state_ == IkeState::kEstablished) SendDeleteChild(spi_in, out);
  out.push_back(action::DeleteChild{c->spi_in, c->spi_out, reason});
  children_.erase(children_.begin() + (c - children_.data()));
  return out;
}

Actions Ikev1Sa::RekeyChild(uint32_t spi_in) {
  Actions out;
  if (FindChildByIn(spi_in) == nullptr) return out;
  for (const auto& [mid, q] : quick_) {
    if (q.rekey_spi_in == spi_in) return out;  // under way
  }
  if (IsRetiring(spi_in)) return out;  // already replaced
  if (Superseded(*FindChildByIn(spi_in))) {
    Retire(spi_in, kSupersededGrace);
    return out;
  }
  waiting_.push_back(Waiting{0, std::nullopt, spi_in});
  if (state_ == IkeState::kEstablished) PumpWaiting(out);
  return out;
}

Actions Ikev1Sa::AddChild(size_t child, Flow flow) {
  Actions out;
  if (child >= policy_->children.size() || HasChildFor(child, flow)) return out;
  waiting_.push_back(Waiting{child, flow, 0});
  if (state_ == IkeState::kEstablished) PumpWaiting(out);
  return out;
}

bool Ikev1Sa::HasChildFor(size_t child, const Flow& flow) const {
  if (child >= policy_->children.size()) return false;
  const ChildPolicy& cp = policy_->children[child];
  auto same_flow = [&](const Flow& f, const TsList& local, const TsList& remote) {
    if (!cp.per_host || !flow) return true;
    if (f) return f->first == flow->first && f->second == flow->second;
    return Covers(local, {flow->first}) && Covers(remote, {flow->second});
  };
  for (const ChildSa& c : children_) {
    // A pair a rekey replaced does not count: when its successor is gone
    // (a hard volume limit reached before the next rekey), the line needs
    // a new pair now, not once the grace time is over.
    if (SameLine(c, cp) && same_flow(std::nullopt, c.local_ts, c.remote_ts) &&
        !IsRetiring(c.spi_in)) {
      return true;
    }
  }
  for (const auto& [mid, q] : quick_) {
    // Ours, for a new pair, not yet installed (a finished one stays a
    // while to answer a repeated message 2; one waiting for CONNECTED
    // holds its pair in `pending`).
    if (q.we_initiated && q.rekey_spi_in == 0 && (q.stage < 3 || q.pending) &&
        q.child_policy == child &&
        same_flow(q.flow, {}, {})) {
      return true;
    }
  }
  for (const Waiting& w : waiting_) {
    if (w.rekey_spi_in == 0 && w.child_policy == child && same_flow(w.flow, {}, {})) return true;
  }
  return false;
}

Actions Ikev1Sa::CheckLiveness() {
  Actions out;
  if (state_ != IkeState::kEstablished || dpd_ || !peer_dpd_) return out;
  dpd_ = Dpd{++dpd_sequence_, 0, env_.clock->Now()};
  SendDpd(out);
  return out;
}

Actions Ikev1Sa::NotifyInvalidSpi(uint32_t spi) {
  Actions out;
  if (state_ != IkeState::kEstablished) return out;
  isakmp::NotificationPayload n;
  n.protocol = isakmp::kProtoEsp;
  n.type = kV1InvalidSpi;
  n.spi = ikev1::Be32(spi);
  SendInformational({isakmp::MakeNotification(std::move(n))}, out);
  return out;
}

void Ikev1Sa::NoteTraffic(absl::Time when) { last_heard_ = std::max(last_heard_, when); }
void Ikev1Sa::NoteOutbound(absl::Time when) { last_outbound_ = std::max(last_outbound_, when); }

bool Ikev1Sa::DpdCheckDue(absl::Time now) const {
  // RFC 3706: only with a peer that announced DPD.
  return state_ == IkeState::kEstablished && peer_dpd_ &&
         policy_->dpd_interval > absl::ZeroDuration() && !dpd_ &&
         now >= last_heard_ + policy_->dpd_interval && now >= next_dpd_check_;
}

// --- handing the pairs to a new phase 1 ---

Ikev1Sa::Handover Ikev1Sa::ReleaseChildren() {
  Handover h;
  h.children = std::move(children_);
  children_.clear();
  for (const Retiring& r : retiring_) h.retiring.emplace_back(r.spi_in, r.at);
  retiring_.clear();
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->rekey_spi_in != 0) {
      h.rekeys.push_back(it->rekey_spi_in);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  // A Quick Mode in flight re-keying a pair that moves would install its
  // result on this SA, which is going: it is dropped (the new SA re-keys).
  for (auto it = quick_.begin(); it != quick_.end();) {
    if (it->second.rekey_spi_in != 0) {
      h.rekeys.push_back(it->second.rekey_spi_in);
      it = quick_.erase(it);
    } else {
      ++it;
    }
  }
  return h;
}

Actions Ikev1Sa::AdoptChildren(Handover h) {
  Actions out;
  for (ChildSa& c : h.children) children_.push_back(std::move(c));
  for (const auto& [spi_in, at] : h.retiring) retiring_.push_back(Retiring{spi_in, at});
  for (uint32_t spi_in : h.rekeys) {
    if (FindChildByIn(spi_in) != nullptr) waiting_.push_back(Waiting{0, std::nullopt, spi_in});
  }
  if (state_ == IkeState::kEstablished) PumpWaiting(out);
  return out;
}

}  // namespace vpnfleet::ike
