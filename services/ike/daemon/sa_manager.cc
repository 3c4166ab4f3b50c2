#include "services/ike/daemon/sa_manager.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "services/ike/daemon/dataplane_records.h"
#include "services/ike/daemon/initial_contact.h"
#include "services/ike/daemon/sa_status.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {
namespace {

namespace dv1 = vpnfleet::dataplane::v1;
namespace v1 = vpnfleet::ike::v1;

DosSettings DosOf(const ManagerOptions& o) {
  return {o.half_open_limit, o.cookie_threshold, o.half_open_timeout};
}

}  // namespace

SaManager::SaManager(const Clock* clock, Rng* rng, std::unique_ptr<IkeSockets> sockets,
                     std::shared_ptr<DataplaneClient> dataplane, prometheus::Registry& registry,
                     ManagerOptions options)
    : clock_(clock),
      rng_(rng),
      sockets_(std::move(sockets)),
      options_(options),
      metrics_(registry, DosOf(options_)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  DataplaneSync::Hooks hooks;
  hooks.post = [this](std::function<void()> fn) { Post(std::move(fn)); };
  hooks.on_event = [this](const dv1::DataplaneEvent& ev) { OnDataplaneEvent(ev); };
  hooks.for_each_child = [this](const std::function<void(const ChildSa&)>& fn) {
    for (const auto& [id, e] : by_conn_) {
      if (e->busy) continue;  // a responder before IKE_AUTH: no children yet
      for (const ChildSa& c : e->sa->children()) fn(c);
    }
  };
  sync_ = std::make_unique<DataplaneSync>(std::move(dataplane), &reqids_, std::move(hooks), registry);
  workers_ = std::make_unique<CryptoWorkers>(options_.crypto_workers);
  ocsp_ = std::make_unique<OcspFetcher>(
      ocsp_cache_, clock_, options_.ocsp_post,
      [this](const std::string& key) { Post([this, key] { OnOcspAnswered(key); }); }, registry);
}

SaManager::~SaManager() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void SaManager::Start() {
  next_reconcile_ = clock_->Now() + options_.reconcile_interval;
  thread_ = std::thread([this] { Loop(); });
  sync_->Start();
}

void SaManager::Stop() {
  if (stop_.exchange(true)) return;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  sync_->Stop();  // after the engine: the Deletes of its last act still go out
  ocsp_.reset();  // its worker Posts to us: gone before we are
}

void SaManager::Post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A queue that already holds tasks has its wake-up pending (the loop
    // reads the eventfd before it takes the queue): one write per batch.
    wake = tasks_.empty();
    tasks_.push_back(std::move(fn));
  }
  if (!wake) return;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void SaManager::Call(const std::function<void()>& fn) {
  if (std::this_thread::get_id() == thread_.get_id()) {
    fn();
    return;
  }
  if (loop_done_.load()) return;  // shut down: the engine runs nothing more
  std::promise<void> done;
  auto f = done.get_future();
  Post([&] {
    fn();
    done.set_value();
  });
  // The engine answers within milliseconds (it makes no RPC). Once its
  // loop has ended, no task runs any more (so returning cannot leave it
  // running on our stack's variables).
  while (f.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
    if (loop_done_.load()) return;
  }
}

