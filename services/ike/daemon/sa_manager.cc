#include "services/ike/daemon/sa_manager.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <future>

#include "absl/strings/str_cat.h"
#include "common/crypto/zeroize.h"
#include "common/log/log.h"
#include "services/ike/codec/other_versions.h"
#include "services/ike/daemon/cookies.h"
#include "services/ike/daemon/initial_contact.h"
#include "services/ike/sa/notify.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace dv1 = vpnfleet::dataplane::v1;
namespace v1 = vpnfleet::ike::v1;

constexpr absl::Duration kTrustpointCheckInterval = absl::Seconds(10);

prometheus::Counter& NewCounter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& NewGauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

// The API's name for an AUTH method; an RFC 7427 signature by its key type.
v1::AuthMethod AuthMethodOf(uint8_t method, bool ec_key) {
  switch (method) {
    case auth::kAuthSharedKey: return v1::AUTH_METHOD_PRE_SHARE;
    case auth::kAuthEcdsaP256:
    case auth::kAuthEcdsaP384:
    case auth::kAuthEcdsaP521: return v1::AUTH_METHOD_ECDSA_SIG;
    case auth::kAuthRsaSignature: return v1::AUTH_METHOD_RSA_SIG;
    case auth::kAuthDigitalSignature: return ec_key ? v1::AUTH_METHOD_ECDSA_SIG : v1::AUTH_METHOD_RSA_SIG;
    default: return v1::AUTH_METHOD_UNSPECIFIED;
  }
}

uint64_t Be64(const std::string& s, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

std::string Spi64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
  return s;
}

v1::IkeSaState ApiState(IkeState s) {
  switch (s) {
    case IkeState::kIdle:
    case IkeState::kInitSent:
    case IkeState::kInitDone:
    case IkeState::kAuthSent: return v1::IKE_SA_STATE_CONNECTING;
    case IkeState::kEstablished: return v1::IKE_SA_STATE_ESTABLISHED;
    case IkeState::kRekeyed: return v1::IKE_SA_STATE_REKEYING;
    case IkeState::kDeleting:
    case IkeState::kDead: return v1::IKE_SA_STATE_DELETING;
  }
  return v1::IKE_SA_STATE_UNSPECIFIED;
}

// Our address towards a peer: the source the kernel's routing would pick
// (found with a connected UDP socket; nothing is sent).
std::optional<net::IpAddress> LocalAddressToward(const net::IpAddress& peer) {
  if (peer.family != net::Family::kV4) return std::nullopt;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  struct sockaddr_in to;
  std::memset(&to, 0, sizeof to);
  to.sin_family = AF_INET;
  to.sin_port = htons(kIkePort);
  std::memcpy(&to.sin_addr, peer.bytes.data(), 4);
  struct sockaddr_in me;
  socklen_t len = sizeof me;
  const bool ok = connect(fd, reinterpret_cast<struct sockaddr*>(&to), sizeof to) == 0 &&
                  getsockname(fd, reinterpret_cast<struct sockaddr*>(&me), &len) == 0;
  close(fd);
  if (!ok) return std::nullopt;
  net::IpAddress a;
  a.family = net::Family::kV4;
  std::memcpy(a.bytes.data(), &me.sin_addr, 4);
  return a;
}

std::string RawOf(const std::string& text) {
  auto a = net::ParseAddress(text);
  if (!a.ok()) return "";
  return std::string(reinterpret_cast<const char*>(a->bytes.data()),
                     a->family == net::Family::kV4 ? 4 : 16);
}

// A PROTECT policy of a crypto map line (a ChildPolicy, or the ChildSa of
// a dynamic map), without direction and selector.
template <typename Line>
dv1::SpdPolicy ProtectPolicy(const Line& line, uint32_t reqid, bool per_host) {
  dv1::SpdPolicy p;
  p.set_priority(line.spd_priority);
  p.set_action(dv1::POLICY_ACTION_PROTECT);
  p.set_reqid(reqid);
  p.set_per_host(per_host);
  p.set_mode(line.transport ? cv1::IPSEC_MODE_TRANSPORT : cv1::IPSEC_MODE_TUNNEL);
  p.set_crypto_map(line.crypto_map);
  p.set_crypto_map_sequence(line.sequence);
  return p;
}

}  // namespace

