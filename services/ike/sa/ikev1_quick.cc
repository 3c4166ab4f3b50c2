// Ikev1Sa, part: Quick Mode (RFC 2409 §5.5), one CHILD SA pair per
// exchange, with PFS when the crypto map entry says `set pfs`.
//
//   1 I->R  *HASH(1), SA, Ni [, KE] [, IDci, IDcr]
//   2 R->I  *HASH(2), SA, Nr [, KE] [, IDci, IDcr] [, N(RESPONDER-LIFETIME)]
//   3 I->R  *HASH(3)
//
// HASH(1) = prf(SKEYID_a, M-ID | the rest of message 1), HASH(2) the same
// with Ni_b first, HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b). Each
// exchange has its own IV, from the last phase-1 block and its message ID.
// The initiator installs on message 2, the responder on message 3.
#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/ike/sa/ikev1_ids.h"
#include "services/ike/sa/ikev1_payloads.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {
namespace {

using isakmp::Exchange;
using isakmp::Payload;
using isakmp::PayloadType;
using ikev1::Be32;
using ikev1::DataOf;
using ikev1::First;

constexpr uint8_t kQm = static_cast<uint8_t>(Exchange::kQuickMode);
// How long a pair replaced by a Quick Mode rekey lives on: the rekey's
// initiator deletes it after a moment (packets the peer sent on it before
// it switched are still arriving); the responder waits for that Delete,
// and deletes it itself if none comes (strongSwan keeps a re-keyed IKEv1
// SA until it expires unless delete_rekeyed is set).
constexpr absl::Duration kRekeyInitiatorGrace = absl::Seconds(2);
constexpr absl::Duration kRekeyResponderGrace = absl::Seconds(10);

// The octets after the HASH payload, as received (padding excluded).
std::string AfterHash(const std::vector<Payload>& p) {
  std::string s;
  for (size_t i = 1; i < p.size(); ++i) s += p[i].raw;
  return s;
}

bool SameHash(const std::string& want, const std::string* got) {
  return got != nullptr && got->size() == want.size() &&
         CRYPTO_memcmp(want.data(), got->data(), want.size()) == 0;
}

// The proxy identities a message carries: none, or IDci and IDcr.
absl::StatusOr<std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>>> ProxyIds(
    const std::vector<Payload>& p) {
  std::vector<const isakmp::IdPayload*> ids;
  for (const Payload& x : p) {
    if (x.type == static_cast<uint8_t>(PayloadType::kId)) {
      ids.push_back(&std::get<isakmp::IdPayload>(x.body));
    }
  }
  if (ids.empty()) return std::nullopt;
  if (ids.size() != 2) return absl::InvalidArgumentError("Quick Mode with one ID payload");
  auto ci = ikev1::SelectorOfProxyId(*ids[0]);
  auto cr = ikev1::SelectorOfProxyId(*ids[1]);
  if (!ci.ok()) return ci.status();
  if (!cr.ok()) return cr.status();
  return std::make_optional(std::make_pair(*ci, *cr));
}

// RESPONDER-LIFETIME's data: life type/duration attributes that shorten ours.
void ReadResponderLifetime(const std::vector<Payload>& p, ikev1::QuickLifetimes* lifetimes) {
  for (const Payload& x : p) {
    const auto* n = std::get_if<isakmp::NotificationPayload>(&x.body);
    if (n == nullptr || n->type != kV1ResponderLifetime) continue;
    auto attributes = isakmp::DecodeAttributes(n->data);
    if (!attributes.ok()) continue;
    uint16_t type = 0;
    for (const isakmp::Attribute& a : *attributes) {
      if (a.type == ikev1::kAttrSaLifeType) type = a.tv ? a.value : 0;
      if (a.type != ikev1::kAttrSaLifeDuration) continue;
      const auto v = a.Number();
      if (!v || *v == 0) continue;
      if (type == ikev1::kLifeSeconds) lifetimes->seconds = std::min(lifetimes->seconds, *v);
      if (type == ikev1::kLifeKilobytes) {
        lifetimes->kilobytes = lifetimes->kilobytes == 0 ? *v : std::min(lifetimes->kilobytes, *v);
      }
    }
  }
}

}  // namespace

void Ikev1Sa::PumpWaiting(Actions& out) {
  if (state_ != IkeState::kEstablished || waiting_.empty()) return;
  std::vector<Waiting> now;
  now.swap(waiting_);
  for (const Waiting& w : now) StartQuick(w, out);
}