void SaManager::Loop() {
  absl::Time next_register = clock_->Now();
  while (!stop_.load()) {
    std::vector<struct pollfd> fds;
    fds.push_back({wake_fd_, POLLIN, 0});
    for (int fd : sockets_->fds()) fds.push_back({fd, POLLIN, 0});
    absl::Time deadline = clock_->Now() + absl::Milliseconds(500);
    if (!timers_.empty()) deadline = std::min(deadline, timers_.top().first);
    const int timeout_ms = static_cast<int>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - clock_->Now()) + 1));
    poll(fds.data(), fds.size(), timeout_ms);
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof v);
    }
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
    }
    for (auto& t : tasks) t();
    std::vector<Datagram> datagrams;
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents & POLLIN) sockets_->Drain(fds[i].fd, &datagrams);
    }
    for (const Datagram& d : datagrams) OnDatagram(d);
    TickDue();
    Reap();
    CheckTrustpointFiles();
    const absl::Time now = clock_->Now();
    if (now >= next_register) {
      // The dataplane forgets us when it restarts; tell it again now and then.
      sockets_->Register();
      next_register = now + absl::Seconds(5);
    }
    if (now >= next_reconcile_) {
      sync_->Reconcile();
      next_reconcile_ = now + options_.reconcile_interval;
    }
  }
  // Shutting down: the workers finish what they hold (their answers, posted
  // to a loop that has ended, are dropped), then peers are told, as IOS
  // does on `clear crypto session`.
  workers_->Stop();
  for (auto& [id, e] : by_conn_) {
    e->busy = false;
    Execute(*e, e->sa->Close("daemon stopping"));
  }
  loop_done_.store(true);
}

void SaManager::Execute(Entry& e, Actions actions) {
  const bool v1 = e.sa->version() == 1;
  // A message that goes with a CHILD SA's install (the IKE_AUTH or
  // CREATE_CHILD_SA answer, Quick Mode's last word) lets the peer send on
  // that SA at once: it leaves only once the dataplane holds the SA, or
  // the first packets after a rekey arrive for an SPI nobody knows yet.
  const bool installs = std::any_of(actions.begin(), actions.end(), [](const Action& a) {
    return std::holds_alternative<action::InstallChild>(a);
  });
  std::vector<action::Send> held;
  for (Action& a : actions) {
    if (auto* s = std::get_if<action::Send>(&a)) {
      if (v1 && !s->nat_keepalive) DebugIsakmpPacket(e, "sending packet to", s->remote);
      if (installs && !s->nat_keepalive) {
        held.push_back(std::move(*s));
        continue;
      }
      sockets_->Send(s->local, s->remote, s->datagram, s->nat_keepalive);
    } else if (auto* in = std::get_if<action::InstallChild>(&a)) {
      InstallChild(e, *in);
    } else if (auto* del = std::get_if<action::DeleteChild>(&a)) {
      sync_->Remove(del->spi_in, del->spi_out);
      metrics_.active_child.Set(static_cast<double>(sync_->pairs()));
      v1::IkeEvent ev;
      ev.set_ike_conn_id(e.conn_id);
      ev.mutable_child_deleted()->set_inbound_spi(del->spi_in);
      ev.mutable_child_deleted()->set_outbound_spi(del->spi_out);
      ev.mutable_child_deleted()->set_reason(del->reason);
      Emit(std::move(ev));
    } else if (auto* f = std::get_if<action::Failed>(&a)) {
      metrics_.failed.Add({{"reason", f->reason}}).Increment();
      if (f->reason == "DPD_TIMEOUT") metrics_.dpd_failures.Increment();
      log::Warn("IKE negotiation failed",
                {{"conn_id", std::to_string(e.conn_id)},
                 {"peer", e.sa->remote().ToString()},
                 {"reason", f->reason},
                 {"detail", f->detail}});
      v1::IkeEvent ev;
      ev.set_ike_conn_id(e.conn_id);
      ev.mutable_failed()->set_reason(f->reason);
      Emit(std::move(ev));
    } else if (auto* sc = std::get_if<action::StateChanged>(&a)) {
      v1::IkeEvent ev;
      ev.set_ike_conn_id(e.conn_id);
      ev.mutable_state_changed()->set_old_state(ApiState(sc->from));
      ev.mutable_state_changed()->set_new_state(ApiState(sc->to));
      Emit(std::move(ev));
    } else if (auto* rk = std::get_if<action::Rekeyed>(&a)) {
      AdoptSuccessor(e, *rk);
    } else if (auto* cr = std::get_if<action::CheckRevocation>(&a)) {
      ocsp_waiting_[cr->query.key].push_back(e.conn_id);
      ocsp_->Ask(std::move(cr->query));
    } else if (auto* est = std::get_if<action::Established>(&a)) {
      Established(e, *est);
    } else if (std::holds_alternative<action::Reestablish>(a)) {
      Reestablish(e);
    }
  }
  if (!held.empty()) {
    sync_->AfterQueued([sockets = sockets_.get(), held = std::move(held)] {
      for (const action::Send& s : held) sockets->Send(s.local, s.remote, s.datagram, false);
    });
  }
  if (v1 && e.sa->StateName() != e.v1_state && log::Enabled(log::Level::kDebug)) {
    // As `debug crypto isakmp` prints it (state names as in show crypto isakmp sa).
    log::Debug(absl::StrCat("ISAKMP:(", e.conn_id, "):Old State = ",
                            e.v1_state != nullptr ? e.v1_state : "IKE_READY",
                            "  New State = ", e.sa->StateName()),
               {{"peer", e.sa->remote().ToString()}});
    e.v1_state = e.sa->StateName();
  }
  Schedule(e);
}

