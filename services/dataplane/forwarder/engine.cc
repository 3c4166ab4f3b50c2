#include "services/dataplane/forwarder/engine.h"

#include <algorithm>

#include "common/log/log.h"
#include "common/net/ip.h"
#include "services/dataplane/crypto/esp_transform.h"
#include "services/dataplane/packet/ipv4.h"

namespace vpnfleet::dataplane {
namespace cv1 = vpnfleet::common::v1;

namespace {

constexpr size_t kEventRingSize = 1024;

LifetimeLimits Limits(const cv1::Lifetime& l) {
  return LifetimeLimits{l.seconds(), l.kilobytes(), l.packets()};
}

std::string Ipv4Text(uint32_t a) {
  net::IpAddress ip;
  ip.bytes = {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
              static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a)};
  return ip.ToString();
}

cv1::TrafficSelector FlowSelector(const FlowKey& f) {
  cv1::TrafficSelector s;
  auto host = [&](const std::array<uint8_t, 16>& a, cv1::IpPrefix* p) {
    net::IpAddress ip;
    ip.family = f.v6 ? net::Family::kV6 : net::Family::kV4;
    ip.bytes = a;
    p->set_address(ip.ToString());
    p->set_length(ip.bit_length());
  };
  host(f.src, s.mutable_source());
  host(f.dst, s.mutable_destination());
  s.set_protocol(f.protocol);
  if (f.protocol == 6 || f.protocol == 17 || f.protocol == 132) {
    s.mutable_source_ports()->set_start(f.src_port);
    s.mutable_source_ports()->set_end(f.src_port);
    s.mutable_destination_ports()->set_start(f.dst_port);
    s.mutable_destination_ports()->set_end(f.dst_port);
  }
  return s;
}

uint64_t Packets(const SaCounters& c) { return c.pkts_encaps.load() + c.pkts_decaps.load(); }

}  // namespace

// ------------------------------------------------------ EventSubscription --

bool EventSubscription::Next(v1::DataplaneEvent* event, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
               [&] { return closed_ || !queue_.empty(); });
  if (queue_.empty()) return false;
  *event = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

bool EventSubscription::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

uint64_t EventSubscription::lost() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lost_;
}

void EventSubscription::Push(const v1::DataplaneEvent& e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      queue_.pop_front();
      ++lost_;
    }
    queue_.push_back(e);
  }
  cv_.notify_one();
}

void EventSubscription::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

// ------------------------------------------------------------------ Engine --

Engine::Engine(const Clock* clock, EngineOptions options)
    : clock_(clock), options_(options), sad_(clock, options.sa_options) {
  if (options_.workers == 0) options_.workers = 1;
  for (uint32_t i = 0; i < options_.workers; ++i) {
    counters_.push_back(std::make_unique<ForwarderCounters>());
    event_rings_.push_back(std::make_unique<SpscRing<ForwarderEvent>>(kEventRingSize));
  }
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status st = PublishLocked();
  if (!st.ok()) log::Error("empty forwarding tables", {{"error", std::string(st.message())}});
}

Engine::~Engine() { CloseSubscriptions(); }

absl::Status Engine::PublishLocked() {
  std::vector<const Installed*> ordered;
  for (const auto& [key, in] : installed_) ordered.push_back(&in);
  std::sort(ordered.begin(), ordered.end(),
            [](const Installed* a, const Installed* b) { return a->order < b->order; });
  std::vector<InstalledSa> sas;
  sas.reserve(ordered.size());
  for (const Installed* in : ordered) sas.push_back(in->sa);
  std::vector<v1::SpdPolicy> policies = spd_.List(cv1::DIRECTION_UNSPECIFIED);
  auto built = ForwardingTables::Build(policies, sas, options_.workers);
  if (!built.ok()) return built.status();
  auto tables = std::const_pointer_cast<ForwardingTables>(*built);
  tables->generation = generation_.load() + 1;
  current_ = tables;
  generation_.store(tables->generation, std::memory_order_release);
  return absl::OkStatus();
}

ForwarderTotals Engine::Totals() const {
  ForwarderTotals t;
  for (const auto& c : counters_) t.Add(*c);
  return t;
}

