#include "services/ike/sa/ike_sa.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/ike/sa/notify.h"

namespace vpnfleet::ike {
namespace {
// How long a re-keyed IKE SA waits for the peer's Delete of it.
constexpr absl::Duration kRekeyedTimeout = absl::Seconds(30);
constexpr size_t kUdpHeader = 8;
constexpr size_t kIpv4Header = 20, kIpv6Header = 40;
}  // namespace

const char* IkeStateName(IkeState s) {
  switch (s) {
    case IkeState::kIdle: return "IDLE";
    case IkeState::kInitSent: return "INIT_SENT";
    case IkeState::kInitDone: return "INIT_DONE";
    case IkeState::kAuthSent: return "AUTH_SENT";
    case IkeState::kEstablished: return "ESTABLISHED";
    case IkeState::kRekeyed: return "REKEYED";
    case IkeState::kDeleting: return "DELETING";
    case IkeState::kDead: return "DEAD";
  }
  return "?";
}

IkeSa::IkeSa(Env env, std::shared_ptr<const SaPolicy> policy, bool initiator, Endpoint local,
             Endpoint remote)
    : IkeSession(std::move(policy), initiator, local, remote), env_(env) {
  created_ = env_.clock->Now();
  last_heard_ = created_;
}

std::unique_ptr<IkeSa> IkeSa::NewInitiator(
    Env env, std::shared_ptr<const SaPolicy> policy, Endpoint local, Endpoint remote,
    size_t child, std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow) {
  std::unique_ptr<IkeSa> sa(new IkeSa(env, std::move(policy), true, local, remote));
  sa->child_policy_index_ = child < sa->policy_->children.size() ? static_cast<int>(child) : -1;
  sa->first_flow_ = std::move(flow);
  return sa;
}

std::unique_ptr<IkeSa> IkeSa::NewResponder(Env env, std::shared_ptr<const SaPolicy> policy,
                                           Endpoint local, Endpoint remote) {
  return std::unique_ptr<IkeSa>(new IkeSa(env, std::move(policy), false, local, remote));
}

void IkeSa::SetState(IkeState s, Actions& out) {
  if (s == state_) return;
  out.push_back(action::StateChanged{state_, s});
  state_ = s;
}

void IkeSa::Fail(const std::string& reason, Actions& out, std::string detail) {
  out.push_back(action::Failed{reason, std::move(detail)});
  DeleteAllChildren(reason, out);
  outstanding_.reset();
  queue_.clear();
  SetState(IkeState::kDead, out);
}

void IkeSa::SendRaw(std::string datagram, Actions& out) {
  ++stats_.messages_out;
  out.push_back(action::Send{local_, remote_, std::move(datagram), false});
}

absl::StatusOr<std::vector<std::string>> IkeSa::Protect(
    const v2::Header& header, const std::vector<v2::Payload>& payloads) {
  std::string inner;
  uint8_t first = 0;
  if (!payloads.empty()) {
    auto encoded = v2::EncodePayloads(payloads);
    if (!encoded.ok()) return encoded.status();
    inner = *std::move(encoded);
    first = payloads.front().type;
  }
  // The IP datagram: IP and UDP headers, the non-ESP marker on 4500.
  const size_t ip = remote_.address.family == net::Family::kV6 ? kIpv6Header : kIpv4Header;
  const size_t wire = ip + kUdpHeader + (local_.port == kNatTPort ? 4 : 0);
  const size_t limit = policy_->fragment_size;
  std::vector<std::string> out;
  if (!fragmentation_ || limit == 0 || wire + send_->Overhead(false) + inner.size() <= limit) {
    auto whole = send_->Seal(header, first, inner, env_.rng->Bytes(send_->iv_size()));
    if (!whole.ok()) return whole.status();
    out.push_back(*std::move(whole));
    return out;
  }
  auto fragments = SealFragments(*send_, header, first, inner, limit - wire, *env_.rng);
  crypto::ZeroizeString(&inner);
  return fragments;
}

absl::Status IkeSa::SendRequest(uint8_t exchange, const std::vector<v2::Payload>& payloads,
                                Pending::Kind kind, Actions& out) {
  v2::Header h;
  h.initiator_spi = spi_i_;
  h.responder_spi = spi_r_;
  h.exchange_type = exchange;
  h.flags = initiator_ ? v2::kFlagInitiator : 0;
  h.message_id = next_request_id_;
  auto datagrams = Protect(h, payloads);
  if (!datagrams.ok()) return datagrams.status();
  Outstanding o;
  o.message_id = next_request_id_++;
  o.exchange = exchange;
  o.datagrams = *datagrams;
  o.tries = 1;
  o.kind = kind;
  o.next_send = env_.clock->Now() + RetryAfter(o);
  outstanding_ = std::move(o);
  for (std::string& d : *datagrams) SendRaw(std::move(d), out);
  return absl::OkStatus();
}

absl::Status IkeSa::SendResponse(uint8_t exchange, uint32_t message_id,
                                 const std::vector<v2::Payload>& payloads, Actions& out) {
  v2::Header h;
  h.initiator_spi = spi_i_;
  h.responder_spi = spi_r_;
  h.exchange_type = exchange;
  h.flags = static_cast<uint8_t>(v2::kFlagResponse | (initiator_ ? v2::kFlagInitiator : 0));
  h.message_id = message_id;
  auto datagrams = Protect(h, payloads);
  if (!datagrams.ok()) return datagrams.status();
  last_response_id_ = message_id;
  last_response_ = *datagrams;
  for (std::string& d : *datagrams) SendRaw(std::move(d), out);
  return absl::OkStatus();
}

Actions IkeSa::Receive(const Endpoint& local, const Endpoint& remote,
                       absl::string_view datagram) {
  Actions out;
  if (state_ == IkeState::kDead) return out;
  v2::DecodeError why = v2::DecodeError::kNone;
  auto m = v2::Decode(datagram, &why);
  if (!m.ok()) {
    ++stats_.dropped;
    return out;
  }
  ++stats_.messages_in;
  const v2::Header& h = m->header;
  const bool response = (h.flags & v2::kFlagResponse) != 0;
  // §2.1: the I flag says who sent it; a message claiming our own role is
  // a reflection or garbage.
  const bool from_initiator = (h.flags & v2::kFlagInitiator) != 0;
  if (from_initiator == initiator_) {
    ++stats_.dropped;
    return out;
  }
  if (h.exchange_type == static_cast<uint8_t>(v2::ExchangeType::kIkeSaInit)) {
    if (!response && !initiator_) {
      if (state_ == IkeState::kIdle) {
        local_ = local;
        remote_ = remote;
        HandleInitRequest(*m, datagram, out);
      } else if (datagram == init_request_ && state_ == IkeState::kInitDone) {
        ++stats_.retransmits;
        SendRaw(init_response_, out);  // our answer was lost
      } else {
        ++stats_.dropped;
      }
    } else if (response && initiator_ && state_ == IkeState::kInitSent &&
               h.initiator_spi == spi_i_) {
      HandleInitResponse(*m, datagram, out);
    } else {
      ++stats_.dropped;
    }
    return out;
  }
  if (!recv_ || h.responder_spi != spi_r_ || h.initiator_spi != spi_i_) {
    ++stats_.dropped;
    return out;
  }
  ReceiveProtected(*m, datagram, local, remote, out);
  return out;
}

void IkeSa::ReceiveProtected(const v2::Message& outer, absl::string_view datagram,
                             const Endpoint& local, const Endpoint& remote, Actions& out) {
  const v2::Header& h = outer.header;
  const bool response = (h.flags & v2::kFlagResponse) != 0;
  // Cheap window checks before any crypto.
  if (response) {
    if (!outstanding_ || outstanding_->message_id != h.message_id) {
      ++stats_.dropped;
      return;
    }
  } else if (!(last_response_id_ && *last_response_id_ == h.message_id) &&
             h.message_id != expected_request_id_) {
    ++stats_.dropped;
    return;
  }
  auto opened = recv_->Open(datagram);
  if (!opened.ok()) {
    ++stats_.dropped;
    return;
  }
  last_heard_ = env_.clock->Now();
  // Authenticated: replies follow the peer (§2.23: a NAT mapping may
  // change, and the initiator moves to port 4500).
  local_ = local;
  remote_ = remote;
  if (!response && last_response_id_ && *last_response_id_ == h.message_id) {
    // §2.1: a retransmitted request gets the same answer again; a
    // fragmented one, once per retransmission (on its first fragment,
    // RFC 7383 §2.6.1), not once per fragment.
    if (opened->total_fragments != 0 && opened->fragment_number != 1) return;
    ++stats_.retransmits;
    for (const std::string& d : last_response_) SendRaw(d, out);
    return;
  }
  if (opened->total_fragments != 0) {
    if (!fragmentation_) {
      ++stats_.dropped;  // §2.5: never negotiated
      return;
    }
    // §2.6.2: each fragment was authenticated above before it is kept.
    SkCipher::Opened whole;
    switch (reassembly_[response ? 1 : 0].Add(*std::move(opened), env_.clock->Now(), &whole)) {
      case FragmentReassembly::Outcome::kKept:
        return;
      case FragmentReassembly::Outcome::kDropped:
        ++stats_.dropped;
        return;
      case FragmentReassembly::Outcome::kComplete:
        break;
    }
    opened = std::move(whole);
  }
  v2::DecodeError why = v2::DecodeError::kNone;
  auto payloads = v2::DecodePayloads(opened->first_inner, opened->inner, &why);
  if (!payloads.ok()) {
    ++stats_.dropped;
    if (!response) {
      ++expected_request_id_;
      v2::Payload n;
      n.type = static_cast<uint8_t>(v2::PayloadType::kNotify);
      v2::NotifyPayload np;
      np.type = why == v2::DecodeError::kUnsupportedCriticalPayload
                    ? notify::kUnsupportedCriticalPayload
                    : notify::kInvalidSyntax;
      n.body = np;
      (void)SendResponse(h.exchange_type, h.message_id, {n}, out);
    }
    return;
  }
  if (response) {
    Outstanding done = *std::move(outstanding_);
    outstanding_.reset();
    switch (static_cast<v2::ExchangeType>(h.exchange_type)) {
      case v2::ExchangeType::kIkeAuth:
        if (state_ == IkeState::kAuthSent) HandleAuthResponse(*payloads, out);
        break;
      case v2::ExchangeType::kCreateChildSa:
        HandleCreateChildResponse(*payloads, out);
        break;
      case v2::ExchangeType::kInformational:
        if (done.kind == Pending::Kind::kDeleteIke) {
          SetState(IkeState::kDead, out);
          return;
        }
        HandleInformationalResponse(*payloads, out);
        break;
      default:
        ++stats_.dropped;
        break;
    }
    PumpQueue(out);
    return;
  }
  ++expected_request_id_;
  switch (static_cast<v2::ExchangeType>(h.exchange_type)) {
    case v2::ExchangeType::kIkeAuth:
      if (state_ == IkeState::kInitDone) {
        HandleAuthRequest(h.message_id, *payloads, out);
      } else {
        ++stats_.dropped;
      }
      break;
    case v2::ExchangeType::kCreateChildSa:
      HandleCreateChildRequest(h.message_id, *payloads, out);
      break;
    case v2::ExchangeType::kInformational:
      HandleInformationalRequest(h.message_id, *payloads, out);
      break;
    default:
      ++stats_.dropped;
      break;
  }
  PumpQueue(out);
}

absl::Duration IkeSa::RetryAfter(const Outstanding& o) const {
  if (o.kind == Pending::Kind::kDpd && policy_->dpd_retry > absl::ZeroDuration()) {
    return policy_->dpd_retry;  // IOS repeats keepalives at a fixed interval
  }
  // Exponential backoff: 1, 2, 4, ... times the base after each try.
  return policy_->retransmit_timeout * (1 << (std::max(o.tries, 1) - 1));
}

void IkeSa::PumpQueue(Actions& out) {
  while (!outstanding_ && !queue_.empty() && state_ == IkeState::kEstablished) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    switch (p.kind) {
      case Pending::Kind::kCreateChild:
      case Pending::Kind::kRekeyChild:
        StartCreateChild(p, out);
        break;
      case Pending::Kind::kRekeyIke:
        StartIkeRekey(out);
        break;
      default:
        StartInformational(p, out);
        break;
    }
  }
}

