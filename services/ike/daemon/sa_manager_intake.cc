// SaManager, part: what arrives on the sockets, up to the SA it is for (or a refusal).
#include "services/ike/daemon/sa_manager.h"

#include "absl/strings/str_cat.h"
#include "common/bytes/big_endian.h"
#include "common/log/log.h"
#include "services/ike/codec/isakmp_message.h"
#include "services/ike/codec/other_versions.h"
#include "services/ike/daemon/intake.h"
#include "services/ike/daemon/sa_status.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {

namespace v1 = vpnfleet::ike::v1;

SaManager::Entry* SaManager::FindBySpi(uint64_t spi) {
  auto it = by_spi_.find(spi);
  return it == by_spi_.end() ? nullptr : it->second;
}

void SaManager::Refuse(const Datagram& d, const std::string& reason, const std::string& detail) {
  metrics_.refused.Add({{"reason", reason}}).Increment();
  metrics_.failed.Add({{"reason", reason}}).Increment();
  uint64_t held = 0;
  log::RateLimit& limit =
      refusal_logs_.try_emplace(reason, absl::Seconds(10), uint32_t{20}).first->second;
  if (limit.Allow(clock_->Now(), &held)) {
    log::Info("IKE message refused", {{"peer", d.remote.ToString()},
                                      {"reason", reason},
                                      {"detail", detail},
                                      {"refusals_not_logged", held}});
  }
  v1::IkeEvent ev;
  ev.set_remote_address(d.remote.address.ToString());
  ev.mutable_failed()->set_reason(reason);
  Emit(std::move(ev));
}

void SaManager::OnDatagram(const Datagram& d) {
  if (auto refusal = CheckVersion(d.data, rng_, book_.speaks_ikev1())) {
    if (refusal->reply) sockets_->Send(d.local, d.remote, *refusal->reply, false);
    Refuse(d, refusal->reason, refusal->detail);
    return;
  }
  if (v2::MajorVersion(d.data) == 1) {
    OnIkev1(d);
    return;
  }
  const HeaderView h = PeekHeader(d.data);
  Entry* e = nullptr;
  if (!h.from_initiator()) {
    e = FindBySpi(h.spi_i);
  } else if (h.spi_r != 0) {
    e = FindBySpi(h.spi_r);
  } else if (h.is_init_request()) {
    OnInitRequest(d, h.spi_i);
    return;
  }
  if (e == nullptr) return;  // unknown SPI: §2.21.4 lets us stay silent
  ReceiveOn(*e, d);
}

void SaManager::ReceiveOn(Entry& e, const Datagram& d) {
  if (e.busy) {
    // Usually a retransmission of what the worker is answering; the SA
    // reads it once the worker is done. More than a few: the peer resends.
    std::vector<Datagram>& waiting = busy_[e.conn_id].waiting;
    if (waiting.size() < 4) waiting.push_back(d);
    return;
  }
  // Only a responder's IKE_AUTH (signatures, certificate checks) is worth
  // a worker; a retransmitted IKE_SA_INIT or anything else is answered here.
  if (workers_->threads() == 0 || e.sa->initiator() || e.sa->state() != IkeState::kInitDone ||
      PeekHeader(d.data).exchange != static_cast<uint8_t>(v2::ExchangeType::kIkeAuth)) {
    Execute(e, e.sa->Receive(d.local, d.remote, d.data));
    return;
  }
  DescribeIkeSa(e.conn_id, *e.sa, clock_->Now(), &busy_[e.conn_id].view);
  e.busy = true;
  ReceiveOnWorker(e.sa, d, [this, id = e.conn_id](Actions actions) {
    OnWorkDone(id, std::move(actions));
  });
}

void SaManager::ReceiveOnWorker(std::shared_ptr<IkeSession> sa, const Datagram& d,
                                std::function<void(Actions)> done) {
  metrics_.crypto_jobs.Increment();
  workers_->Submit([this, sa = std::move(sa), d, done = std::move(done)] {
    auto actions = std::make_shared<Actions>(sa->Receive(d.local, d.remote, d.data));
    Post([this, done, actions] {
      metrics_.crypto_jobs.Decrement();
      done(std::move(*actions));
    });
  });
}