void Ikev1Sa::StartQuick(const Waiting& w, Actions& out) {
  Quick q;
  q.we_initiated = true;
  q.child_policy = w.child_policy;
  q.flow = w.flow;
  q.rekey_spi_in = w.rekey_spi_in;
  if (w.rekey_spi_in != 0) {
    const ChildSa* old = FindChildByIn(w.rekey_spi_in);
    if (old == nullptr) return;
    bool found = false;
    for (size_t i = 0; i < policy_->children.size() && !found; ++i) {
      if (SameLine(policy_->children[i], *old)) {
        q.child_policy = i;
        found = true;
      }
    }
    if (!found) return;  // its crypto map line is gone: it expires
    q.local_ts = old->local_ts;
    q.remote_ts = old->remote_ts;
  }
  if (q.child_policy >= policy_->children.size()) return;
  const ChildPolicy& cp = policy_->children[q.child_policy];
  if (q.local_ts.empty()) {
    if (cp.per_host && w.flow) {
      q.local_ts = {w.flow->first};
      q.remote_ts = {w.flow->second};
    } else {
      q.local_ts = cp.local_ts;
      q.remote_ts = cp.remote_ts;
    }
  }
  if (q.local_ts.empty() || q.remote_ts.empty()) return;
  // One proxy pair per exchange: an ACL line's first selectors (a line is
  // one source and one destination).
  q.local_ts.resize(1);
  q.remote_ts.resize(1);
  const uint32_t mid = NewMessageId();
  q.iv = ikev1::Phase2Iv(*hash_, p1_last_block_, mid, cipher_->block_size());
  q.spi_in = NewChildSpi();
  q.ni = Nonce();
  if (cp.pfs_group != 0) {
    auto dh = DhExchange::Generate(cp.pfs_group, policy_->allow_legacy);
    if (!dh.ok()) {
      out.push_back(action::Failed{"NO_PROPOSAL_CHOSEN", std::string(dh.status().message())});
      return;
    }
    q.dh = std::move(*dh);
  }
  auto offer = ikev1::QuickOffer(cp.proposals, q.spi_in, cp.transport,
                                 nat_local_ || nat_remote_,
                                 {cp.lifetime_seconds, cp.lifetime_kilobytes});
  if (!offer.ok()) {
    out.push_back(action::Failed{"NO_PROPOSAL_CHOSEN", std::string(offer.status().message())});
    return;
  }
  q.offer = *offer;
  std::vector<Payload> rest{isakmp::MakeSa(*offer), isakmp::MakeData(PayloadType::kNonce, q.ni)};
  if (q.dh) rest.push_back(isakmp::MakeData(PayloadType::kKe, q.dh->public_value()));
  q.ids = {isakmp::MakeId(ikev1::ProxyIdOf(q.local_ts[0])),
           isakmp::MakeId(ikev1::ProxyIdOf(q.remote_ts[0]))};
  for (const Payload& id : q.ids) rest.push_back(id);
  auto after = isakmp::EncodePayloads(rest);
  if (!after.ok()) return;
  std::vector<Payload> m1{isakmp::MakeData(
      PayloadType::kHash, ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, *after))};
  m1.insert(m1.end(), rest.begin(), rest.end());
  auto d = SealWith(kQm, mid, &q.iv, m1);
  if (!d.ok()) return;
  const absl::Time now = env_.clock->Now();
  q.stage = 1;
  q.started = now;
  q.sent = Retransmit{*d, 0, now + RetryAfter(0)};
  quick_.emplace(mid, std::move(q));
  SendRaw(std::move(*d), out);
}