Actions IkeSa::Tick() {
  Actions out;
  const absl::Time now = env_.clock->Now();
  if (state_ == IkeState::kDead) return out;
  for (FragmentReassembly& r : reassembly_) r.Expire(now);
  if (parked_auth_ && now >= parked_auth_->deadline) {
    ResumeAuth(out);  // no verdict came: judged without one
    if (state_ == IkeState::kDead) return out;
  }
  if (outstanding_ && now >= outstanding_->next_send) {
    if (outstanding_->tries >= policy_->retransmit_tries) {
      const bool dpd = outstanding_->kind == Pending::Kind::kDpd;
      const bool deleting = outstanding_->kind == Pending::Kind::kDeleteIke;
      outstanding_.reset();
      if (deleting) {
        SetState(IkeState::kDead, out);
      } else {
        Fail(dpd ? "DPD_TIMEOUT" : "TIMEOUT", out);
      }
      return out;
    }
    ++outstanding_->tries;
    ++stats_.retransmits;
    outstanding_->next_send = now + RetryAfter(*outstanding_);
    for (const std::string& d : outstanding_->datagrams) SendRaw(d, out);
  }
  if (state_ == IkeState::kInitDone) {
    // A responder's half-open SA that does not finish is dropped (an
    // initiator's own retransmits end its attempt).
    if (now - created_ > policy_->half_open_timeout) Fail("HALF_OPEN_TIMEOUT", out);
    return out;
  }
  if (state_ == IkeState::kRekeyed && !outstanding_ && now - rekeyed_at_ > kRekeyedTimeout) {
    // The peer re-keyed and never deleted the old SA: let it go quietly
    // (its children live on in the successor).
    SetState(IkeState::kDead, out);
    return out;
  }
  if (state_ != IkeState::kEstablished) return out;
  if (now >= expires_at_) {
    out.push_back(action::Failed{"LIFETIME_EXPIRED", ""});
    Actions closing = Close("IKE SA lifetime expired");
    out.insert(out.end(), closing.begin(), closing.end());
    return out;
  }
  if (now >= ike_rekey_at_) {
    ike_rekey_at_ = absl::InfiniteFuture();  // once; the hard lifetime ends a failed one
    Pending p;
    p.kind = Pending::Kind::kRekeyIke;
    queue_.push_back(p);
  }
  for (ChildSa& c : children_) {
    if (now >= c.rekey_at) {
      c.rekey_at = absl::InfiniteFuture();  // once
      Pending p;
      p.kind = Pending::Kind::kRekeyChild;
      p.spi_in = c.spi_in;
      queue_.push_back(p);
    }
  }
  if (queue_.empty() && DpdCheckDue(now)) {
    if (!policy_->dpd_on_demand || last_outbound_ > last_heard_) {
      Pending p;
      p.kind = Pending::Kind::kDpd;
      queue_.push_back(p);
    } else {
      next_dpd_check_ = now + policy_->dpd_interval;  // idle both ways: look again later
    }
  }
  if (nat_local_ && now >= next_keepalive_) {
    // RFC 3948 §2.3: one octet 0xFF keeps the NAT mapping open.
    next_keepalive_ = now + policy_->nat_keepalive;
    out.push_back(action::Send{local_, remote_, std::string(1, '\xff'), true});
  }
  PumpQueue(out);
  return out;
}