SaManager::SaManager(const Clock* clock, Rng* rng, std::unique_ptr<IkeSockets> sockets,
                     std::shared_ptr<grpc::ChannelInterface> dataplane, prometheus::Registry& registry,
                     ManagerOptions options)
    : clock_(clock),
      rng_(rng),
      sockets_(std::move(sockets)),
      channel_(std::move(dataplane)),
      options_(options),
      started_(prometheus::BuildCounter()
                   .Name("vpnfleet_ike_negotiations_started_total")
                   .Help("IKE SA negotiations started, by role.")
                   .Register(registry)),
      succeeded_(prometheus::BuildCounter()
                     .Name("vpnfleet_ike_negotiations_succeeded_total")
                     .Help("IKE SAs established, by role.")
                     .Register(registry)),
      failed_(prometheus::BuildCounter()
                  .Name("vpnfleet_ike_negotiations_failed_total")
                  .Help("Failed negotiations (IKE and CHILD SAs), by reason.")
                  .Register(registry)),
      setup_seconds_(prometheus::BuildHistogram()
                         .Name("vpnfleet_ike_setup_seconds")
                         .Help("Time from the first IKE_SA_INIT to an established IKE SA.")
                         .Register(registry)
                         .Add({}, prometheus::Histogram::BucketBoundaries{
                                      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                      1, 2.5, 5, 10})),
      active_ike_(NewGauge(registry, "vpnfleet_ike_sas",
                           "IKE SAs that exist (any state).")),
      half_open_gauge_(NewGauge(registry, "vpnfleet_ike_half_open_sas",
                                "Responder IKE SAs waiting for IKE_AUTH (cookies above "
                                "--cookie_threshold, refused above --half_open_limit).")),
      active_child_(NewGauge(registry, "vpnfleet_ike_child_sas",
                             "CHILD SA pairs installed.")),
      rekeys_(NewCounter(registry, "vpnfleet_ike_child_rekeys_total",
                         "CHILD SAs re-keyed.")),
      ike_rekeys_(NewCounter(registry, "vpnfleet_ike_sa_rekeys_total",
                             "IKE SAs re-keyed into a successor (either side starting it).")),
      retransmits_(NewCounter(registry, "vpnfleet_ike_retransmits_total",
                              "IKE messages sent again (ours, and answers to repeated requests).")),
      dpd_failures_(NewCounter(registry, "vpnfleet_ike_dpd_failures_total",
                               "Peers declared dead by liveness checks.")),
      cookies_sent_(NewCounter(registry, "vpnfleet_ike_cookies_sent_total",
                               "COOKIE challenges sent to IKE_SA_INIT requests.")),
      half_open_refused_(NewCounter(registry, "vpnfleet_ike_half_open_refused_total",
                                    "IKE_SA_INIT requests dropped at the half-open limit.")),
      refused_(prometheus::BuildCounter()
                   .Name("vpnfleet_ike_messages_refused_total")
                   .Help("IKE messages refused before any SA existed for them, by reason "
                         "(IKEV1_NOT_SUPPORTED, INVALID_MAJOR_VERSION, MALFORMED).")
                   .Register(registry)),
      invalid_spi_(prometheus::BuildCounter()
                       .Name("vpnfleet_ike_invalid_spi_total")
                       .Help("ESP on unknown SPIs reported by the dataplane, by what we did "
                             "(notified the peer, initiated to it, ignored).")
                       .Register(registry)) {
  // The DoS settings in force, beside the gauge they bound, so an alert can
  // compare the two (vpnfleet_ike_half_open_sas / vpnfleet_ike_half_open_limit).
  NewGauge(registry, "vpnfleet_ike_half_open_limit",
           "--half_open_limit: half-open responder SAs above which IKE_SA_INIT is dropped.")
      .Set(static_cast<double>(options_.half_open_limit));
  NewGauge(registry, "vpnfleet_ike_cookie_threshold",
           "--cookie_threshold: half-open responder SAs above which cookies are asked for.")
      .Set(static_cast<double>(options_.cookie_threshold));
  NewGauge(registry, "vpnfleet_ike_half_open_timeout_seconds",
           "--half_open_timeout: how long a responder SA may wait for IKE_AUTH.")
      .Set(absl::ToDoubleSeconds(options_.half_open_timeout));
  if (channel_) dataplane_ = dv1::DataplaneService::NewStub(channel_);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ocsp_ = std::make_unique<OcspFetcher>(
      ocsp_cache_, clock_, options_.ocsp_post,
      [this](const std::string& key) { Post([this, key] { OnOcspAnswered(key); }); }, registry);
}

SaManager::~SaManager() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void SaManager::Start() {
  thread_ = std::thread([this] { Loop(); });
  if (dataplane_) watcher_ = std::thread([this] { WatchDataplane(); });
}

void SaManager::Stop() {
  if (stop_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    if (watch_context_) watch_context_->TryCancel();
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  if (watcher_.joinable()) watcher_.join();
  ocsp_.reset();  // its worker Posts to us: gone before we are
}

void SaManager::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(fn));
  }
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
  // The engine answers within milliseconds unless the dataplane is slow to
  // take SAs. Once its loop has ended, no task runs any more (so returning
  // cannot leave it running on our stack's variables).
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
    if (clock_->Now() >= next_register) {
      // The dataplane forgets us when it restarts; tell it again now and then.
      sockets_->Register();
      next_register = clock_->Now() + absl::Seconds(5);
    }
  }
  // Shutting down: tell peers, as IOS does on `clear crypto session`.
  for (auto& [id, e] : by_conn_) Execute(*e, e->sa->Close("daemon stopping"));
  loop_done_.store(true);
}

SaManager::Entry* SaManager::FindBySpi(uint64_t spi) {
  auto it = by_spi_.find(spi);
  return it == by_spi_.end() ? nullptr : it->second;
}

