#include "services/ike/daemon/dataplane_sync.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/crypto/zeroize.h"
#include "common/log/log.h"
#include "services/ike/daemon/dataplane_records.h"

namespace vpnfleet::ike {
namespace {

namespace dv1 = vpnfleet::dataplane::v1;

// The promise behind ReplaceStaticPolicies, kept even if the queue is
// dropped at shutdown: the waiter then hears UNAVAILABLE, never an
// exception from a broken promise.
class StatusPromise {
 public:
  std::shared_future<absl::Status> future() { return promise_.get_future().share(); }
  void Set(absl::Status s) {
    promise_.set_value(std::move(s));
    set_ = true;
  }
  ~StatusPromise() {
    if (!set_) promise_.set_value(absl::UnavailableError("the IKE daemon is stopping"));
  }

 private:
  std::promise<absl::Status> promise_;
  bool set_ = false;
};

// Whether the dataplane's policy `id` is still the one we put in (after a
// restart its ids start again and may name someone else's policy).
bool SamePolicy(const dv1::SpdPolicy& a, const dv1::SpdPolicy& b) {
  return a.direction() == b.direction() && a.action() == b.action() &&
         a.priority() == b.priority() && a.reqid() == b.reqid() &&
         a.crypto_map() == b.crypto_map() && a.crypto_map_sequence() == b.crypto_map_sequence() &&
         a.peer() == b.peer();
}

}  // namespace

DataplaneSync::DataplaneSync(std::shared_ptr<DataplaneClient> client, ReqidAllocator* reqids,
                             Hooks hooks, prometheus::Registry& registry)
    : client_(std::move(client)),
      reqids_(reqids),
      hooks_(std::move(hooks)),
      calls_(prometheus::BuildCounter()
                 .Name("vpnfleet_ike_dataplane_calls_total")
                 .Help("Calls to the dataplane by the IKE daemon, by call and result "
                       "(ok, absent, unreachable, refused).")
                 .Register(registry)),
      reconciled_sas_(prometheus::BuildCounter()
                          .Name("vpnfleet_ike_dataplane_reconciled_sas_total")
                          .Help("SAs put back into the dataplane because it no longer had them.")
                          .Register(registry)
                          .Add({})),
      reconciled_policies_(prometheus::BuildCounter()
                               .Name("vpnfleet_ike_dataplane_reconciled_policies_total")
                               .Help("SPD policies put back into the dataplane because it no "
                                     "longer had them.")
                               .Register(registry)
                               .Add({})),
      queue_depth_(prometheus::BuildGauge()
                       .Name("vpnfleet_ike_dataplane_queue_depth")
                       .Help("Dataplane calls waiting for the IKE daemon's dataplane worker.")
                       .Register(registry)
                       .Add({})) {}

DataplaneSync::~DataplaneSync() { Stop(); }

void DataplaneSync::Start() {
  if (!client_) return;
  worker_ = std::thread([this] { Work(); });
  watcher_ = std::thread([this] { Watch(); });
}

void DataplaneSync::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (client_) client_->CancelWatch();
  if (watcher_.joinable()) watcher_.join();
  if (worker_.joinable()) worker_.join();
}

void DataplaneSync::Enqueue(std::function<void()> op) {
  if (!client_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ops_.push_back(std::move(op));
    queue_depth_.Set(static_cast<double>(ops_.size()));
  }
  cv_.notify_all();
}

size_t DataplaneSync::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ops_.size();
}

void DataplaneSync::Work() {
  // At shutdown the Deletes of the SAs the engine closed still go out, for
  // a few seconds at most.
  std::chrono::steady_clock::time_point drain_until{};
  for (;;) {
    std::function<void()> op;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool woken = cv_.wait_for(lock, std::chrono::seconds(1),
                                      [this] { return stop_ || !ops_.empty(); });
      if (!woken) {
        // Idle. A call found the dataplane away while its event stream
        // stayed up (an overloaded dataplane missing deadlines): once it
        // answers, reconcile rather than wait for the periodic one.
        if (!retry_) continue;
        lock.unlock();
        if (client_->Ping().ok()) {
          retry_ = false;
          hooks_.post([this] { Reconcile(); });
        }
        continue;
      }
      if (stop_) {
        const auto now = std::chrono::steady_clock::now();
        if (drain_until == std::chrono::steady_clock::time_point{}) {
          drain_until = now + std::chrono::seconds(3);
        }
        if (ops_.empty() || now > drain_until) {
          ops_.clear();
          queue_depth_.Set(0);
          return;
        }
      }
      op = std::move(ops_.front());
      ops_.pop_front();
      queue_depth_.Set(static_cast<double>(ops_.size()));
    }
    op();
  }
}