absl::Time IkeSa::NextDeadline() const {
  absl::Time t = absl::InfiniteFuture();
  if (state_ == IkeState::kDead) return t;
  if (outstanding_) t = std::min(t, outstanding_->next_send);
  if (parked_auth_) t = std::min(t, parked_auth_->deadline);
  if (state_ == IkeState::kInitDone) {
    return std::min(t, created_ + policy_->half_open_timeout + absl::Milliseconds(1));
  }
  if (state_ == IkeState::kRekeyed) return std::min(t, rekeyed_at_ + kRekeyedTimeout + absl::Milliseconds(1));
  if (state_ != IkeState::kEstablished) return t;
  t = std::min(t, expires_at_);
  t = std::min(t, ike_rekey_at_);
  for (const ChildSa& c : children_) t = std::min(t, c.rekey_at);
  if (policy_->dpd_interval > absl::ZeroDuration() && !outstanding_) {
    t = std::min(t, std::max(last_heard_ + policy_->dpd_interval, next_dpd_check_));
  }
  if (nat_local_) t = std::min(t, next_keepalive_);
  if (!queue_.empty() && !outstanding_) t = env_.clock->Now();
  return t;
}

void IkeSa::NoteTraffic(absl::Time when) { last_heard_ = std::max(last_heard_, when); }

