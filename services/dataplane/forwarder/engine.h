// The control side of the forwarder. Every SAD/SPD change goes through the
// Engine: it validates and stores it (SaTable, PolicyTable), creates the
// per-SA hot state with its OpenSSL contexts, and publishes a new
// ForwardingTables snapshot that workers pick up at their next frame (one
// atomic load per frame; the lock is taken only when a new snapshot exists).
//
// Tick() runs every so often on the control thread: it checks lifetimes
// (soft expiry: event; hard expiry or idle: SA removed, event), drains the
// workers' event rings and fans events out to WatchEvents subscribers.
#ifndef VPNFLEET_SERVICES_DATAPLANE_FORWARDER_ENGINE_H_
#define VPNFLEET_SERVICES_DATAPLANE_FORWARDER_ENGINE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "services/dataplane/forwarder/forwarder.h"
#include "services/dataplane/forwarder/spsc_ring.h"
#include "services/dataplane/forwarder/tables.h"
#include "services/dataplane/sad/lifetime.h"
#include "services/dataplane/sad/sa_table.h"
#include "services/dataplane/spd/policy_table.h"

namespace vpnfleet::dataplane {

// One WatchEvents stream. Bounded: a subscriber that does not read loses the
// oldest events (counted), never blocks the engine.
class EventSubscription {
 public:
  static constexpr size_t kMaxQueued = 4096;
  // Waits up to `timeout`; false when nothing came (or closed).
  bool Next(v1::DataplaneEvent* event, absl::Duration timeout);
  bool closed() const;
  uint64_t lost() const;

 private:
  friend class Engine;
  void Push(const v1::DataplaneEvent& e);
  void Close();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::DataplaneEvent> queue_;
  bool closed_ = false;
  uint64_t lost_ = 0;
};

struct EngineOptions {
  uint32_t workers = 1;
  SaTableOptions sa_options;
};

// What metrics and the API read about one SA.
struct SaSnapshot {
  v1::SaKey key;
  vpnfleet::common::v1::Direction direction;
  std::shared_ptr<SaRuntime> runtime;
};

// Traffic of a set of SAs: inner packets and bytes by direction.
struct TrafficTotals {
  uint64_t packets_in = 0, packets_out = 0, bytes_in = 0, bytes_out = 0;
};

class Engine {
 public:
  // Crypto maps that get their own traffic series; SAs of later maps are
  // counted under kOtherCryptoMaps so a scrape stays bounded.
  static constexpr size_t kMaxCryptoMapLabels = 64;
  static constexpr char kOtherCryptoMaps[] = "(other)";
  static constexpr char kNoCryptoMap[] = "(none)";

  Engine(const Clock* clock, EngineOptions options);
  ~Engine();

  // --- API (any thread) ---
  absl::Status AddSa(const v1::SecurityAssociation& sa);
  absl::Status UpdateSa(const v1::SecurityAssociation& sa);
  absl::Status DeleteSa(const v1::SaKey& key);
  absl::StatusOr<v1::SaStatus> GetSa(const v1::SaKey& key) const;
  std::vector<v1::SaStatus> ListSas(const v1::ListSasRequest& filter) const;
  absl::StatusOr<uint64_t> AddPolicy(const v1::SpdPolicy& policy);
  absl::Status DeletePolicy(uint64_t id);
  std::vector<v1::SpdPolicy> ListPolicies(vpnfleet::common::v1::Direction d) const;
  std::vector<v1::GetSaCountersResponse::Entry> Counters(const v1::SaKey* only) const;
  std::vector<SaSnapshot> Sas() const;
  // Drops by reason over all SAs, including those already gone.
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> SaDropTotals() const;
  // Traffic by crypto map over all SAs, including those already gone, so the
  // sums never go back when an SA is rekeyed or deleted. Every map seen has
  // an entry (zero until traffic).
  std::map<std::string, TrafficTotals> TrafficByCryptoMap() const;
  size_t sa_count() const { return sad_.size(); }
  size_t policy_count() const { return spd_.size(); }
  std::shared_ptr<EventSubscription> Subscribe();

  // --- workers ---
  uint32_t workers() const { return options_.workers; }
  ForwarderCounters& counters(uint32_t worker) { return *counters_[worker]; }
  const ForwarderCounters& counters(uint32_t worker) const { return *counters_[worker]; }
  ForwarderTotals Totals() const;
  SpscRing<ForwarderEvent>& event_ring(uint32_t worker) { return *event_rings_[worker]; }
  // Replaces `*tables` when a newer snapshot exists. Cheap when none does.
  void Refresh(std::shared_ptr<const ForwardingTables>* tables) const;
  std::shared_ptr<const ForwardingTables> tables() const;

  // --- control thread ---
  void Tick();
  // Ends all WatchEvents streams (shutdown).
  void CloseSubscriptions();
  uint64_t events_lost() const { return events_lost_.load(); }

 private:
  struct Installed {
    InstalledSa sa;
    std::unique_ptr<SaLifetime> lifetime;
    uint64_t order = 0;
  };

  absl::Status PublishLocked();
  uint32_t ChooseOwnerLocked(const v1::SecurityAssociation& sa) const;
  void FillStatusLocked(const Installed& in, v1::SaStatus* status) const;
  void PublishEvent(const v1::DataplaneEvent& e);
  void RetireLocked(const Installed& in);
  // The traffic series an SA counts under (its crypto map, or the overflow).
  const std::string& TrafficLabelLocked(const v1::SecurityAssociation& sa) const;
  void ExpireLocked(const std::string& key, Installed& in, const Expiry& x,
                    std::vector<v1::DataplaneEvent>* events);

  const Clock* clock_;
  EngineOptions options_;
  SaTable sad_;
  PolicyTable spd_;

  mutable std::mutex mu_;  // installed_, order, snapshot publication
  std::map<std::string, Installed> installed_;
  uint64_t next_order_ = 0;
  std::shared_ptr<const ForwardingTables> current_;
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> retired_drops_{};
  std::map<std::string, TrafficTotals> retired_traffic_;  // a key per label, at most kMaxCryptoMapLabels + 1
  std::atomic<uint64_t> generation_{0};

  std::vector<std::unique_ptr<ForwarderCounters>> counters_;
  std::vector<std::unique_ptr<SpscRing<ForwarderEvent>>> event_rings_;

  std::mutex subs_mu_;
  std::vector<std::weak_ptr<EventSubscription>> subs_;
  std::atomic<uint64_t> events_lost_{0};
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_FORWARDER_ENGINE_H_