void Ikev1Sa::ReceiveQuick(const isakmp::Framed& f, absl::string_view datagram, Actions& out) {
  const uint32_t mid = f.header.message_id;
  if (mid == 0 || !(f.header.flags & isakmp::kFlagEncrypted)) {
    ++stats_.dropped;
    return;
  }
  auto it = quick_.find(mid);
  if (it != quick_.end() && datagram == it->second.last_received) {
    if (!it->second.sent.datagram.empty()) {
      ++stats_.retransmits;
      SendRaw(it->second.sent.datagram, out);
    }
    return;
  }
  Quick fresh;
  Quick& q = it != quick_.end() ? it->second : fresh;
  if (it == quick_.end()) {
    fresh.iv = ikev1::Phase2Iv(*hash_, p1_last_block_, mid, cipher_->block_size());
    fresh.started = env_.clock->Now();
  }
  std::string iv = q.iv;
  auto payloads = OpenWith(f, &iv);
  if (!payloads.ok() || payloads->empty() ||
      payloads->front().type != static_cast<uint8_t>(PayloadType::kHash)) {
    ++stats_.dropped;
    return;
  }
  const std::string* hash = DataOf(*payloads, PayloadType::kHash);
  const std::string after = AfterHash(*payloads);
  if (it == quick_.end()) {
    if (!SameHash(ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, after), hash)) {
      ++stats_.dropped;
      return;
    }
    fresh.iv = iv;
    fresh.last_received = std::string(datagram);
    fresh.commit = (f.header.flags & isakmp::kFlagCommit) != 0;
    auto [ins, ok] = quick_.emplace(mid, std::move(fresh));
    QuickRequest(mid, ins->second, *payloads, after, out);
    return;
  }
  if (q.we_initiated && q.stage == 1) {
    if (!SameHash(ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, q.ni + after), hash)) {
      ++stats_.dropped;
      return;
    }
    q.iv = iv;
    q.last_received = std::string(datagram);
    q.commit = q.commit || (f.header.flags & isakmp::kFlagCommit) != 0;
    QuickResponse(mid, q, *payloads, after, out);
    return;
  }
  if (q.we_initiated && q.stage == 3 && q.commit && q.pending) {
    // HASH(4) N(CONNECTED): the responder holds the pair; so may we.
    bool connected = false;
    for (const Payload* n : ikev1::All(*payloads, PayloadType::kNotification)) {
      connected = connected ||
                  std::get<isakmp::NotificationPayload>(n->body).type == kV1Connected;
    }
    if (!connected ||
        !SameHash(ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, after), hash)) {
      ++stats_.dropped;
      return;
    }
    q.iv = iv;
    q.last_received = std::string(datagram);
    q.sent.next_send = absl::InfiniteFuture();  // message 3 need not go again
    ChildSa child = std::move(*q.pending);
    q.pending.reset();
    InstallInitiated(q, std::move(child), out);
    return;
  }
  if (!q.we_initiated && q.stage == 2) {
    if (!SameHash(ikev1::QuickModeHash3(*hash_, skeyid_a_.view(), mid, q.ni, q.nr), hash)) {
      ++stats_.dropped;
      return;
    }
    q.iv = iv;
    q.last_received = std::string(datagram);
    q.commit = q.commit || (f.header.flags & isakmp::kFlagCommit) != 0;
    QuickDone(mid, q, *payloads, out);
    return;
  }
  ++stats_.dropped;
}