void SaManager::Refuse(const Datagram& d, const std::string& reason, const std::string& detail) {
  refused_.Add({{"reason", reason}}).Increment();
  failed_.Add({{"reason", reason}}).Increment();
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
  if (d.data.size() < v2::kHeaderSize) {
    Refuse(d, "MALFORMED", absl::StrCat("a ", d.data.size(), "-octet datagram is no IKE message"));
    return;
  }
  if (const uint8_t major = *v2::MajorVersion(d.data); major != 2) {
    if (major == 1) {
      // IKEv1 is `crypto isakmp` with version 1, not built yet: say so
      // rather than let the peer retransmit into silence.
      if (auto reply = v2::Ikev1Refusal(d.data, rng_->U32())) {
        sockets_->Send(d.local, d.remote, *reply, false);
      }
      Refuse(d, "IKEV1_NOT_SUPPORTED",
             "an IKEv1 (ISAKMP 1.0) message; this daemon speaks IKEv2 only: answered "
             "NO-PROPOSAL-CHOSEN");
    } else {
      if (auto reply = v2::InvalidMajorVersion(d.data)) {
        sockets_->Send(d.local, d.remote, *reply, false);
      }
      Refuse(d, "INVALID_MAJOR_VERSION", absl::StrCat("major version ", major));
    }
    return;
  }
  const uint64_t spi_i = Be64(d.data, 0);
  const uint64_t spi_r = Be64(d.data, 8);
  const uint8_t exchange = static_cast<uint8_t>(d.data[18]);
  const uint8_t flags = static_cast<uint8_t>(d.data[19]);
  const bool from_initiator = (flags & v2::kFlagInitiator) != 0;
  Entry* e = nullptr;
  if (!from_initiator) {
    e = FindBySpi(spi_i);
  } else if (spi_r != 0) {
    e = FindBySpi(spi_r);
  } else if (exchange == static_cast<uint8_t>(v2::ExchangeType::kIkeSaInit) &&
             (flags & v2::kFlagResponse) == 0) {
    const std::string key = absl::StrCat(spi_i, "/", d.remote.ToString());
    auto it = half_open_.find(key);
    if (it != half_open_.end()) {
      e = it->second;
    } else {
      // DoS checks before any state (RFC 7296 §2.6).
      if (half_open_.size() >= options_.half_open_limit) {
        half_open_refused_.Increment();
        return;
      }
      if (half_open_.size() >= options_.cookie_threshold) {
        auto m = v2::Decode(d.data);
        if (!m.ok()) {
          Refuse(d, "MALFORMED", absl::StrCat("IKE_SA_INIT request: ", m.status().message()));
          return;
        }
        const auto* nonce = m->Find<v2::NoncePayload>(v2::PayloadType::kNonce);
        if (nonce == nullptr) return;
        const std::string ip = d.remote.ToString();
        const auto* first = m->payloads.empty() ? nullptr
                                                : std::get_if<v2::NotifyPayload>(&m->payloads[0].body);
        if (first == nullptr || first->type != notify::kCookie ||
            !cookies_.Check(first->data, nonce->data, ip, spi_i, clock_->Now())) {
          const std::string cookie = cookies_.Make(nonce->data, ip, spi_i, clock_->Now());
          v2::Message r;
          r.header.initiator_spi = spi_i;
          r.header.exchange_type = exchange;
          r.header.flags = v2::kFlagResponse;
          v2::Payload p;
          p.type = static_cast<uint8_t>(v2::PayloadType::kNotify);
          v2::NotifyPayload n;
          n.type = notify::kCookie;
          n.data = cookie;
          p.body = n;
          r.payloads.push_back(p);
          auto bytes = v2::Encode(r);
          if (bytes.ok()) sockets_->Send(d.local, d.remote, *bytes, false);
          cookies_sent_.Increment();
          return;
        }
      }
      auto entry = std::make_unique<Entry>();
      entry->conn_id = next_conn_id_++;
      entry->sa = IkeSa::NewResponder({clock_, rng_}, book_.For(d.local.address, d.remote.address),
                                      d.local, d.remote);
      entry->started = clock_->Now();
      entry->half_open_key = key;
      started_.Add({{"role", "responder"}}).Increment();
      e = entry.get();
      Actions actions = e->sa->Receive(d.local, d.remote, d.data);
      if (e->sa->state() == IkeState::kIdle) {
        // Nothing it could parse (a garbage payload chain): no answer, no
        // state (§2.21: an unauthenticated error is not worth one).
        Refuse(d, "MALFORMED", "IKE_SA_INIT request that does not decode");
        return;
      }
      if (e->sa->state() != IkeState::kInitDone) {
        // Refused (INVALID_KE, NO_PROPOSAL_CHOSEN...): answer, keep nothing.
        for (Action& a : actions) {
          if (auto* s = std::get_if<action::Send>(&a)) {
            sockets_->Send(s->local, s->remote, s->datagram, s->nat_keepalive);
          } else if (auto* f = std::get_if<action::Failed>(&a)) {
            failed_.Add({{"reason", f->reason}}).Increment();
          }
        }
        return;
      }
      half_open_[key] = e;
      half_open_gauge_.Set(static_cast<double>(half_open_.size()));
      by_spi_[e->sa->spi_r()] = e;
      by_conn_[e->conn_id] = std::move(entry);
      active_ike_.Set(static_cast<double>(by_conn_.size()));
      Execute(*e, std::move(actions));
      return;
    }
  }
  if (e == nullptr) return;  // unknown SPI: §2.21.4 lets us stay silent
  Execute(*e, e->sa->Receive(d.local, d.remote, d.data));
}

void SaManager::Execute(Entry& e, Actions actions) {
  for (Action& a : actions) {
    if (auto* s = std::get_if<action::Send>(&a)) {
      sockets_->Send(s->local, s->remote, s->datagram, s->nat_keepalive);
    } else if (auto* in = std::get_if<action::InstallChild>(&a)) {
      InstallChild(e, *in);
    } else if (auto* del = std::get_if<action::DeleteChild>(&a)) {
      RemoveChild(*del);
      v1::IkeEvent ev;
      ev.set_ike_conn_id(e.conn_id);
      ev.mutable_child_deleted()->set_inbound_spi(del->spi_in);
      ev.mutable_child_deleted()->set_outbound_spi(del->spi_out);
      ev.mutable_child_deleted()->set_reason(del->reason);
      Emit(std::move(ev));
    } else if (auto* f = std::get_if<action::Failed>(&a)) {
      failed_.Add({{"reason", f->reason}}).Increment();
      if (f->reason == "DPD_TIMEOUT") dpd_failures_.Increment();
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
      if (!e.half_open_key.empty()) {
        half_open_.erase(e.half_open_key);
        half_open_gauge_.Set(static_cast<double>(half_open_.size()));
        e.half_open_key.clear();
      }
      succeeded_.Add({{"role", e.sa->initiator() ? "initiator" : "responder"}}).Increment();
      setup_seconds_.Observe(absl::ToDoubleSeconds(clock_->Now() - e.started));
      log::Info("IKE SA established", {{"conn_id", std::to_string(e.conn_id)},
                                       {"peer", e.sa->remote().ToString()},
                                       {"peer_id", IdentityText(e.sa->remote_id())}});
      if (est->initial_contact) DropStaleSas(e);
    }
  }
  Schedule(e);
}

void SaManager::DropStaleSas(Entry& e) {
  // §2.4, as daemon/initial_contact.h decides: dropping concurrent
  // siblings left the peer sending into SAs we had forgotten.
  size_t dropped = 0, kept = 0;
  for (auto& [id, other] : by_conn_) {
    if (other.get() == &e || other->sa->state() != IkeState::kEstablished) continue;
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
  active_ike_.Set(static_cast<double>(by_conn_.size()));
  if (r.redundant) {
    // Our half of a simultaneous rekey that lost (§2.25.2).
    log::Info("IKE rekey collision: closing the redundant SA",
              {{"conn_id", std::to_string(n->conn_id)}, {"peer", n->sa->remote().ToString()}});
    Execute(*n, n->sa->Close("rekey collision"));
    return;
  }
  Schedule(*n);
  ike_rekeys_.Increment();
  for (auto& [spi, inst] : installed_) {
    if (inst.conn_id == old.conn_id) inst.conn_id = n->conn_id;
  }
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
    retransmits_.Increment(static_cast<double>(st.retransmits - e.seen_retransmits));
    e.seen_retransmits = st.retransmits;
  }
  if (st.rekeys > e.seen_rekeys) {
    rekeys_.Increment(static_cast<double>(st.rekeys - e.seen_rekeys));
    e.seen_rekeys = st.rekeys;
  }
  if (e.sa->state() == IkeState::kDead) {
    dead_.push_back(e.conn_id);
    return;
  }
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
    if (dataplane_ && e.sa->DpdCheckDue(now)) RefreshTraffic(e);
    Execute(e, e.sa->Tick());
  }
}