void DataplaneSync::Watch() {
  for (;;) {
    const auto began = std::chrono::steady_clock::now();
    absl::Status ended = client_->Watch([this](const dv1::DataplaneEvent& ev) {
      hooks_.post([this, ev] { hooks_.on_event(ev); });
    });
    // The stream broke or never started: the dataplane may have restarted
    // with empty tables. Once it answers again, reconcile.
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) return;
    if (std::chrono::steady_clock::now() - began < std::chrono::seconds(1)) {
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
    }
    for (;;) {
      if (stop_) return;
      lock.unlock();
      const bool back = client_->Ping().ok();
      lock.lock();
      if (stop_) return;
      if (back) break;
      cv_.wait_for(lock, std::chrono::milliseconds(300), [this] { return stop_; });
    }
    lock.unlock();
    log::Info("dataplane event stream (re)opened: reconciling",
              {{"previous_stream", std::string(ended.message())}});
    hooks_.post([this] { Reconcile(); });
  }
}

void DataplaneSync::Count(const char* call, const absl::Status& s) {
  if (Unreachable(s) && std::this_thread::get_id() == worker_.get_id()) retry_ = true;
  const char* result = s.ok()                ? "ok"
                       : absl::IsNotFound(s) ? "absent"
                       : Unreachable(s)      ? "unreachable"
                                             : "refused";
  calls_.Add({{"call", call}, {"result", result}}).Increment();
}

// ---------------------------------------------------------------- engine --

void DataplaneSync::Install(const action::InstallChild& a, uint32_t reuse_reqid) {
  const ChildSa& c = a.child;
  Pair pair;
  pair.reqid = c.reqid;
  auto old = a.replaces_spi_in != 0 ? installed_.find(a.replaces_spi_in) : installed_.end();
  if (old != installed_.end()) {
    // A rekey: same bundle, same policies; the new outbound SA takes over
    // (the dataplane prefers the newest of a reqid).
    pair.reqid = old->second.reqid;
    pair.owns_policies = old->second.owns_policies;
    old->second.owns_policies = false;
  } else if (pair.reqid == 0) {
    // A dynamic map's child: its own bundle, with its own SPD entries
    // (static lines' entries come with the configuration).
    pair.reqid = reuse_reqid != 0 ? reuse_reqid : reqids_->Fresh();
    pair.owns_policies = a.replaces_spi_in == 0;
    if (pair.owns_policies) {
      Enqueue([this, reqid = pair.reqid,
               p = SpdPoliciesOf(ProtectPolicy(c, pair.reqid, false), c.local_ts, c.remote_ts,
                                 c.local.address.ToString(), c.remote.address.ToString())] {
        (void)AddPolicies(reqid, p);
      });
    }
  }
  Enqueue([this, c, reqid = pair.reqid] { AddSa(c, true, reqid); });
  if (a.defer_outbound) {
    deferred_outbound_[a.replaces_spi_in] = {c, pair.reqid};
    pair.outbound_pending = true;
  } else {
    Enqueue([this, c, reqid = pair.reqid] { AddSa(c, false, reqid); });
  }
  pair.local = c.local.address;
  pair.remote = c.remote.address;
  installed_[c.spi_in] = std::move(pair);
}