void Ikev1Sa::QuickRequest(uint32_t mid, Quick& q, const std::vector<Payload>& p,
                           absl::string_view /*after_hash*/, Actions& out) {
  auto refuse = [&](uint16_t type, const std::string& reason, const std::string& detail) {
    isakmp::NotificationPayload n;
    n.protocol = isakmp::kProtoEsp;
    n.type = type;
    SendInformational({isakmp::MakeNotification(std::move(n))}, out);
    out.push_back(action::Failed{reason, detail});
    quick_.erase(mid);
  };
  const Payload* sa = First(p, PayloadType::kSa);
  const std::string* nonce = DataOf(p, PayloadType::kNonce);
  if (sa == nullptr || nonce == nullptr || nonce->size() < 8 || nonce->size() > 256) {
    refuse(kV1PayloadMalformed, "MALFORMED", "Quick Mode 1 without SA or nonce");
    return;
  }
  auto ids = ProxyIds(p);
  if (!ids.ok()) {
    refuse(kV1InvalidIdInformation, "INVALID_ID_INFORMATION", std::string(ids.status().message()));
    return;
  }
  // The pairs the peer can know of now: its Quick Mode can only re-key one
  // of these (not one our own concurrent rekey is about to make).
  for (const ChildSa& c : children_) {
    if (!IsRetiring(c.spi_in)) q.known_pairs.push_back(c.spi_in);
  }
  // Without IDs the proxies are the two peers themselves (RFC 2409 §5.5).
  if (*ids) {
    q.remote_ts = {(*ids)->first};
    q.local_ts = {(*ids)->second};
  } else {
    q.remote_ts = {HostSelector(std::string(reinterpret_cast<const char*>(remote_.address.bytes.data()),
                                            remote_.address.family == net::Family::kV4 ? 4 : 16))};
    q.local_ts = {HostSelector(std::string(reinterpret_cast<const char*>(local_.address.bytes.data()),
                                           local_.address.family == net::Family::kV4 ? 4 : 16))};
  }
  q.ni = *nonce;
  q.spi_in = NewChildSpi();
  // The first crypto map line (in order) whose ACL covers the proxies and
  // whose transform sets cover a proposal. IOS takes the proxies as sent;
  // IKEv1 has no narrowing.
  std::optional<ikev1::QuickChoice> choice;
  bool ids_matched = false;
  for (size_t i = 0; i < policy_->children.size() && !choice; ++i) {
    const ChildPolicy& cp = policy_->children[i];
    if (!Covers(cp.local_ts, q.local_ts) || !Covers(cp.remote_ts, q.remote_ts)) continue;
    ids_matched = true;
    choice = ikev1::ChooseQuick(std::get<isakmp::SaPayload>(sa->body), cp.proposals, q.spi_in,
                                cp.transport, {cp.lifetime_seconds, cp.lifetime_kilobytes});
    if (choice) q.child_policy = i;
  }
  if (!choice) {
    refuse(ids_matched ? kV1NoProposalChosen : kV1InvalidIdInformation,
           ids_matched ? "NO_PROPOSAL_CHOSEN" : "TS_UNACCEPTABLE",
           absl::StrCat("proxies ", ToString(q.local_ts), " <- ", ToString(q.remote_ts)));
    return;
  }
  const std::string* ke = DataOf(p, PayloadType::kKe);
  if (choice->suite.dh != 0) {
    auto dh = DhExchange::Generate(choice->suite.dh, policy_->allow_legacy);
    if (ke == nullptr || !dh.ok() || ke->size() != DhExchange::PublicValueSize(choice->suite.dh)) {
      refuse(kV1NoProposalChosen, "NO_PROPOSAL_CHOSEN", "PFS group without a matching KE");
      return;
    }
    q.dh = std::move(*dh);
    q.peer_ke = *ke;
  } else if (ke != nullptr) {
    refuse(kV1PayloadMalformed, "MALFORMED", "KE without a PFS group");
    return;
  }
  q.nr = Nonce();
  auto child = MakeChild(q, policy_->children[q.child_policy], choice->ours, choice->suite,
                         choice->peer_spi, choice->lifetimes);
  if (!child.ok()) {
    refuse(kV1NoProposalChosen, "NO_PROPOSAL_CHOSEN", std::string(child.status().message()));
    return;
  }
  q.pending = std::move(*child);
  std::vector<Payload> rest{isakmp::MakeSa(choice->reply),
                            isakmp::MakeData(PayloadType::kNonce, q.nr)};
  if (q.dh) rest.push_back(isakmp::MakeData(PayloadType::kKe, q.dh->public_value()));
  for (const Payload& x : p) {
    if (x.type == static_cast<uint8_t>(PayloadType::kId)) rest.push_back(x);
  }
  if (choice->lifetime_shortened) {
    // RFC 2407 §4.6.3.1: our lifetimes are shorter than those offered.
    isakmp::NotificationPayload n;
    n.protocol = isakmp::kProtoEsp;
    n.type = kV1ResponderLifetime;
    n.spi = Be32(q.spi_in);
    std::vector<isakmp::Attribute> attrs{
        isakmp::Attribute::Basic(ikev1::kAttrSaLifeType, ikev1::kLifeSeconds),
        isakmp::Attribute::Variable(ikev1::kAttrSaLifeDuration, choice->lifetimes.seconds)};
    if (choice->lifetimes.kilobytes != 0) {
      attrs.push_back(isakmp::Attribute::Basic(ikev1::kAttrSaLifeType, ikev1::kLifeKilobytes));
      attrs.push_back(
          isakmp::Attribute::Variable(ikev1::kAttrSaLifeDuration, choice->lifetimes.kilobytes));
    }
    n.data = isakmp::EncodeAttributes(attrs).value_or("");
    rest.push_back(isakmp::MakeNotification(std::move(n)));
  }
  auto after = isakmp::EncodePayloads(rest);
  if (!after.ok()) return;
  std::vector<Payload> m2{isakmp::MakeData(
      PayloadType::kHash, ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, q.ni + *after))};
  m2.insert(m2.end(), rest.begin(), rest.end());
  auto d = SealWith(kQm, mid, &q.iv, m2, q.commit);
  if (!d.ok()) return;
  q.stage = 2;
  q.sent = Retransmit{*d, 0, env_.clock->Now() + RetryAfter(0)};
  SendRaw(std::move(*d), out);
}