void SaManager::RefreshTraffic(Entry& e) {
  for (const ChildSa& c : e.sa->children()) {
    for (bool inbound : {true, false}) {
      dv1::GetSaRequest g;
      g.mutable_key()->set_spi(inbound ? c.spi_in : c.spi_out);
      g.mutable_key()->set_destination(inbound ? c.local.address.ToString()
                                               : c.remote.address.ToString());
      g.mutable_key()->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
      dv1::SaStatus st;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
      if (!dataplane_->GetSa(&ctx, g, &st).ok()) continue;
      const int64_t used = st.counters().last_used_unix_seconds();
      if (used <= 0) continue;
      if (inbound) {
        e.sa->NoteTraffic(absl::FromUnixSeconds(used));
      } else {
        e.sa->NoteOutbound(absl::FromUnixSeconds(used));
      }
    }
  }
}

void SaManager::Reap() {
  std::vector<uint64_t> dead;
  dead.swap(dead_);
  for (uint64_t id : dead) {
    auto it = by_conn_.find(id);
    if (it == by_conn_.end() || it->second->sa->state() != IkeState::kDead) continue;
    Entry& e = *it->second;
    if (!e.half_open_key.empty()) {
      half_open_.erase(e.half_open_key);
      half_open_gauge_.Set(static_cast<double>(half_open_.size()));
    }
    for (uint64_t spi : {e.sa->spi_i(), e.sa->spi_r()}) {
      auto s = by_spi_.find(spi);
      if (s != by_spi_.end() && s->second == &e) by_spi_.erase(s);
    }
    by_conn_.erase(it);
  }
  active_ike_.Set(static_cast<double>(by_conn_.size()));
  active_child_.Set(static_cast<double>(installed_.size()));
}

SaManager::Entry* SaManager::LiveSaFor(const StaticEntry& s, int* index) {
  // Prefer an SA that is up; else one on its way (its queue takes the child).
  Entry* found = nullptr;
  for (auto& [id, e] : by_conn_) {
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
    failed_.Add({{"reason", "NO_ROUTE_TO_PEER"}}).Increment();
    return nullptr;
  }
  Endpoint local{*address, kIkePort};
  auto policy = book_.For(local.address, s.peer);
  const int index = book_.ChildIndex(*policy, s.child);
  if (index < 0) return nullptr;
  auto entry = std::make_unique<Entry>();
  entry->conn_id = next_conn_id_++;
  entry->sa = IkeSa::NewInitiator({clock_, rng_}, policy, local, Endpoint{s.peer, kIkePort},
                                  static_cast<size_t>(index), std::move(flow));
  entry->started = clock_->Now();
  Entry* e = entry.get();
  by_conn_[e->conn_id] = std::move(entry);
  started_.Add({{"role", "initiator"}}).Increment();
  Actions actions = e->sa->Start();
  by_spi_[e->sa->spi_i()] = e;
  Execute(*e, std::move(actions));
  return e;
}

dv1::SecurityAssociation SaManager::SaProto(const ChildSa& c, bool inbound, uint32_t reqid) const {
  dv1::SecurityAssociation sa;
  const std::string local = c.local.address.ToString(), remote = c.remote.address.ToString();
  sa.mutable_key()->set_spi(inbound ? c.spi_in : c.spi_out);
  sa.mutable_key()->set_destination(inbound ? local : remote);
  sa.mutable_key()->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
  sa.set_direction(inbound ? cv1::DIRECTION_INBOUND : cv1::DIRECTION_OUTBOUND);
  sa.set_mode(c.transport ? cv1::IPSEC_MODE_TRANSPORT : cv1::IPSEC_MODE_TUNNEL);
  sa.set_tunnel_source(inbound ? remote : local);
  sa.set_tunnel_destination(inbound ? local : remote);
  sa.set_encryption(EncryptionOf(c.suite.encr, c.suite.key_bits));
  sa.set_encryption_key(std::string(inbound ? c.encr_in.view() : c.encr_out.view()));
  sa.set_integrity(IntegrityOf(c.suite.integ));
  if (c.suite.integ != 0) {
    sa.set_integrity_key(std::string(inbound ? c.integ_in.view() : c.integ_out.view()));
  }
  sa.set_extended_sequence_numbers(c.suite.esn);
  if (c.replay_window == 0) {
    sa.mutable_replay()->set_disabled(true);
  } else {
    sa.mutable_replay()->set_size(c.replay_window);
  }
  // The dataplane warns (soft) at 90% of the volume and stops at the limit;
  // time-based rekeys are the IKE SA's own timer.
  sa.mutable_hard_lifetime()->set_seconds(c.lifetime_seconds + 30);
  if (c.lifetime_kilobytes != 0) {
    sa.mutable_hard_lifetime()->set_kilobytes(c.lifetime_kilobytes);
    sa.mutable_soft_lifetime()->set_kilobytes(c.lifetime_kilobytes * 9 / 10);
  }
  if (c.udp_encap) {
    sa.mutable_udp_encapsulation()->set_source_port(c.local.port);
    sa.mutable_udp_encapsulation()->set_destination_port(c.remote.port);
  }
  for (const cv1::TrafficSelector& ts : inbound ? SpdSelectorsOf(c.remote_ts, c.local_ts)
                                                : SpdSelectorsOf(c.local_ts, c.remote_ts)) {
    *sa.add_selectors() = ts;
  }
  sa.set_reqid(reqid);
  sa.set_copy_dscp(true);
  sa.set_crypto_map(c.crypto_map);
  sa.set_crypto_map_sequence(c.sequence);
  sa.set_peer(remote);
  return sa;
}