void IkeSa::NoteOutbound(absl::Time when) {
  last_outbound_ = std::max(last_outbound_, when);
  if (last_outbound_ > last_heard_) next_dpd_check_ = absl::InfinitePast();
}

bool IkeSa::DpdCheckDue(absl::Time now) const {
  return policy_->dpd_interval > absl::ZeroDuration() && state_ == IkeState::kEstablished &&
         !outstanding_ && now - last_heard_ >= policy_->dpd_interval && now >= next_dpd_check_;
}

Actions IkeSa::Close(const std::string& reason) {
  Actions out;
  if (state_ == IkeState::kDead || state_ == IkeState::kDeleting) return out;
  if (state_ != IkeState::kEstablished) {
    DeleteAllChildren(reason, out);
    outstanding_.reset();
    SetState(IkeState::kDead, out);
    return out;
  }
  queue_.clear();
  Pending p;
  p.kind = Pending::Kind::kDeleteIke;
  p.reason = reason;
  if (outstanding_) {
    // The window is busy: what is out is abandoned (the peer deletes the
    // whole SA anyway).
    outstanding_.reset();
  }
  StartInformational(p, out);
  return out;
}

Actions IkeSa::Abandon(const std::string& reason) {
  Actions out;
  if (state_ == IkeState::kDead) return out;
  DeleteAllChildren(reason, out);
  outstanding_.reset();
  queue_.clear();
  SetState(IkeState::kDead, out);
  return out;
}