void Engine::Refresh(std::shared_ptr<const ForwardingTables>* tables) const {
  if (*tables && (*tables)->generation == generation_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mu_);
  *tables = current_;
}

std::shared_ptr<const ForwardingTables> Engine::tables() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

namespace {

// The packet path's state for an SA the table has accepted: OpenSSL
// contexts keyed once (ESP or AH transform), the replay window as
// configured.
absl::StatusOr<std::shared_ptr<SaRuntime>> MakeRuntime(const v1::SecurityAssociation& sa,
                                                       bool allow_legacy) {
  auto runtime = std::make_shared<SaRuntime>();
  runtime->spi = sa.key().spi();
  runtime->inbound = sa.direction() == cv1::DIRECTION_INBOUND;
  runtime->esn = sa.extended_sequence_numbers();
  if (sa.key().protocol() == cv1::IPSEC_PROTOCOL_AH) {
    auto ah = AhTransform::Create(sa.integrity(), sa.integrity_key(), runtime->esn, allow_legacy);
    if (!ah.ok()) return ah.status();
    runtime->ah = *std::move(ah);
  } else {
    EspTransformConfig config;
    config.encryption = sa.encryption();
    config.encryption_key = sa.encryption_key();
    config.integrity = sa.integrity();
    config.integrity_key = sa.integrity_key();
    config.esn = sa.extended_sequence_numbers();
    config.allow_legacy = allow_legacy;
    auto transform = EspTransform::Create(config);
    if (!transform.ok()) return transform.status();
    runtime->transform = *std::move(transform);
  }
  const uint32_t size = sa.replay().size() == 0 ? ReplayWindow::kDefaultSize : sa.replay().size();
  auto window = ReplayWindow::Create(size, !sa.replay().disabled(), runtime->esn);
  if (!window.ok()) return window.status();
  runtime->replay = *std::move(window);
  return runtime;
}

}  // namespace

uint32_t Engine::ChooseOwnerLocked(const v1::SecurityAssociation& sa) const {
  // The ESP and AH SAs of one bundle run on one worker: a packet goes
  // through both without a handoff in between.
  for (const auto& [key, in] : installed_) {
    const v1::SecurityAssociation& o = in.sa.sa;
    if (o.direction() == sa.direction() && o.reqid() == sa.reqid() &&
        o.key().protocol() != sa.key().protocol() &&
        o.key().destination() == sa.key().destination()) {
      return in.sa.runtime->owner;
    }
  }
  // An inbound ESP SA belongs to worker SPI mod workers: the workers' UDP
  // sockets steer each ESP packet to that worker's socket by its SPI
  // (SteerUdpBySpi), so it is decrypted where it arrives, with no handoff.
  if (sa.direction() == vpnfleet::common::v1::DIRECTION_INBOUND &&
      sa.key().protocol() == vpnfleet::common::v1::IPSEC_PROTOCOL_ESP) {
    return sa.key().spi() % options_.workers;
  }
  // Otherwise the worker with the fewest SAs, so that the two directions of
  // one tunnel land on different workers.
  std::vector<uint32_t> load(options_.workers, 0);
  for (const auto& [key, in] : installed_) ++load[in.sa.runtime->owner % options_.workers];
  uint32_t best = 0;
  for (uint32_t w = 1; w < options_.workers; ++w) {
    if (load[w] < load[best]) best = w;
  }
  return best;
}

absl::Status Engine::AddSa(const v1::SecurityAssociation& sa) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status st = sad_.Add(sa);  // validates
  if (!st.ok()) return st;
  auto made = MakeRuntime(sa, options_.sa_options.allow_legacy);
  if (!made.ok()) {
    (void)sad_.Delete(sa.key());
    return made.status();
  }
  std::shared_ptr<SaRuntime> runtime = *std::move(made);
  runtime->owner = ChooseOwnerLocked(sa);
  const std::string key = SaKeyString(sa.key());
  Installed in;
  in.sa.sa = *sad_.Get(sa.key()).value().mutable_sa();
  in.sa.runtime = std::move(runtime);
  in.lifetime = std::make_unique<SaLifetime>(Limits(sa.soft_lifetime()), Limits(sa.hard_lifetime()),
                                             sa.idle_time_seconds(), clock_->Now());
  in.order = next_order_++;
  const std::string& map = sa.crypto_map().empty() ? std::string(kNoCryptoMap) : sa.crypto_map();
  if (retired_traffic_.size() < kMaxCryptoMapLabels || retired_traffic_.count(map)) {
    retired_traffic_.try_emplace(map);
  } else {
    retired_traffic_.try_emplace(kOtherCryptoMaps);
  }
  installed_[key] = std::move(in);
  st = PublishLocked();
  if (!st.ok()) {  // the tables refuse it (e.g. IPv6 outer): undo
    installed_.erase(key);
    (void)sad_.Delete(sa.key());
    (void)PublishLocked();
    return st;
  }
  return absl::OkStatus();
}