void DataplaneSync::Remove(uint32_t spi_in, uint32_t spi_out) {
  auto deferred = deferred_outbound_.find(spi_in);
  if (deferred != deferred_outbound_.end()) {
    // The pair a rekey replaced is going: its successor sends from now on.
    const auto& [successor, reqid] = deferred->second;
    Enqueue([this, c = successor, reqid = reqid] { AddSa(c, false, reqid); });
    auto s = installed_.find(successor.spi_in);
    if (s != installed_.end()) s->second.outbound_pending = false;
    deferred_outbound_.erase(deferred);
  }
  // A child deleted before its deferred outbound half went in takes it along.
  for (auto it = deferred_outbound_.begin(); it != deferred_outbound_.end();) {
    it = it->second.first.spi_in == spi_in ? deferred_outbound_.erase(it) : std::next(it);
  }
  auto it = installed_.find(spi_in);
  if (it == installed_.end()) return;
  const Pair& pair = it->second;
  Enqueue([this, spi_in, spi_out, local = pair.local.ToString(),
           remote = pair.remote.ToString(), owns = pair.owns_policies, reqid = pair.reqid] {
    for (const auto& [spi, destination] : {std::make_pair(spi_in, local),
                                           std::make_pair(spi_out, remote)}) {
      dv1::SaKey key;
      key.set_spi(spi);
      key.set_destination(destination);
      key.set_protocol(vpnfleet::common::v1::IPSEC_PROTOCOL_ESP);
      DeleteSa(key);
    }
    if (owns) DeletePolicies(reqid);
  });
  installed_.erase(it);
}

void DataplaneSync::AfterQueued(std::function<void()> fn) {
  if (!client_) {
    fn();
    return;
  }
  Enqueue([this, fn = std::move(fn)]() mutable { hooks_.post(std::move(fn)); });
}

std::shared_future<absl::Status> DataplaneSync::ReplaceStaticPolicies(
    std::vector<dv1::SpdPolicy> policies) {
  auto promise = std::make_shared<StatusPromise>();
  std::shared_future<absl::Status> done = promise->future();
  if (!client_) {
    promise->Set(absl::OkStatus());
    return done;
  }
  Enqueue([this, policies = std::move(policies), promise] {
    DeletePolicies(kStaticOwner);
    promise->Set(AddPolicies(kStaticOwner, policies));
  });
  return done;
}

void DataplaneSync::Query(std::vector<dv1::SaKey> keys,
                          std::function<void(std::vector<SaCounterEntry>)> done) {
  if (!client_) {
    hooks_.post([done = std::move(done)] { done({}); });
    return;
  }
  Enqueue([this, keys = std::move(keys), done = std::move(done)] {
    std::vector<SaCounterEntry> found;
    for (const dv1::SaKey& key : keys) {
      auto r = client_->Counters(&key);
      Count("GetSaCounters", r.status());
      if (r.ok()) found.insert(found.end(), r->begin(), r->end());
    }
    hooks_.post([done, found = std::move(found)] { done(found); });
  });
}

void DataplaneSync::Reconcile() {
  Enqueue([this] { ReconcileFetch(); });
}

absl::StatusOr<std::vector<SaCounterEntry>> DataplaneSync::CountersNow() {
  if (!client_) return absl::FailedPreconditionError("no dataplane");
  auto r = client_->Counters(nullptr);
  Count("GetSaCounters", r.status());
  return r;
}

// ---------------------------------------------------------------- worker --

void DataplaneSync::AddSa(const ChildSa& c, bool inbound, uint32_t reqid) {
  dv1::SecurityAssociation sa = SaRecordOf(c, inbound, reqid);
  absl::Status st = client_->AddSa(sa);
  vpnfleet::crypto::ZeroizeString(sa.mutable_encryption_key());
  vpnfleet::crypto::ZeroizeString(sa.mutable_integrity_key());
  if (absl::IsAlreadyExists(st)) st = absl::OkStatus();  // reconcile raced the first install
  Count("AddSa", st);
  if (!st.ok() && !Unreachable(st)) {
    log::Error("dataplane refused a CHILD SA", {{"spi", std::to_string(sa.key().spi())},
                                                {"crypto_map", c.crypto_map},
                                                {"error", std::string(st.message())}});
  }
}

void DataplaneSync::DeleteSa(const dv1::SaKey& key) {
  absl::Status st = client_->DeleteSa(key);
  Count("DeleteSa", st);
  if (Unreachable(st)) orphan_sas_[SaKeyText(key)] = key;  // removed when it returns
}