Actions IkeSa::CloseChild(uint32_t spi_in, const std::string& reason) {
  Actions out;
  if (state_ != IkeState::kEstablished || FindChildByIn(spi_in) == nullptr) return out;
  Pending p;
  p.kind = Pending::Kind::kDeleteChild;
  p.spi_in = spi_in;
  p.reason = reason;
  queue_.push_back(p);
  PumpQueue(out);
  return out;
}

Actions IkeSa::RekeyChild(uint32_t spi_in) {
  Actions out;
  ChildSa* c = FindChildByIn(spi_in);
  if (state_ != IkeState::kEstablished || c == nullptr) return out;
  for (const Pending& q : queue_) {
    if (q.kind == Pending::Kind::kRekeyChild && q.spi_in == spi_in) return out;
  }
  if (child_exchange_ && child_exchange_->rekey_spi_in == spi_in) return out;
  c->rekey_at = absl::InfiniteFuture();
  Pending p;
  p.kind = Pending::Kind::kRekeyChild;
  p.spi_in = spi_in;
  queue_.push_back(p);
  PumpQueue(out);
  return out;
}

Actions IkeSa::AddChild(size_t child,
                        std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow) {
  Actions out;
  if (child >= policy_->children.size() || state_ == IkeState::kDead ||
      state_ == IkeState::kDeleting) {
    return out;
  }
  Pending p;
  p.kind = Pending::Kind::kCreateChild;
  p.child_policy = child;
  p.flow = std::move(flow);
  queue_.push_back(p);
  PumpQueue(out);
  return out;
}

Actions IkeSa::RekeyIke() {
  Actions out;
  if (state_ != IkeState::kEstablished) return out;
  for (const Pending& q : queue_) {
    if (q.kind == Pending::Kind::kRekeyIke) return out;
  }
  if (child_exchange_ && child_exchange_->ike_rekey) return out;
  Pending p;
  p.kind = Pending::Kind::kRekeyIke;
  queue_.push_back(p);
  PumpQueue(out);
  return out;
}

Actions IkeSa::NotifyInvalidSpi(uint32_t spi) {
  Actions out;
  if (state_ != IkeState::kEstablished) return out;
  for (const Pending& q : queue_) {
    if (q.kind == Pending::Kind::kInvalidSpi && q.spi_in == spi) return out;
  }
  Pending p;
  p.kind = Pending::Kind::kInvalidSpi;
  p.spi_in = spi;  // here: the unknown SPI the peer sent to
  queue_.push_back(p);
  PumpQueue(out);
  return out;
}

Actions IkeSa::CheckLiveness() {
  Actions out;
  if (state_ != IkeState::kEstablished || outstanding_) return out;
  Pending p;
  p.kind = Pending::Kind::kDpd;
  queue_.push_back(p);
  PumpQueue(out);
  return out;
}

void IkeSa::DeleteAllChildren(const std::string& reason, Actions& out) {
  for (const ChildSa& c : children_) {
    out.push_back(action::DeleteChild{c.spi_in, c.spi_out, reason});
  }
  children_.clear();
}

ChildSa* IkeSa::FindChildByIn(uint32_t spi_in) {
  for (ChildSa& c : children_) {
    if (c.spi_in == spi_in) return &c;
  }
  return nullptr;
}

ChildSa* IkeSa::FindChildByOut(uint32_t spi_out) {
  for (ChildSa& c : children_) {
    if (c.spi_out == spi_out) return &c;
  }
  return nullptr;
}

uint32_t IkeSa::NewChildSpi() {
  // SPIs 0..255 are reserved (RFC 4303 §2.1). Uniqueness across SAs is the
  // manager's (it owns the SAD); 32 random bits make a clash rare and the
  // dataplane refuses a duplicate.
  for (;;) {
    const uint32_t spi = env_.rng->U32();
    if (spi >= 256 && FindChildByIn(spi) == nullptr) return spi;
  }
}

std::string IkeSa::Nonce() { return env_.rng->Bytes(32); }

}  // namespace vpnfleet::ike