absl::Status Engine::UpdateSa(const v1::SecurityAssociation& sa) {
  if (!sa.encryption_key().empty() || !sa.integrity_key().empty()) {
    return absl::FailedPreconditionError(
        "keys of an installed SA do not change: new keys make a new SA (add it with a new SPI, "
        "then delete the old one)");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = SaKeyString(sa.key());
  auto it = installed_.find(key);
  if (it == installed_.end()) return sad_.Update(sa);  // the table's NOT_FOUND
  const v1::SecurityAssociation before = it->second.sa.sa;
  absl::Status st = sad_.Update(sa);
  if (!st.ok()) return st;
  it->second.sa.sa = *sad_.Get(sa.key()).value().mutable_sa();
  st = PublishLocked();
  if (!st.ok()) {
    v1::SecurityAssociation restore = before;
    (void)sad_.Update(restore);
    it->second.sa.sa = before;
    (void)PublishLocked();
    return st;
  }
  return absl::OkStatus();
}

absl::Status Engine::DeleteSa(const v1::SaKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status st = sad_.Delete(key);
  if (!st.ok()) return st;
  auto it = installed_.find(SaKeyString(key));
  if (it != installed_.end()) {
    RetireLocked(it->second);
    installed_.erase(it);
  }
  return PublishLocked();
}

void Engine::FillStatusLocked(const Installed& in, v1::SaStatus* status) const {
  if (in.lifetime->soft_expired()) status->set_state(v1::SA_STATE_SOFT_EXPIRED);
  const absl::Time now = clock_->Now();
  status->set_remaining_seconds(in.lifetime->RemainingSeconds(now));
  if (!in.sa.runtime) return;
  const SaCounters& c = in.sa.runtime->counters;
  status->set_remaining_kilobytes(in.lifetime->RemainingKilobytes(c.bytes.load()));
  cv1::IpsecSaCounters* out = status->mutable_counters();
  out->set_pkts_encaps(c.pkts_encaps);
  out->set_pkts_encrypt(c.pkts_encrypt);
  out->set_pkts_digest(c.pkts_digest);
  out->set_pkts_decaps(c.pkts_decaps);
  out->set_pkts_decrypt(c.pkts_decrypt);
  out->set_pkts_verify(c.pkts_verify);
  auto drop = [&](DropReason r) { return c.drops[static_cast<size_t>(r)].load(); };
  out->set_send_errors(drop(DropReason::kNoRoom) + drop(DropReason::kSeqExhausted) +
                       drop(DropReason::kCryptoError) + c.send_errors.load());
  out->set_recv_errors(drop(DropReason::kMalformed) + drop(DropReason::kWrongSpi) +
                       drop(DropReason::kIntegrity) + drop(DropReason::kBadTrailer) +
                       c.recv_errors.load());
  out->set_replay_failures(c.replay_failures);
  out->set_integrity_failures(c.integrity_failures);
  if (in.sa.runtime->inbound) {
    out->set_bytes_in(c.bytes);
  } else {
    out->set_bytes_out(c.bytes);
  }
  const int64_t used = in.sa.runtime->last_used_ns.load(std::memory_order_relaxed);
  if (used != 0) out->set_last_used_unix_seconds(used / 1'000'000'000);
}

absl::StatusOr<v1::SaStatus> Engine::GetSa(const v1::SaKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto status = sad_.Get(key);
  if (!status.ok()) return status;
  auto it = installed_.find(SaKeyString(key));
  if (it != installed_.end()) FillStatusLocked(it->second, &*status);
  return status;
}

std::vector<v1::SaStatus> Engine::ListSas(const v1::ListSasRequest& filter) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::SaStatus> list = sad_.List(filter);
  for (auto& status : list) {
    auto it = installed_.find(SaKeyString(status.sa().key()));
    if (it != installed_.end()) FillStatusLocked(it->second, &status);
  }
  return list;
}

absl::StatusOr<uint64_t> Engine::AddPolicy(const v1::SpdPolicy& policy) {
  std::lock_guard<std::mutex> lock(mu_);
  auto id = spd_.Add(policy);
  if (!id.ok()) return id;
  absl::Status st = PublishLocked();
  if (!st.ok()) {
    (void)spd_.Delete(*id);
    (void)PublishLocked();
    return st;
  }
  return id;
}

absl::Status Engine::DeletePolicy(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status st = spd_.Delete(id);
  if (!st.ok()) return st;
  return PublishLocked();
}

std::vector<v1::SpdPolicy> Engine::ListPolicies(cv1::Direction d) const { return spd_.List(d); }

std::vector<v1::GetSaCountersResponse::Entry> Engine::Counters(const v1::SaKey* only) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::GetSaCountersResponse::Entry> entries;
  for (const auto& [key, in] : installed_) {
    if (only != nullptr && key != SaKeyString(*only)) continue;
    v1::SaStatus status;
    FillStatusLocked(in, &status);
    v1::GetSaCountersResponse::Entry e;
    *e.mutable_key() = in.sa.sa.key();
    *e.mutable_counters() = status.counters();
    entries.push_back(std::move(e));
  }
  return entries;
}