void Ikev1Sa::QuickResponse(uint32_t mid, Quick& q, const std::vector<Payload>& p,
                            absl::string_view /*after_hash*/, Actions& out) {
  auto fail = [&](const std::string& reason, const std::string& detail) {
    out.push_back(action::Failed{reason, detail});
    quick_.erase(mid);
  };
  const ChildPolicy& cp = policy_->children[q.child_policy];
  const Payload* sa = First(p, PayloadType::kSa);
  const std::string* nonce = DataOf(p, PayloadType::kNonce);
  if (sa == nullptr || nonce == nullptr || nonce->size() < 8 || nonce->size() > 256) {
    fail("MALFORMED", "Quick Mode 2 without SA or nonce");
    return;
  }
  auto choice = ikev1::CheckQuickReply(std::get<isakmp::SaPayload>(sa->body), cp.proposals,
                                       cp.transport);
  if (!choice.ok()) {
    fail("NO_PROPOSAL_CHOSEN", std::string(choice.status().message()));
    return;
  }
  // The responder echoes our proxy identities or sends none.
  std::vector<const isakmp::IdPayload*> ids;
  for (const Payload& x : p) {
    if (const auto* id = std::get_if<isakmp::IdPayload>(&x.body)) ids.push_back(id);
  }
  if (!ids.empty() && (ids.size() != 2 || q.ids.size() != 2 ||
                       !(*ids[0] == std::get<isakmp::IdPayload>(q.ids[0].body)) ||
                       !(*ids[1] == std::get<isakmp::IdPayload>(q.ids[1].body)))) {
    fail("TS_UNACCEPTABLE", "Quick Mode 2 changed the proxy identities");
    return;
  }
  const std::string* ke = DataOf(p, PayloadType::kKe);
  if (q.dh.has_value() != (ke != nullptr) || (q.dh && choice->suite.dh != q.dh->group())) {
    fail("NO_PROPOSAL_CHOSEN", "PFS answered without a matching KE");
    return;
  }
  if (ke != nullptr) q.peer_ke = *ke;
  q.nr = *nonce;
  ikev1::QuickLifetimes lifetimes{cp.lifetime_seconds, cp.lifetime_kilobytes};
  ReadResponderLifetime(p, &lifetimes);
  auto child = MakeChild(q, cp, choice->ours, choice->suite, choice->peer_spi, lifetimes);
  if (!child.ok()) {
    fail("NO_PROPOSAL_CHOSEN", std::string(child.status().message()));
    return;
  }
  std::vector<Payload> m3{isakmp::MakeData(
      PayloadType::kHash, ikev1::QuickModeHash3(*hash_, skeyid_a_.view(), mid, q.ni, q.nr))};
  auto d = SealWith(kQm, mid, &q.iv, m3, q.commit);
  if (!d.ok()) return;
  q.stage = 3;
  if (q.commit) {
    // The responder set the commit bit: the pair waits for its CONNECTED,
    // and message 3 goes again on the timer until then.
    q.sent = Retransmit{*d, 0, env_.clock->Now() + RetryAfter(0)};
    SendRaw(std::move(*d), out);
    q.pending = std::move(*child);
    return;
  }
  // Message 3 goes again only when message 2 does.
  q.sent = Retransmit{*d, 0, absl::InfiniteFuture()};
  SendRaw(std::move(*d), out);
  InstallInitiated(q, std::move(*child), out);
}

void Ikev1Sa::InstallInitiated(Quick& q, ChildSa child, Actions& out) {
  const uint32_t old = q.rekey_spi_in;
  InstallChildSa(std::move(child), old, out);
  if (old != 0) {
    // The new pair carries the traffic; the old one is deleted on both
    // sides once what is in flight on it has arrived.
    Retire(old, kRekeyInitiatorGrace);
    ++stats_.rekeys;
  }
}