void SaManager::Established(Entry& e, const action::Established& est) {
  if (!e.half_open_key.empty()) {
    half_open_.erase(e.half_open_key);
    metrics_.half_open.Set(static_cast<double>(half_open_.size()));
    std::string().swap(e.half_open_key);  // its octets too: the entry may live for days
  }
  metrics_.succeeded.Add({{"role", e.sa->initiator() ? "initiator" : "responder"},
                          {"version", e.sa->version() == 1 ? "1" : "2"}})
      .Increment();
  metrics_.setup_seconds.Observe(absl::ToDoubleSeconds(clock_->Now() - e.started));
  log::Info("IKE SA established", {{"conn_id", std::to_string(e.conn_id)},
                                   {"peer", e.sa->remote().ToString()},
                                   {"peer_id", IdentityText(e.sa->remote_id())}});
  if (est.initial_contact) DropStaleSas(e);
  if (e.sa->version() == 1) TakeOverPhase1(e);
}

void SaManager::DebugIsakmpPacket(const Entry& e, const char* what, const Endpoint& peer) const {
  // Not while a crypto worker holds the SA (its state is the worker's).
  if (e.busy || !log::Enabled(log::Level::kDebug)) return;
  log::Debug(absl::StrCat("ISAKMP:(", e.conn_id, "): ", what, " ", peer.address.ToString(),
                          " my_port ", e.sa->local().port, " peer_port ", peer.port, " (",
                          e.sa->initiator() ? "I" : "R", ") ", e.sa->StateName()));
}

void SaManager::Reestablish(Entry& old) {
  if (old.sa->version() != 1 || old.sa->state() != IkeState::kEstablished) return;
  const auto& v1 = static_cast<const Ikev1Sa&>(*old.sa);
  Endpoint local{old.sa->local().address, kIkePort};
  const net::IpAddress peer = old.sa->remote().address;
  auto entry = std::make_unique<Entry>();
  entry->conn_id = next_conn_id_++;
  entry->sa = Ikev1Sa::NewInitiator({clock_, rng_}, book_.For(local.address, peer), local,
                                    Endpoint{peer, kIkePort}, Ikev1Sa::kPhase1Only, std::nullopt,
                                    v1.aggressive());
  log::Info("ISAKMP SA nears its lifetime: a new phase 1 takes over",
            {{"old_conn_id", std::to_string(old.conn_id)},
             {"conn_id", std::to_string(entry->conn_id)},
             {"peer", old.sa->remote().ToString()}});
  Launch(std::move(entry));
}