std::vector<SaSnapshot> Engine::Sas() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SaSnapshot> out;
  for (const auto& [key, in] : installed_) {
    if (in.sa.runtime) out.push_back({in.sa.sa.key(), in.sa.sa.direction(), in.sa.runtime});
  }
  return out;
}

namespace {

void AddTraffic(const v1::SecurityAssociation& sa, const SaCounters& c, TrafficTotals* t) {
  if (sa.direction() == vpnfleet::common::v1::DIRECTION_INBOUND) {
    t->packets_in += c.pkts_decaps.load();
    t->bytes_in += c.bytes.load();
  } else {
    t->packets_out += c.pkts_encaps.load();
    t->bytes_out += c.bytes.load();
  }
}

}  // namespace

const std::string& Engine::TrafficLabelLocked(const v1::SecurityAssociation& sa) const {
  static const std::string kNone(kNoCryptoMap), kOther(kOtherCryptoMaps);
  const std::string& map = sa.crypto_map().empty() ? kNone : sa.crypto_map();
  return retired_traffic_.count(map) ? map : kOther;
}

void Engine::RetireLocked(const Installed& in) {
  if (!in.sa.runtime) return;
  for (size_t r = 0; r < retired_drops_.size(); ++r) {
    retired_drops_[r] += in.sa.runtime->counters.drops[r].load();
  }
  AddTraffic(in.sa.sa, in.sa.runtime->counters, &retired_traffic_[TrafficLabelLocked(in.sa.sa)]);
}

std::map<std::string, TrafficTotals> Engine::TrafficByCryptoMap() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto totals = retired_traffic_;
  for (const auto& [key, in] : installed_) {
    if (in.sa.runtime) AddTraffic(in.sa.sa, in.sa.runtime->counters, &totals[TrafficLabelLocked(in.sa.sa)]);
  }
  return totals;
}

std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> Engine::SaDropTotals() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto totals = retired_drops_;
  for (const auto& [key, in] : installed_) {
    if (!in.sa.runtime) continue;
    for (size_t r = 0; r < totals.size(); ++r) totals[r] += in.sa.runtime->counters.drops[r].load();
  }
  return totals;
}

std::shared_ptr<EventSubscription> Engine::Subscribe() {
  auto sub = std::make_shared<EventSubscription>();
  std::lock_guard<std::mutex> lock(subs_mu_);
  subs_.push_back(sub);
  return sub;
}

void Engine::PublishEvent(const v1::DataplaneEvent& e) {
  std::lock_guard<std::mutex> lock(subs_mu_);
  for (auto it = subs_.begin(); it != subs_.end();) {
    if (auto sub = it->lock()) {
      sub->Push(e);
      ++it;
    } else {
      it = subs_.erase(it);
    }
  }
}