void Ikev1Sa::SendConnected(uint32_t mid, Quick& q, uint32_t spi_in, Actions& out) {
  isakmp::NotificationPayload n;
  n.protocol = isakmp::kProtoEsp;
  n.type = kV1Connected;
  n.spi = std::string{static_cast<char>(spi_in >> 24), static_cast<char>(spi_in >> 16),
                      static_cast<char>(spi_in >> 8), static_cast<char>(spi_in)};
  std::vector<Payload> rest{isakmp::MakeNotification(std::move(n))};
  auto after = isakmp::EncodePayloads(rest);
  if (!after.ok()) return;
  std::vector<Payload> m4{isakmp::MakeData(
      PayloadType::kHash, ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, *after))};
  m4.insert(m4.end(), rest.begin(), rest.end());
  auto d = SealWith(kQm, mid, &q.iv, m4, true);
  if (!d.ok()) return;
  // Kept a while: a repeated message 3 (our message 4 lost) gets it again.
  q.stage = 3;
  q.sent = Retransmit{*d, 0, absl::InfiniteFuture()};
  SendRaw(std::move(*d), out);
}

void Ikev1Sa::QuickDone(uint32_t mid, Quick& q, const std::vector<Payload>& /*p*/,
                        Actions& out) {
  ChildSa child = std::move(*q.pending);
  // A new pair for a line and proxies we already hold is the peer's rekey:
  // the old pair goes once the new one is in (the peer deletes it too).
  // Only a pair the peer knew of when it began, and that no rekey of ours
  // replaced meanwhile: when both sides re-key at once, each side's new
  // pair stays (two working pairs, not none).
  uint32_t replaces = 0;
  for (const ChildSa& c : children_) {
    if (SameLine(c, child) && c.local_ts == child.local_ts && c.remote_ts == child.remote_ts &&
        !IsRetiring(c.spi_in) &&
        std::find(q.known_pairs.begin(), q.known_pairs.end(), c.spi_in) != q.known_pairs.end()) {
      replaces = c.spi_in;
    }
  }
  q.pending.reset();
  const uint32_t spi_in = child.spi_in;
  InstallChildSa(std::move(child), replaces, out);
  if (replaces != 0) {
    // The peer deletes the old pair (strongSwan and IOS do); if it does not,
    // we do after a while.
    Retire(replaces, kRekeyResponderGrace);
    ++stats_.rekeys;
  }
  if (q.commit) {
    SendConnected(mid, q, spi_in, out);
  } else {
    quick_.erase(mid);
  }
}

bool Ikev1Sa::Superseded(const ChildSa& c) const {
  bool after = false;  // children_ is in the order of installation
  for (const ChildSa& o : children_) {
    if (&o == &c) {
      after = true;
    } else if (after && SameLine(o, c) && o.local_ts == c.local_ts &&
               o.remote_ts == c.remote_ts && !IsRetiring(o.spi_in)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<ChildSa> Ikev1Sa::MakeChild(const Quick& q, const ChildPolicy& cp,
                                           size_t proposal, const ChildSuite& suite,
                                           uint32_t spi_out, const ikev1::QuickLifetimes& lifetimes) {
  const auto [ek, ik] = EspKeySizes(suite);
  if (ek == 0 && suite.encr != 11) return absl::InvalidArgumentError("unknown ESP cipher");
  std::string shared;
  if (q.dh) {
    auto s = q.dh->Compute(q.peer_ke);
    if (!s.ok()) return s.status();
    shared = std::string(s->view());
  }
  // §5.5: one KEYMAT per direction, keyed by the SPI its receiver chose;
  // the encryption key first, then the integrity key.
  auto in = ikev1::QuickModeKeymat(*hash_, skeyid_d_.view(), shared, isakmp::kProtoEsp,
                                   q.spi_in, q.ni, q.nr, ek + ik);
  auto out = ikev1::QuickModeKeymat(*hash_, skeyid_d_.view(), shared, isakmp::kProtoEsp,
                                    spi_out, q.ni, q.nr, ek + ik);
  crypto::ZeroizeString(&shared);
  if (!in.ok()) return in.status();
  if (!out.ok()) return out.status();
  ChildSa c;
  c.spi_in = q.spi_in;
  c.spi_out = spi_out;
  c.suite = suite;
  c.encr_in = in->Sub(0, ek);
  c.integ_in = in->Sub(ek, ik);
  c.encr_out = out->Sub(0, ek);
  c.integ_out = out->Sub(ek, ik);
  c.local_ts = q.local_ts;
  c.remote_ts = q.remote_ts;
  FillFromPolicy(cp, proposal, &c);
  c.lifetime_seconds = lifetimes.seconds;  // as negotiated (RESPONDER-LIFETIME)
  c.lifetime_kilobytes = lifetimes.kilobytes;
  return c;
}

}  // namespace vpnfleet::ike