absl::Status DataplaneSync::AddPolicies(uint64_t owner, std::vector<dv1::SpdPolicy> policies) {
  absl::Status refused;
  size_t waiting = 0;
  std::vector<OwnedPolicy>& owned = owners_[owner];
  for (dv1::SpdPolicy& p : policies) {
    auto id = client_->AddPolicy(p);
    Count("AddPolicy", id.status());
    if (id.ok()) {
      owned.push_back({std::move(p), *id});
    } else if (Unreachable(id.status())) {
      // Not there now: reconcile puts it in when it answers again.
      owned.push_back({std::move(p), 0});
      ++waiting;
    } else {
      log::Error("dataplane refused an SPD policy",
                 {{"crypto_map", p.crypto_map()}, {"error", std::string(id.status().message())}});
      if (refused.ok()) {
        refused = absl::FailedPreconditionError(absl::StrCat(
            "the dataplane refused an SPD policy of crypto map ", p.crypto_map(), " ",
            p.crypto_map_sequence(), ": ", id.status().message()));
      }
    }
  }
  if (waiting > 0) {
    log::Warn("dataplane unreachable; SPD policies installed when it returns",
              {{"policies", static_cast<uint64_t>(waiting)}});
  }
  if (owned.empty()) owners_.erase(owner);
  return refused;
}

void DataplaneSync::DeletePolicies(uint64_t owner) {
  auto it = owners_.find(owner);
  if (it == owners_.end()) return;
  for (OwnedPolicy& p : it->second) {
    if (p.id == 0) continue;
    absl::Status st = client_->DeletePolicy(p.id);
    Count("DeletePolicy", st);
    if (Unreachable(st)) orphan_policies_.push_back(std::move(p));
  }
  owners_.erase(it);
}

void DataplaneSync::ReconcileFetch() {
  auto counters = client_->Counters(nullptr);
  Count("GetSaCounters", counters.status());
  if (!counters.ok()) return;  // the next stream break or period tries again
  auto policies = client_->ListPolicies();
  Count("ListPolicies", policies.status());
  if (!policies.ok()) return;
  std::map<uint64_t, const dv1::SpdPolicy*> by_id;
  for (const dv1::SpdPolicy& p : *policies) by_id[p.id()] = &p;
  auto present = [&](const OwnedPolicy& o) {
    auto it = by_id.find(o.id);
    return o.id != 0 && it != by_id.end() && SamePolicy(*it->second, o.policy);
  };
  // Deletes that did not get through, now that it answers.
  for (const OwnedPolicy& o : orphan_policies_) {
    if (present(o)) Count("DeletePolicy", client_->DeletePolicy(o.id));
  }
  orphan_policies_.clear();
  std::set<std::string> sas;
  for (const SaCounterEntry& e : *counters) sas.insert(SaKeyText(e.key()));
  for (const auto& [text, key] : orphan_sas_) {
    if (sas.erase(text) != 0) Count("DeleteSa", client_->DeleteSa(key));
  }
  orphan_sas_.clear();
  // Our policies it no longer has.
  size_t put_back = 0;
  for (auto& [owner, owned] : owners_) {
    for (OwnedPolicy& o : owned) {
      if (present(o)) continue;
      auto id = client_->AddPolicy(o.policy);
      Count("AddPolicy", id.status());
      o.id = id.ok() ? *id : 0;
      if (id.ok()) ++put_back;
    }
  }
  reconciled_policies_.Increment(static_cast<double>(put_back));
  if (put_back > 0) {
    log::Info("SPD policies put back into the dataplane",
              {{"policies", static_cast<uint64_t>(put_back)}});
  }
  hooks_.post([this, sas = std::move(sas)] { ReconcileSas(sas); });
}

void DataplaneSync::ReconcileSas(const std::set<std::string>& present) {
  size_t put_back = 0;
  hooks_.for_each_child([&](const ChildSa& c) {
    auto it = installed_.find(c.spi_in);
    if (it == installed_.end()) return;
    const uint32_t reqid = it->second.reqid;
    if (present.count(SaKeyText(SaKeyOf(c, true))) == 0) {
      Enqueue([this, c, reqid] { AddSa(c, true, reqid); });
      ++put_back;
    }
    if (!it->second.outbound_pending && present.count(SaKeyText(SaKeyOf(c, false))) == 0) {
      Enqueue([this, c, reqid] { AddSa(c, false, reqid); });
      ++put_back;
    }
  });
  reconciled_sas_.Increment(static_cast<double>(put_back));
  if (put_back > 0) {
    log::Info("CHILD SAs put back into the dataplane", {{"sas", static_cast<uint64_t>(put_back)}});
  }
}

}  // namespace vpnfleet::ike