void SaManager::OnWorkDone(uint64_t conn_id, Actions actions) {
  Busy meanwhile;
  if (auto b = busy_.find(conn_id); b != busy_.end()) {
    meanwhile = std::move(b->second);
    busy_.erase(b);
  }
  auto it = by_conn_.find(conn_id);
  if (it == by_conn_.end()) return;  // not reaped while busy, so never
  Entry& e = *it->second;
  e.busy = false;
  Execute(e, std::move(actions));
  if (meanwhile.ocsp_answered) Execute(e, e.sa->RevocationAnswered());
  if (!meanwhile.close_reason.empty() && e.sa->state() != IkeState::kDead) {
    Execute(e, e.sa->Close(meanwhile.close_reason));
  }
  for (const Datagram& d : meanwhile.waiting) {
    if (e.busy) break;  // the first of them went to a worker again
    ReceiveOn(e, d);
  }
}

void SaManager::OnIkev1(const Datagram& d) {
  // ISAKMP has no initiator flag: the cookie pair says whose SA it is. Our
  // cookie is the responder's when we answered, the initiator's when we
  // started; a random 64-bit cookie of ours matches nothing else.
  const uint64_t cky_i = bytes::LoadBe64(d.data.data());
  const uint64_t cky_r = bytes::LoadBe64(d.data.data() + 8);
  Entry* e = cky_r != 0 ? FindBySpi(cky_r) : nullptr;
  if (e != nullptr && !(e->sa->version() == 1 && !e->sa->initiator() && e->sa->spi_i() == cky_i)) {
    e = nullptr;
  }
  if (e == nullptr) {
    Entry* mine = FindBySpi(cky_i);
    if (mine != nullptr && mine->sa->version() == 1 && mine->sa->initiator()) e = mine;
  }
  if (e != nullptr) {
    DebugIsakmpPacket(*e, "received packet from", d.remote);
    ReceiveOn(*e, d);
    return;
  }
  const uint8_t exchange = static_cast<uint8_t>(d.data[18]);
  if (cky_r == 0 && (exchange == static_cast<uint8_t>(isakmp::Exchange::kIdentityProtection) ||
                     exchange == static_cast<uint8_t>(isakmp::Exchange::kAggressive))) {
    OnIkev1Start(d, cky_i);
  }
  // Anything else names no SA of ours: silence, as for IKEv2 (§2.21.4).
}

void SaManager::OnIkev1Start(const Datagram& d, uint64_t cky_i) {
  const std::string key = absl::StrCat("v1/", cky_i, "/", d.remote.ToString());
  if (auto it = half_open_.find(key); it != half_open_.end()) {
    ReceiveOn(*it->second, d);  // a repeat of the first message
    return;
  }
  // IKEv1 has no cookie exchange (RFC 2408's cookies are not a return-
  // routability check): the half-open limit holds, and under load new
  // phase-1 starts are rate-limited instead.
  const size_t half_open = half_open_.size() + init_in_work_.size();
  const absl::Time now = clock_->Now();
  if (now - v1_start_window_ >= absl::Seconds(1)) {
    v1_start_window_ = now;
    v1_starts_in_window_ = 0;
  }
  if (half_open >= options_.half_open_limit ||
      (half_open >= options_.cookie_threshold &&
       v1_starts_in_window_ >= options_.ikev1_starts_per_second_under_load)) {
    metrics_.half_open_refused.Increment();
    return;
  }
  ++v1_starts_in_window_;
  std::shared_ptr<IkeSession> sa = Ikev1Sa::NewResponder(
      {clock_, rng_}, book_.For(d.local.address, d.remote.address), d.local, d.remote);
  metrics_.started.Add({{"role", "responder"}, {"version", "1"}}).Increment();
  Actions actions = sa->Receive(d.local, d.remote, d.data);
  FinishInit(d, key, std::move(sa), now, std::move(actions));
}

