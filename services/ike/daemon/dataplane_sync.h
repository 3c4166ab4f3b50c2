// What the IKE daemon has put into the dataplane, and the thread that puts
// it there. The engine thread states what should be in (CHILD SA pairs, the
// SPD policies of the configuration and of dynamic children) and returns at
// once; a worker thread makes the DataplaneClient calls in the order they
// were asked, so an RPC that takes seconds never stalls negotiation.
//
// Reconcile (vpp-agent's resync, strongSwan's kernel interface rebuilt after
// a restart) compares what should be in with what the dataplane reports:
// missing SAs and policies go back in, deletes that failed are retried. It
// runs after the dataplane's event stream breaks (it may have restarted with
// empty tables), and periodically from the engine.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_DATAPLANE_SYNC_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_DATAPLANE_SYNC_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/net/ip.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/ike/daemon/policy_book.h"
#include "services/ike/dataplane/dataplane_client.h"
#include "services/ike/sa/ike_sa.h"

namespace vpnfleet::ike {

class DataplaneSync {
 public:
  struct Hooks {
    // Runs a function on the engine thread (SaManager::Post).
    std::function<void(std::function<void()>)> post;
    // A dataplane event (engine thread).
    std::function<void(const vpnfleet::dataplane::v1::DataplaneEvent&)> on_event;
    // Every CHILD SA the engine holds (engine thread; reconcile).
    std::function<void(const std::function<void(const ChildSa&)>&)> for_each_child;
  };

  // `client` may be null: nothing is installed, but pairs are still
  // tracked (and counted) as if they were.
  DataplaneSync(std::shared_ptr<DataplaneClient> client, ReqidAllocator* reqids, Hooks hooks,
                prometheus::Registry& registry);
  ~DataplaneSync();
  void Start();
  void Stop();
  bool connected() const { return client_ != nullptr; }

  // ---- engine thread ----
  // Puts a CHILD SA pair in: its inbound half now, its outbound half now or,
  // when `a.defer_outbound`, once the pair it replaces is removed (§2.8).
  // A rekey keeps the replaced pair's reqid and policies; a dynamic map's
  // child gets its own reqid (`reuse_reqid` if set) and SPD entries.
  void Install(const action::InstallChild& a, uint32_t reuse_reqid = 0);
  void Remove(uint32_t spi_in, uint32_t spi_out);
  // Runs `fn` on the engine thread once every call queued so far has been
  // made (at once without a dataplane). An answer that lets the peer send
  // on a new SA waits for it this way: strongSwan's kernel interface adds
  // the SA before the message goes, so must we.
  void AfterQueued(std::function<void()> fn);
  size_t pairs() const { return installed_.size(); }
  // The configuration's policies replace the previous ones; the future
  // says whether the dataplane took them (an error only when it refused;
  // when it is unreachable they go in when it returns).
  std::shared_future<absl::Status> ReplaceStaticPolicies(
      std::vector<vpnfleet::dataplane::v1::SpdPolicy> policies);
  // Counters of `keys`, handed to `done` on the engine thread (the ones the
  // dataplane does not know are left out).
  void Query(std::vector<vpnfleet::dataplane::v1::SaKey> keys,
             std::function<void(std::vector<SaCounterEntry>)> done);
  void Reconcile();

  // ---- any thread ----
  // Every SA's counters, asked now (for status; bypasses the queue).
  absl::StatusOr<std::vector<SaCounterEntry>> CountersNow();
  size_t queued() const;

 private:
  struct Pair {
    uint32_t reqid = 0;
    bool owns_policies = false;     // a dynamic child's SPD entries (keyed by reqid)
    bool outbound_pending = false;  // deferred until the replaced pair goes
    net::IpAddress local, remote;   // the SAs' destinations
  };
  struct OwnedPolicy {
    vpnfleet::dataplane::v1::SpdPolicy policy;
    uint64_t id = 0;  // 0: not in the dataplane yet
  };
  static constexpr uint64_t kStaticOwner = 0;

  void Enqueue(std::function<void()> op);
  void Work();
  void Watch();
  // Worker: the calls, their outcome counted and refusals logged.
  void AddSa(const ChildSa& c, bool inbound, uint32_t reqid);
  absl::Status AddPolicies(uint64_t owner, std::vector<vpnfleet::dataplane::v1::SpdPolicy> p);
  void DeletePolicies(uint64_t owner);
  void DeleteSa(const vpnfleet::dataplane::v1::SaKey& key);
  // Worker half of Reconcile: the SPD fixed here; the SAs it reports
  // present are compared with the engine's children on the engine thread.
  void ReconcileFetch();
  void ReconcileSas(const std::set<std::string>& present);
  void Count(const char* call, const absl::Status& s);

  std::shared_ptr<DataplaneClient> client_;
  ReqidAllocator* reqids_;
  Hooks hooks_;

  // Engine thread.
  absl::flat_hash_map<uint32_t, Pair> installed_;  // by inbound SPI
  // Outbound halves waiting for the pair they replace (keyed by its inbound
  // SPI) to go.
  std::map<uint32_t, std::pair<ChildSa, uint32_t>> deferred_outbound_;

  // Worker thread.
  std::map<uint64_t, std::vector<OwnedPolicy>> owners_;  // kStaticOwner, or a dynamic reqid
  std::vector<OwnedPolicy> orphan_policies_;             // deletes that did not reach it
  std::map<std::string, vpnfleet::dataplane::v1::SaKey> orphan_sas_;
  bool retry_ = false;  // a call found it unreachable: reconcile once it answers

  // Cross-thread.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> ops_;
  bool stop_ = false;
  std::thread worker_, watcher_;

  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Counter& reconciled_sas_;
  prometheus::Counter& reconciled_policies_;
  prometheus::Gauge& queue_depth_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_DATAPLANE_SYNC_H_