void SaManager::TakeOverPhase1(Entry& e) {
  auto& fresh = static_cast<Ikev1Sa&>(*e.sa);
  std::vector<Entry*> older;
  for (auto& [id, other] : by_conn_) {
    if (other.get() == &e || other->busy || other->sa->version() != 1 ||
        other->sa->state() != IkeState::kEstablished) {
      continue;
    }
    if (!(other->sa->remote().address == e.sa->remote().address) ||
        !(other->sa->local().address == e.sa->local().address) ||
        !(other->sa->remote_id() == e.sa->remote_id()) ||
        other->sa->established_at() > e.sa->established_at()) {
      continue;
    }
    older.push_back(other.get());
  }
  for (Entry* old : older) {
    Ikev1Sa::Handover h = static_cast<Ikev1Sa&>(*old->sa).ReleaseChildren();
    const size_t pairs = h.children.size();
    Execute(e, fresh.AdoptChildren(std::move(h)));
    Execute(*old, old->sa->Close("replaced by a new ISAKMP SA"));
    metrics_.ike_rekeys.Increment();
    log::Info("ISAKMP SA replaced",
              {{"old_conn_id", std::to_string(old->conn_id)},
               {"conn_id", std::to_string(e.conn_id)},
               {"peer", e.sa->remote().ToString()},
               {"pairs_taken_over", static_cast<uint64_t>(pairs)}});
  }
}

void SaManager::DropStaleSas(Entry& e) {
  // §2.4, as daemon/initial_contact.h decides: dropping concurrent
  // siblings left the peer sending into SAs we had forgotten.
  size_t dropped = 0, kept = 0;
  for (auto& [id, other] : by_conn_) {
    if (other.get() == &e || other->busy || other->sa->state() != IkeState::kEstablished) {
      continue;
    }
    if (!(other->sa->remote().address == e.sa->remote().address) ||
        !(other->sa->remote_id() == e.sa->remote_id())) {
      continue;
    }
    if (!StaleAfterInitialContact(other->sa->established_at(), e.started)) {
      ++kept;
      continue;
    }
    // The peer lost these; a Delete would go unanswered.
    Execute(*other, other->sa->Abandon("INITIAL_CONTACT"));
    ++dropped;
  }
  if (dropped + kept > 0) {
    log::Info("INITIAL_CONTACT", {{"conn_id", std::to_string(e.conn_id)},
                                  {"peer", e.sa->remote().ToString()},
                                  {"stale_sas_dropped", static_cast<uint64_t>(dropped)},
                                  {"concurrent_sas_kept", static_cast<uint64_t>(kept)}});
  }
}

void SaManager::AdoptSuccessor(Entry& old, const action::Rekeyed& r) {
  auto entry = std::make_unique<Entry>();
  entry->conn_id = next_conn_id_++;
  entry->sa = r.successor;
  entry->started = clock_->Now();
  Entry* n = entry.get();
  by_conn_[n->conn_id] = std::move(entry);
  by_spi_[n->sa->initiator() ? n->sa->spi_i() : n->sa->spi_r()] = n;
  metrics_.active_ike.Set(static_cast<double>(by_conn_.size()));
  if (r.redundant) {
    // Our half of a simultaneous rekey that lost (§2.25.2).
    log::Info("IKE rekey collision: closing the redundant SA",
              {{"conn_id", std::to_string(n->conn_id)}, {"peer", n->sa->remote().ToString()}});
    Execute(*n, n->sa->Close("rekey collision"));
    return;
  }
  Schedule(*n);
  metrics_.ike_rekeys.Increment();
  log::Info("IKE SA rekeyed", {{"old_conn_id", std::to_string(old.conn_id)},
                               {"conn_id", std::to_string(n->conn_id)},
                               {"peer", n->sa->remote().ToString()},
                               {"initiator", n->sa->initiator() ? "us" : "peer"}});
  v1::IkeEvent ev;
  ev.set_ike_conn_id(n->conn_id);
  ev.mutable_state_changed()->set_old_state(v1::IKE_SA_STATE_REKEYING);
  ev.mutable_state_changed()->set_new_state(v1::IKE_SA_STATE_ESTABLISHED);
  Emit(std::move(ev));
}

void SaManager::Schedule(Entry& e) {
  const IkeSaStats& st = e.sa->stats();
  if (st.retransmits > e.seen_retransmits) {
    metrics_.retransmits.Increment(static_cast<double>(st.retransmits - e.seen_retransmits));
    e.seen_retransmits = st.retransmits;
  }
  if (st.rekeys > e.seen_rekeys) {
    metrics_.child_rekeys.Increment(static_cast<double>(st.rekeys - e.seen_rekeys));
    e.seen_rekeys = st.rekeys;
  }
  if (e.sa->state() == IkeState::kDead) {
    dead_.push_back(e.conn_id);
    return;
  }
  if (e.asking_traffic) return;  // ticked when the counters come
  const absl::Time t = e.sa->NextDeadline();
  if (t == e.scheduled) return;
  e.scheduled = t;
  if (t != absl::InfiniteFuture()) timers_.emplace(t, e.conn_id);
}