void SaManager::OnInitRequest(const Datagram& d, uint64_t spi_i) {
  const std::string key = absl::StrCat(spi_i, "/", d.remote.ToString());
  if (auto it = half_open_.find(key); it != half_open_.end()) {
    // A retransmission: the SA answers it again.
    ReceiveOn(*it->second, d);
    return;
  }
  // A retransmission of one a worker is answering: that answer will do.
  if (init_in_work_.count(key) != 0) return;
  // DoS checks before any state (RFC 7296 §2.6).
  const size_t half_open = half_open_.size() + init_in_work_.size();
  if (half_open >= options_.half_open_limit) {
    metrics_.half_open_refused.Increment();
    return;
  }
  if (half_open >= options_.cookie_threshold) {
    std::string reply, error;
    switch (CheckCookie(cookies_, d.data, d.remote.ToString(), clock_->Now(), &reply, &error)) {
      case CookieVerdict::kPass: break;
      case CookieVerdict::kChallenge:
        sockets_->Send(d.local, d.remote, reply, false);
        metrics_.cookies_sent.Increment();
        return;
      case CookieVerdict::kMalformed: Refuse(d, "MALFORMED", error); return;
      case CookieVerdict::kDrop: return;
    }
  }
  std::shared_ptr<IkeSession> sa = IkeSa::NewResponder(
      {clock_, rng_}, book_.For(d.local.address, d.remote.address), d.local, d.remote);
  const absl::Time started = clock_->Now();
  metrics_.started.Add({{"role", "responder"}, {"version", "2"}}).Increment();
  if (workers_->threads() == 0) {
    Actions actions = sa->Receive(d.local, d.remote, d.data);
    FinishInit(d, key, std::move(sa), started, std::move(actions));
    return;
  }
  // The Diffie-Hellman off this thread; nothing but the worker sees the SA
  // until FinishInit files it.
  init_in_work_.insert(key);
  ReceiveOnWorker(sa, d, [this, sa, d, key, started](Actions actions) {
    init_in_work_.erase(key);
    FinishInit(d, key, sa, started, std::move(actions));
  });
}

void SaManager::FinishInit(const Datagram& d, const std::string& key, std::shared_ptr<IkeSession> sa,
                           absl::Time started, Actions actions) {
  if (sa->state() == IkeState::kIdle) {
    // Nothing it could parse (a garbage payload chain): no answer, no
    // state (§2.21: an unauthenticated error is not worth one).
    Refuse(d, "MALFORMED", sa->version() == 1 ? "IKEv1 first message that does not decode"
                                              : "IKE_SA_INIT request that does not decode");
    return;
  }
  if (sa->state() != IkeState::kInitDone) {
    // Refused (INVALID_KE, NO_PROPOSAL_CHOSEN...): answer, keep nothing.
    for (Action& a : actions) {
      if (auto* s = std::get_if<action::Send>(&a)) {
        sockets_->Send(s->local, s->remote, s->datagram, s->nat_keepalive);
      } else if (auto* f = std::get_if<action::Failed>(&a)) {
        metrics_.failed.Add({{"reason", f->reason}}).Increment();
      }
    }
    return;
  }
  auto entry = std::make_unique<Entry>();
  Entry* e = entry.get();
  e->conn_id = next_conn_id_++;
  e->sa = std::move(sa);
  e->started = started;
  e->half_open_key = key;
  half_open_[key] = e;
  metrics_.half_open.Set(static_cast<double>(half_open_.size()));
  by_spi_[e->sa->spi_r()] = e;
  by_conn_[e->conn_id] = std::move(entry);
  metrics_.active_ike.Set(static_cast<double>(by_conn_.size()));
  Execute(*e, std::move(actions));
}

}  // namespace vpnfleet::ike