void SaManager::InstallChild(Entry& e, const action::InstallChild& a, uint32_t reuse_reqid) {
  const ChildSa& c = a.child;
  Installed inst;
  inst.conn_id = e.conn_id;
  inst.reqid = c.reqid;
  inst.local = c.local.address.ToString();
  inst.remote = c.remote.address.ToString();
  auto old = a.replaces_spi_in != 0 ? installed_.find(a.replaces_spi_in) : installed_.end();
  if (old != installed_.end()) {
    // A rekey: same bundle, same policies; the new outbound SA takes over
    // (the dataplane prefers the newest of a reqid).
    inst.reqid = old->second.reqid;
    inst.policy_ids = std::move(old->second.policy_ids);
    old->second.policy_ids.clear();
  } else if (inst.reqid == 0) {
    // A dynamic map's child: its own bundle (the same one again on a resync).
    inst.reqid = reuse_reqid != 0 ? reuse_reqid : reqids_.Fresh();
  }
  if (dataplane_) {
    AddSa(c, true, inst.reqid);
    if (a.defer_outbound) {
      deferred_outbound_[a.replaces_spi_in] = {c, inst.reqid};
    } else {
      AddSa(c, false, inst.reqid);
    }
    if (c.reqid == 0 && a.replaces_spi_in == 0) {
      // Dynamic children bring their own SPD entries (static ones were
      // put in when the configuration was applied).
      (void)AddPolicies(ProtectPolicy(c, inst.reqid, false), c.local_ts, c.remote_ts, inst.local,
                  inst.remote, &inst.policy_ids);
    }
  }
  installed_[c.spi_in] = std::move(inst);
  active_child_.Set(static_cast<double>(installed_.size()));
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

void SaManager::AddSa(const ChildSa& c, bool inbound, uint32_t reqid) {
  dv1::AddSaRequest req;
  *req.mutable_sa() = SaProto(c, inbound, reqid);
  dv1::AddSaResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Status st = dataplane_->AddSa(&ctx, req, &resp);
  vpnfleet::crypto::ZeroizeString(req.mutable_sa()->mutable_encryption_key());
  vpnfleet::crypto::ZeroizeString(req.mutable_sa()->mutable_integrity_key());
  if (!st.ok()) {
    log::Error("dataplane refused a CHILD SA", {{"spi", std::to_string(inbound ? c.spi_in : c.spi_out)},
                                                {"error", st.error_message()}});
  }
}

void SaManager::RemoveChild(const action::DeleteChild& d) {
  auto deferred = deferred_outbound_.find(d.spi_in);
  if (deferred != deferred_outbound_.end()) {
    // The pair a rekey replaced is going: its successor sends from now on.
    if (dataplane_) AddSa(deferred->second.first, false, deferred->second.second);
    deferred_outbound_.erase(deferred);
  }
  // A child deleted before its deferred outbound half went in takes it along.
  for (auto it = deferred_outbound_.begin(); it != deferred_outbound_.end();) {
    it = it->second.first.spi_in == d.spi_in ? deferred_outbound_.erase(it) : std::next(it);
  }
  auto it = installed_.find(d.spi_in);
  if (it == installed_.end()) return;
  const Installed& inst = it->second;
  if (dataplane_) {
    for (const auto& [spi, dst] : {std::make_pair(d.spi_in, inst.local),
                                   std::make_pair(d.spi_out, inst.remote)}) {
      dv1::DeleteSaRequest req;
      req.mutable_key()->set_spi(spi);
      req.mutable_key()->set_destination(dst);
      req.mutable_key()->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
      dv1::DeleteSaResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      (void)dataplane_->DeleteSa(&ctx, req, &resp);
    }
    for (uint64_t id : inst.policy_ids) {
      dv1::DeletePolicyRequest req;
      req.set_id(id);
      dv1::DeletePolicyResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      (void)dataplane_->DeletePolicy(&ctx, req, &resp);
    }
  }
  installed_.erase(it);
  active_child_.Set(static_cast<double>(installed_.size()));
}

void SaManager::OnOcspAnswered(const std::string& key) {
  auto it = ocsp_waiting_.find(key);
  if (it == ocsp_waiting_.end()) return;
  const std::vector<uint64_t> waiting = std::move(it->second);
  ocsp_waiting_.erase(it);
  for (uint64_t id : waiting) {
    auto e = by_conn_.find(id);
    if (e == by_conn_.end()) continue;  // gone meanwhile (timed out, closed)
    Execute(*e->second, e->second->sa->RevocationAnswered());
  }
}

absl::Status SaManager::ApplyConfig(const v1::IkeConfig& config) {
  std::vector<std::string> warnings;
  LoadedTrustpoints trustpoints = LoadTrustpoints(config, options_.pki_dir, ocsp_cache_);
  warnings = trustpoints.warnings;
  trustpoint_files_ = trustpoints.fingerprint;
  next_trustpoint_check_ = clock_->Now() + kTrustpointCheckInterval;
  // What reloading trustpoints needs, without the keys.
  config_.Clear();
  *config_.mutable_isakmp_policies() = config.isakmp_policies();
  *config_.mutable_globals() = config.globals();
  *config_.mutable_trustpoints() = config.trustpoints();
  for (int i = 0; i < config.pre_shared_keys_size(); ++i) config_.add_pre_shared_keys();
  book_ = PolicyBook::Build(config, trustpoints, reqids_, &warnings);
  book_.SetHalfOpenTimeout(options_.half_open_timeout);
  if (trustpoints.credential) {
    log::Info("IKE signs with trustpoint", {{"trustpoint", trustpoints.credential->trustpoint()},
                                            {"subject", auth::SubjectText(trustpoints.credential->leaf())}});
  }
  for (const std::string& w : warnings) log::Warn("IKE configuration", {{"warning", w}});
  RemoveStaticPolicies();
  absl::Status installed = InstallStaticPolicies();
  if (!installed.ok()) return installed;
  log::Info("IKE configuration applied", {{"revision", std::to_string(book_.revision())},
                                          {"initiating_entries", std::to_string(book_.statics().size())}});
  return absl::OkStatus();
}

void SaManager::CheckTrustpointFiles() {
  const absl::Time now = clock_->Now();
  if (now < next_trustpoint_check_) return;
  next_trustpoint_check_ = now + kTrustpointCheckInterval;
  if (config_.trustpoints().empty() ||
      TrustpointFilesFingerprint(config_, options_.pki_dir) == trustpoint_files_) {
    return;
  }
  LoadedTrustpoints trustpoints = LoadTrustpoints(config_, options_.pki_dir, ocsp_cache_);
  trustpoint_files_ = trustpoints.fingerprint;
  std::vector<std::string> warnings = trustpoints.warnings;
  book_.UseTrustpoints(config_, trustpoints, &warnings);
  for (const std::string& w : warnings) log::Warn("IKE trustpoints", {{"warning", w}});
  log::Info("IKE trustpoint files reloaded",
            {{"signing", trustpoints.credential ? trustpoints.credential->trustpoint() : "-"}});
}

absl::Status SaManager::InstallStaticPolicies() {
  if (!dataplane_) return absl::OkStatus();
  absl::Status refused;
  for (const StaticEntry& s : book_.statics()) {
    const std::string peer = s.peer.ToString();
    auto local = LocalAddressToward(s.peer);
    if (!local) {
      log::Warn("no route to a crypto map peer; its policies wait",
                {{"crypto_map", s.child.crypto_map}, {"peer", peer}});
      continue;
    }
    const ChildPolicy& c = s.child;
    refused.Update(AddPolicies(ProtectPolicy(c, c.reqid, c.per_host), c.local_ts, c.remote_ts,
                               local->ToString(), peer, &static_policy_ids_));
  }
  // Deny lines: the entry does not protect what they match.
  for (const SkipRule& k : book_.skips()) {
    dv1::SpdPolicy skip;
    skip.set_priority(k.spd_priority);
    skip.set_action(dv1::POLICY_ACTION_SKIP_ENTRY);
    skip.set_crypto_map(k.crypto_map);
    skip.set_crypto_map_sequence(k.sequence);
    refused.Update(AddPolicies(skip, k.local_ts, k.remote_ts, "", "", &static_policy_ids_));
  }
  return refused;
}

absl::Status SaManager::AddPolicies(const dv1::SpdPolicy& base, const TsList& local_ts,
                                    const TsList& remote_ts, const std::string& local,
                                    const std::string& peer, std::vector<uint64_t>* ids) {
  absl::Status refused;
  for (bool inbound : {false, true}) {
    for (const cv1::TrafficSelector& ts : inbound ? SpdSelectorsOf(remote_ts, local_ts)
                                                  : SpdSelectorsOf(local_ts, remote_ts)) {
      dv1::AddPolicyRequest req;
      dv1::SpdPolicy* p = req.mutable_policy();
      *p = base;
      p->set_direction(inbound ? cv1::DIRECTION_INBOUND : cv1::DIRECTION_OUTBOUND);
      *p->mutable_selector() = ts;
      if (!peer.empty()) {
        p->set_peer(peer);
        p->set_tunnel_source(inbound ? peer : local);
        p->set_tunnel_destination(inbound ? local : peer);
      }
      dv1::AddPolicyResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::Status st = dataplane_->AddPolicy(&ctx, req, &resp);
      if (st.ok()) {
        ids->push_back(resp.id());
      } else if (st.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 st.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        // Not there now: everything is installed again when it comes back.
        log::Warn("dataplane unreachable; SPD policy installed when it returns",
                  {{"crypto_map", base.crypto_map()}, {"error", st.error_message()}});
      } else {
        log::Error("dataplane refused an SPD policy",
                   {{"crypto_map", base.crypto_map()}, {"error", st.error_message()}});
        if (refused.ok()) {
          refused = absl::FailedPreconditionError(absl::StrCat(
              "the dataplane refused an SPD policy of crypto map ", base.crypto_map(), " ",
              base.crypto_map_sequence(), ": ", st.error_message()));
        }
      }
    }
  }
  return refused;
}

void SaManager::RemoveStaticPolicies() {
  if (!dataplane_) return;
  for (uint64_t id : static_policy_ids_) {
    dv1::DeletePolicyRequest req;
    req.set_id(id);
    dv1::DeletePolicyResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    (void)dataplane_->DeletePolicy(&ctx, req, &resp);
  }
  static_policy_ids_.clear();
}

void SaManager::Resync() {
  // The dataplane (re)started with empty tables: put everything back.
  // What may still be there (the stream broke, the dataplane did not
  // restart) is removed first so that nothing is doubled.
  RemoveStaticPolicies();
  (void)InstallStaticPolicies();  // a refusal is logged; the configuration was accepted before
  for (auto& [spi, inst] : installed_) {
    for (uint64_t id : inst.policy_ids) {
      dv1::DeletePolicyRequest req;
      req.set_id(id);
      dv1::DeletePolicyResponse resp;
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      (void)dataplane_->DeletePolicy(&ctx, req, &resp);
    }
  }
  std::map<uint32_t, Installed> before = std::move(installed_);
  installed_.clear();
  for (auto& [id, e] : by_conn_) {
    for (const ChildSa& c : e->sa->children()) {
      ChildSa copy = c;
      auto it = before.find(c.spi_in);
      const uint32_t reqid = it != before.end() ? it->second.reqid : 0;
      for (const auto& [spi, dst] : {std::make_pair(c.spi_in, c.local.address.ToString()),
                                     std::make_pair(c.spi_out, c.remote.address.ToString())}) {
        dv1::DeleteSaRequest req;
        req.mutable_key()->set_spi(spi);
        req.mutable_key()->set_destination(dst);
        req.mutable_key()->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
        dv1::DeleteSaResponse resp;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        (void)dataplane_->DeleteSa(&ctx, req, &resp);
      }
      InstallChild(*e, action::InstallChild{copy, 0, false}, reqid);
    }
  }
  log::Info("re-installed IKE state into the dataplane",
            {{"child_sas", std::to_string(installed_.size())}});
}

void SaManager::WatchDataplane() {
  bool had_stream = false;
  while (!stop_.load()) {
    if (had_stream) {
      // The stream broke: the dataplane may have restarted with empty
      // tables. Once it answers again, give it our state back.
      for (;;) {
        if (stop_.load()) return;
        dv1::ListInterfacesResponse resp;
        grpc::ClientContext probe;
        probe.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
        if (dataplane_->ListInterfaces(&probe, dv1::ListInterfacesRequest(), &resp).ok()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
      Post([this] { Resync(); });
    }
    auto ctx = std::make_unique<grpc::ClientContext>();
    grpc::ClientContext* raw = ctx.get();
    {
      std::lock_guard<std::mutex> lock(watch_mu_);
      if (stop_.load()) return;
      watch_context_ = std::move(ctx);
    }
    auto reader = dataplane_->WatchEvents(raw, dv1::WatchEventsRequest());
    dv1::DataplaneEvent ev;
    while (reader->Read(&ev)) {
      if (ev.has_acquire()) {
        Post([this, a = ev.acquire()] { OnAcquire(a); });
      } else if (ev.has_expire()) {
        Post([this, x = ev.expire()] { OnExpire(x); });
      } else if (ev.has_unknown_spi()) {
        Post([this, u = ev.unknown_spi()] { OnUnknownSpi(u); });
      }
    }
    (void)reader->Finish();
    had_stream = true;
    if (!stop_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void SaManager::OnAcquire(const dv1::Acquire& a) {
  const StaticEntry* entry = nullptr;
  for (const StaticEntry& s : book_.statics()) {
    if (s.child.reqid == a.reqid()) entry = &s;
  }
  if (entry == nullptr) return;  // a dynamic map never initiates
  std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow;
  const std::string src = RawOf(a.flow().source().address());
  const std::string dst = RawOf(a.flow().destination().address());
  if (!src.empty() && !dst.empty()) flow = std::make_pair(HostSelector(src), HostSelector(dst));
  // An IKE SA to that peer, up or on its way, gets the child (once: the
  // acquire may race the install, or the line may already be queued);
  // else start one.
  int index = -1;
  if (Entry* e = LiveSaFor(*entry, &index)) {
    if (!e->sa->HasChildFor(static_cast<size_t>(index), flow)) {
      Execute(*e, e->sa->AddChild(static_cast<size_t>(index), flow));
    }
    return;
  }
  StartInitiator(*entry, flow);
}

void SaManager::OnUnknownSpi(const dv1::UnknownSpi& u) {
  if (!book_.invalid_spi_recovery()) {
    invalid_spi_.Add({{"action", "ignored"}}).Increment();
    return;
  }
  auto peer = net::ParseAddress(u.source());
  if (!peer.ok()) return;
  const absl::Time now = clock_->Now();
  auto last = invalid_spi_last_.find(u.source());
  if (last != invalid_spi_last_.end() && now - last->second < absl::Seconds(10)) return;
  invalid_spi_last_[u.source()] = now;
  if (invalid_spi_last_.size() > 4096) invalid_spi_last_.clear();  // bounded under a flood
  // §2.21.4: over an IKE SA we have with the sender, say INVALID_SPI.
  for (auto& [id, e] : by_conn_) {
    if (e->sa->state() == IkeState::kEstablished && e->sa->remote().address == *peer) {
      invalid_spi_.Add({{"action", "notified"}}).Increment();
      Execute(*e, e->sa->NotifyInvalidSpi(u.spi()));
      return;
    }
  }
  // None (we restarted and lost them): as IOS does, start an IKE SA to a
  // peer a static entry names; its INITIAL_CONTACT makes the peer drop the
  // stale SAs it still sends on.
  for (const StaticEntry& s : book_.statics()) {
    if (s.peer == *peer) {
      log::Info("invalid SPI from a peer without IKE SA: initiating",
                {{"peer", u.source()}, {"spi", std::to_string(u.spi())}});
      invalid_spi_.Add({{"action", "initiated"}}).Increment();
      StartInitiator(s, std::nullopt);
      return;
    }
  }
  invalid_spi_.Add({{"action", "ignored"}}).Increment();
}

void SaManager::OnExpire(const dv1::Expire& x) {
  for (auto& [id, e] : by_conn_) {
    for (const ChildSa& c : e->sa->children()) {
      if (c.spi_in != x.key().spi() && c.spi_out != x.key().spi()) continue;
      Execute(*e, x.hard() ? e->sa->CloseChild(c.spi_in, "lifetime expired")
                           : e->sa->RekeyChild(c.spi_in));
      return;
    }
  }
}

void SaManager::Emit(v1::IkeEvent event) {
  event.set_unix_nanos(absl::ToUnixNanos(clock_->Now()));
  auto it = by_conn_.find(event.ike_conn_id());
  if (it != by_conn_.end()) event.set_remote_address(it->second->sa->remote().address.ToString());
  std::lock_guard<std::mutex> lock(sinks_mu_);
  for (auto& [id, sink] : sinks_) sink(event);
}

uint64_t SaManager::Subscribe(EventSink sink) {
  std::lock_guard<std::mutex> lock(sinks_mu_);
  const uint64_t id = next_sink_++;
  sinks_[id] = std::move(sink);
  return id;
}

void SaManager::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(sinks_mu_);
  sinks_.erase(id);
}

void SaManager::FillIkeSa(const Entry& e, v1::IkeSa* out) const {
  const IkeSa& sa = *e.sa;
  out->set_conn_id(e.conn_id);
  out->set_version(v1::IKE_VERSION_2);
  out->set_state(ApiState(sa.state()));
  out->set_initiator(sa.initiator());
  out->set_local_address(sa.local().address.ToString());
  out->set_local_port(sa.local().port);
  out->set_remote_address(sa.remote().address.ToString());
  out->set_remote_port(sa.remote().port);
  out->set_local_id(IdentityText(sa.local_id()));
  out->set_remote_id(IdentityText(sa.remote_id()));
  out->set_initiator_spi(Spi64(sa.spi_i()));
  out->set_responder_spi(Spi64(sa.spi_r()));
  out->set_encryption(EncryptionOf(sa.suite().encr, sa.suite().key_bits));
  out->set_integrity(IntegrityOf(sa.suite().integ));
  out->set_prf(PrfOf(sa.suite().prf));
  out->set_group(static_cast<cv1::DhGroup>(sa.suite().dh));
  out->set_authentication(AuthMethodOf(sa.remote_auth_method(), sa.remote_key_ec()));
  out->set_local_authentication(AuthMethodOf(sa.local_auth_method(), sa.local_key_ec()));
  out->set_remote_certificate_subject(sa.remote_subject());
  out->set_nat_detected_local(sa.nat_local());
  out->set_nat_detected_remote(sa.nat_remote());
  if (sa.state() == IkeState::kEstablished) {
    out->set_established_unix_seconds(absl::ToUnixSeconds(sa.established_at()));
    out->set_lifetime_remaining_seconds(static_cast<uint64_t>(
        std::max<int64_t>(0, absl::ToInt64Seconds(sa.expires_at() - clock_->Now()))));
  }
  out->set_rekeys(sa.stats().rekeys);
  out->set_retransmits(sa.stats().retransmits);
  const int idx = sa.child_policy_index();
  if (idx >= 0 && static_cast<size_t>(idx) < sa.policy().children.size()) {
    out->set_crypto_map(sa.policy().children[static_cast<size_t>(idx)].crypto_map);
    out->set_crypto_map_sequence(sa.policy().children[static_cast<size_t>(idx)].sequence);
  }
}

void SaManager::ListIkeSas(const v1::ListIkeSasRequest& req, v1::ListIkeSasResponse* out) {
  for (const auto& [id, e] : by_conn_) {
    if (!req.remote_address().empty() &&
        e->sa->remote().address.ToString() != req.remote_address()) {
      continue;
    }
    FillIkeSa(*e, out->add_ike_sas());
  }
}

void SaManager::ListChildSas(const v1::ListChildSasRequest& req, v1::ListChildSasResponse* out) {
  for (const auto& [id, e] : by_conn_) {
    for (const ChildSa& c : e->sa->children()) {
      if (!req.crypto_map().empty() && c.crypto_map != req.crypto_map()) continue;
      if (!req.remote_address().empty() && c.remote.address.ToString() != req.remote_address()) {
        continue;
      }
      v1::ChildSa* o = out->add_child_sas();
      o->set_ike_conn_id(e->conn_id);
      o->set_crypto_map(c.crypto_map);
      o->set_crypto_map_sequence(c.sequence);
      const auto sel = SpdSelectorsOf(c.local_ts, c.remote_ts);
      if (!sel.empty()) {
        o->mutable_local_ident()->mutable_source()->CopyFrom(sel[0].source());
        o->mutable_local_ident()->set_protocol(sel[0].protocol());
        o->mutable_remote_ident()->mutable_source()->CopyFrom(sel[0].destination());
        o->mutable_remote_ident()->set_protocol(sel[0].protocol());
      }
      o->set_local_endpoint(c.local.address.ToString());
      o->set_remote_endpoint(c.remote.address.ToString());
      o->set_remote_port(c.remote.port);
      o->set_inbound_spi(c.spi_in);
      o->set_outbound_spi(c.spi_out);
      o->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
      o->set_mode(c.transport ? cv1::IPSEC_MODE_TRANSPORT : cv1::IPSEC_MODE_TUNNEL);
      o->set_transform_set(c.transform_set);
      o->set_encryption(EncryptionOf(c.suite.encr, c.suite.key_bits));
      o->set_integrity(IntegrityOf(c.suite.integ));
      o->set_pfs_group(static_cast<cv1::DhGroup>(c.suite.dh));
      const int64_t age = absl::ToInt64Seconds(clock_->Now() - c.established);
      o->set_remaining_seconds(static_cast<uint64_t>(
          std::max<int64_t>(0, static_cast<int64_t>(c.lifetime_seconds) - age)));
      o->set_replay_detection(c.replay_window != 0);
      o->set_udp_encapsulated(c.udp_encap);
      if (dataplane_) {
        // Counters live in the dataplane: encaps from the outbound SA,
        // decaps from the inbound one.
        cv1::IpsecSaCounters* sum = o->mutable_counters();
        for (bool inbound : {true, false}) {
          dv1::GetSaRequest g;
          g.mutable_key()->set_spi(inbound ? c.spi_in : c.spi_out);
          g.mutable_key()->set_destination(inbound ? c.local.address.ToString()
                                                   : c.remote.address.ToString());
          g.mutable_key()->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
          dv1::SaStatus st;
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
          if (!dataplane_->GetSa(&ctx, g, &st).ok()) continue;
          const cv1::IpsecSaCounters& k = st.counters();
          if (inbound) {
            sum->set_pkts_decaps(k.pkts_decaps());
            sum->set_pkts_decrypt(k.pkts_decrypt());
            sum->set_pkts_verify(k.pkts_verify());
            sum->set_recv_errors(k.recv_errors());
            sum->set_replay_failures(k.replay_failures());
            sum->set_integrity_failures(k.integrity_failures());
            sum->set_policy_failures(k.policy_failures());
            sum->set_bytes_in(k.bytes_in());
            o->set_remaining_kilobytes(st.remaining_kilobytes());
          } else {
            sum->set_pkts_encaps(k.pkts_encaps());
            sum->set_pkts_encrypt(k.pkts_encrypt());
            sum->set_pkts_digest(k.pkts_digest());
            sum->set_send_errors(k.send_errors());
            sum->set_bytes_out(k.bytes_out());
          }
          sum->set_last_used_unix_seconds(
              std::max(sum->last_used_unix_seconds(), k.last_used_unix_seconds()));
        }
      }
    }
  }
}

absl::StatusOr<uint64_t> SaManager::Initiate(const v1::InitiateRequest& req) {
  // Every permit line of the entry gets its CHILD SA, all under one IKE SA
  // to the entry's first matching peer.
  std::optional<net::IpAddress> peer;
  uint64_t conn_id = 0;
  for (const StaticEntry& s : book_.statics()) {
    if (s.child.crypto_map != req.crypto_map() || s.child.sequence != req.sequence()) continue;
    if (!req.peer().empty() && s.peer.ToString() != req.peer()) continue;
    if (peer && !(*peer == s.peer)) continue;
    peer = s.peer;
    int index = -1;
    Entry* e = LiveSaFor(s, &index);
    if (e == nullptr) {
      e = StartInitiator(s, std::nullopt);
      if (e == nullptr) return absl::UnavailableError("no route to the peer");
    } else if (!e->sa->HasChildFor(static_cast<size_t>(index))) {
      Execute(*e, e->sa->AddChild(static_cast<size_t>(index), std::nullopt));
    }
    conn_id = e->conn_id;
  }
  if (peer) return conn_id;
  return absl::NotFoundError(absl::StrCat("no static crypto map entry ", req.crypto_map(), " ",
                                          req.sequence(),
                                          req.peer().empty() ? "" : " with peer " + req.peer()));
}

uint32_t SaManager::Terminate(const v1::TerminateRequest& req) {
  uint32_t n = 0;
  for (auto& [id, e] : by_conn_) {
    const bool match =
        (req.has_ike_conn_id() && e->conn_id == req.ike_conn_id()) ||
        (req.has_peer() && e->sa->remote().address.ToString() == req.peer()) ||
        (req.has_all() && req.all());
    if (!match || e->sa->state() == IkeState::kDead) continue;
    Execute(*e, e->sa->Close("terminated by operator"));
    ++n;
  }
  return n;
}

}  // namespace vpnfleet::ike