void SaManager::TickDue() {
  const absl::Time now = clock_->Now();
  std::vector<uint64_t> due;
  while (!timers_.empty() && timers_.top().first <= now) {
    auto [t, id] = timers_.top();
    timers_.pop();
    auto it = by_conn_.find(id);
    if (it == by_conn_.end() || it->second->scheduled != t) continue;  // stale
    it->second->scheduled = absl::InfiniteFuture();
    due.push_back(id);
  }
  for (uint64_t id : due) {
    auto it = by_conn_.find(id);
    if (it == by_conn_.end()) continue;
    Entry& e = *it->second;
    if (e.busy) continue;  // its worker's answer schedules it again
    if (sync_->connected() && e.sa->DpdCheckDue(now) && !e.sa->children().empty()) {
      // ESP that moved counts as liveness (IOS `periodic` DPD only asks
      // when nothing came): ask the dataplane first, off this thread.
      std::vector<dv1::SaKey> keys;
      for (const ChildSa& c : e.sa->children()) {
        keys.push_back(SaKeyOf(c, true));
        keys.push_back(SaKeyOf(c, false));
      }
      e.asking_traffic = true;
      sync_->Query(std::move(keys), [this, id](std::vector<SaCounterEntry> counters) {
        TickAfterTraffic(id, counters);
      });
      continue;
    }
    Execute(e, e.sa->Tick());
  }
}

void SaManager::TickAfterTraffic(uint64_t conn_id, const std::vector<SaCounterEntry>& counters) {
  auto it = by_conn_.find(conn_id);
  if (it == by_conn_.end()) return;  // gone meanwhile
  Entry& e = *it->second;
  e.asking_traffic = false;
  if (e.busy) return;  // its worker's answer schedules it again
  for (const SaCounterEntry& k : counters) {
    const int64_t used = k.counters().last_used_unix_seconds();
    if (used <= 0) continue;
    bool inbound = false;
    for (const ChildSa& c : e.sa->children()) inbound |= c.spi_in == k.key().spi();
    if (inbound) {
      e.sa->NoteTraffic(absl::FromUnixSeconds(used));
    } else {
      e.sa->NoteOutbound(absl::FromUnixSeconds(used));
    }
  }
  if (e.sa->state() == IkeState::kDead) return;
  Execute(e, e.sa->Tick());
}

void SaManager::Reap() {
  std::vector<uint64_t> dead;
  dead.swap(dead_);
  for (uint64_t id : dead) {
    auto it = by_conn_.find(id);
    if (it == by_conn_.end() || it->second->busy || it->second->sa->state() != IkeState::kDead) {
      continue;
    }
    Entry& e = *it->second;
    if (!e.half_open_key.empty()) {
      half_open_.erase(e.half_open_key);
      metrics_.half_open.Set(static_cast<double>(half_open_.size()));
    }
    for (uint64_t spi : {e.sa->spi_i(), e.sa->spi_r()}) {
      auto s = by_spi_.find(spi);
      if (s != by_spi_.end() && s->second == &e) by_spi_.erase(s);
    }
    by_conn_.erase(it);
  }
  metrics_.active_ike.Set(static_cast<double>(by_conn_.size()));
  metrics_.active_child.Set(static_cast<double>(sync_->pairs()));
}