void Engine::CloseSubscriptions() {
  std::lock_guard<std::mutex> lock(subs_mu_);
  for (auto& weak : subs_) {
    if (auto sub = weak.lock()) sub->Close();
  }
  subs_.clear();
}

void Engine::ExpireLocked(const std::string& key, Installed& in, const Expiry& x,
                          std::vector<v1::DataplaneEvent>* events) {
  v1::DataplaneEvent e;
  e.set_unix_nanos(absl::ToUnixNanos(clock_->Now()));
  v1::Expire* expire = e.mutable_expire();
  *expire->mutable_key() = in.sa.sa.key();
  expire->set_hard(x.kind == ExpiryKind::kHard);
  expire->set_reason(x.reason);
  expire->set_reqid(in.sa.sa.reqid());
  events->push_back(std::move(e));
  log::Info(x.kind == ExpiryKind::kHard ? "SA expired (hard), removed" : "SA soft-expired, rekey due",
            {{"sa", key}, {"reason", v1::Expire::Reason_Name(x.reason)}});
}

void Engine::Tick() {
  std::vector<v1::DataplaneEvent> events;
  // Worker events first: they are older than anything found below.
  for (uint32_t w = 0; w < options_.workers; ++w) {
    SpscRing<ForwarderEvent>& ring = *event_rings_[w];
    while (ForwarderEvent* fe = ring.Front()) {
      v1::DataplaneEvent e;
      e.set_unix_nanos(fe->unix_nanos);
      if (fe->kind == ForwarderEvent::Kind::kAcquire) {
        v1::Acquire* a = e.mutable_acquire();
        a->set_policy_id(fe->policy_id);
        a->set_reqid(fe->reqid);
        *a->mutable_flow() = FlowSelector(fe->flow);
        for (const auto& p : spd_.List(cv1::DIRECTION_OUTBOUND)) {
          if (p.id() == fe->policy_id) a->set_peer(p.peer());
        }
      } else {
        v1::UnknownSpi* u = e.mutable_unknown_spi();
        u->set_source(Ipv4Text(fe->src));
        u->set_destination(Ipv4Text(fe->dst));
        u->set_spi(fe->spi);
        u->set_protocol(fe->protocol == kProtoAh ? cv1::IPSEC_PROTOCOL_AH
                                                 : cv1::IPSEC_PROTOCOL_ESP);
      }
      events.push_back(std::move(e));
      ring.Pop();
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = clock_->Now();
    bool changed = false;
    for (auto it = installed_.begin(); it != installed_.end();) {
      Installed& in = it->second;
      Expiry x;
      if (in.sa.runtime) {
        const SaRuntime& rt = *in.sa.runtime;
        const int64_t used_ns = rt.last_used_ns.load(std::memory_order_relaxed);
        const absl::Time used = used_ns != 0 ? absl::FromUnixNanos(used_ns) : absl::InfinitePast();
        x = in.lifetime->Check(now, rt.counters.bytes.load(), Packets(rt.counters), used);
        // RFC 4303 §3.3.3: a sequence number never cycles; the SA ends.
        const uint64_t last = rt.esn ? UINT64_MAX : UINT32_MAX;
        if (x.kind != ExpiryKind::kHard && !rt.inbound &&
            (rt.next_seq.load(std::memory_order_relaxed) > last ||
             rt.next_seq.load(std::memory_order_relaxed) == 0)) {
          x = {ExpiryKind::kHard, v1::Expire::REASON_SEQUENCE_EXHAUSTED};
        }
      } else {
        x = in.lifetime->Check(now, 0, 0, absl::InfinitePast());
      }
      if (x.kind == ExpiryKind::kNone) {
        ++it;
        continue;
      }
      ExpireLocked(it->first, in, x, &events);
      if (x.kind == ExpiryKind::kHard) {
        (void)sad_.Delete(in.sa.sa.key());
        RetireLocked(in);
        it = installed_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed) {
      absl::Status st = PublishLocked();
      if (!st.ok()) log::Error("forwarding tables", {{"error", std::string(st.message())}});
    }
  }
  for (const auto& e : events) PublishEvent(e);
}

}  // namespace vpnfleet::dataplane