SaManager::Entry* SaManager::LiveSaFor(const StaticEntry& s, int* index) {
  // Prefer an SA that is up; else one on its way (its queue takes the child).
  Entry* found = nullptr;
  for (auto& [id, e] : by_conn_) {
    if (e->busy) continue;  // a responder before IKE_AUTH, held by a worker
    const IkeState st = e->sa->state();
    if (!(e->sa->remote().address == s.peer) || st == IkeState::kDead ||
        st == IkeState::kDeleting || st == IkeState::kRekeyed) {
      continue;
    }
    const int i = book_.ChildIndex(e->sa->policy(), s.child);
    if (i < 0) continue;  // made under another configuration, or for a dynamic peer
    if (found == nullptr || (st == IkeState::kEstablished &&
                             found->sa->state() != IkeState::kEstablished)) {
      found = e.get();
      *index = i;
    }
  }
  return found;
}

SaManager::Entry* SaManager::StartInitiator(
    const StaticEntry& s, std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow) {
  auto address = LocalAddressToward(s.peer);
  if (!address) {
    metrics_.failed.Add({{"reason", "NO_ROUTE_TO_PEER"}}).Increment();
    return nullptr;
  }
  Endpoint local{*address, kIkePort};
  auto policy = book_.For(local.address, s.peer);
  const int index = book_.ChildIndex(*policy, s.child);
  if (index < 0) return nullptr;
  auto entry = std::make_unique<Entry>();
  entry->conn_id = next_conn_id_++;
  // The version the crypto map entry asks for (IOS: `crypto isakmp`
  // policies mean IKEv1).
  if (s.child.ike_version == 1) {
    entry->sa = Ikev1Sa::NewInitiator({clock_, rng_}, policy, local, Endpoint{s.peer, kIkePort},
                                      static_cast<size_t>(index), std::move(flow),
                                      s.child.initiate_aggressive);
  } else {
    entry->sa = IkeSa::NewInitiator({clock_, rng_}, policy, local, Endpoint{s.peer, kIkePort},
                                    static_cast<size_t>(index), std::move(flow));
  }
  return Launch(std::move(entry));
}

SaManager::Entry* SaManager::Launch(std::unique_ptr<Entry> entry) {
  entry->started = clock_->Now();
  Entry* e = entry.get();
  by_conn_[e->conn_id] = std::move(entry);
  metrics_.started.Add({{"role", "initiator"}, {"version", e->sa->version() == 1 ? "1" : "2"}})
      .Increment();
  Actions actions = e->sa->Start();
  by_spi_[e->sa->spi_i()] = e;
  Execute(*e, std::move(actions));
  return e;
}

void SaManager::InstallChild(Entry& e, const action::InstallChild& a) {
  const ChildSa& c = a.child;
  sync_->Install(a);
  metrics_.active_child.Set(static_cast<double>(sync_->pairs()));
  v1::IkeEvent ev;
  ev.set_ike_conn_id(e.conn_id);
  ev.mutable_child_installed()->set_inbound_spi(c.spi_in);
  ev.mutable_child_installed()->set_outbound_spi(c.spi_out);
  ev.mutable_child_installed()->set_rekey(a.replaces_spi_in != 0);
  Emit(std::move(ev));
  log::Info("CHILD SA installed", {{"conn_id", std::to_string(e.conn_id)},
                                   {"spi_in", absl::StrCat(absl::Hex(c.spi_in))},
                                   {"spi_out", absl::StrCat(absl::Hex(c.spi_out))},
                                   {"local_ts", ToString(c.local_ts)},
                                   {"remote_ts", ToString(c.remote_ts)},
                                   {"udp_encap", c.udp_encap ? "yes" : "no"}});
}

void SaManager::OnOcspAnswered(const std::string& key) {
  auto it = ocsp_waiting_.find(key);
  if (it == ocsp_waiting_.end()) return;
  const std::vector<uint64_t> waiting = std::move(it->second);
  ocsp_waiting_.erase(it);
  for (uint64_t id : waiting) {
    auto e = by_conn_.find(id);
    if (e == by_conn_.end()) continue;  // gone meanwhile (timed out, closed)
    if (e->second->busy) {
      busy_[id].ocsp_answered = true;  // told once its worker is done
      continue;
    }
    Execute(*e->second, e->second->sa->RevocationAnswered());
  }
}

}  // namespace vpnfleet::ike
