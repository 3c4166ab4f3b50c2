// The IKE daemon's engine room: owns every IkeSa, routes datagrams to them
// by SPI (creating responders only after the half-open limit is checked),
// runs their timers, and carries out their actions — datagrams to the
// sockets, CHILD SAs and SPD policies to the dataplane. One thread (Run)
// touches the SAs; other threads (gRPC, dataplane events) Post() work to it.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_SA_MANAGER_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_SA_MANAGER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log/rate_limit.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/ike/daemon/cookies.h"
#include "services/ike/daemon/ocsp_fetcher.h"
#include "services/ike/daemon/policy_book.h"
#include "services/ike/io/ike_socket.h"
#include "services/ike/sa/ike_sa.h"
#include "vpnfleet/dataplane/v1/dataplane.grpc.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

struct ManagerOptions {
  size_t half_open_limit = 1000;  // responders waiting for IKE_AUTH
  size_t cookie_threshold = 64;   // half-open SAs before IKE_SA_INIT must return a COOKIE
  // A responder's SA still waiting for IKE_AUTH after this long is dropped.
  absl::Duration half_open_timeout = absl::Seconds(10);
  std::string pki_dir = "/var/lib/vpnfleet/ike/pki";  // trustpoint files (daemon/trustpoints.h)
  // How OCSP questions reach responders (`revocation-check ocsp`); null:
  // never answered, so OCSP counts as unavailable.
  OcspPost ocsp_post;
};

class SaManager {
 public:
  // `dataplane` may be null: negotiation without installing anything
  // (the SAs are still listed).
  SaManager(const Clock* clock, Rng* rng, std::unique_ptr<IkeSockets> sockets,
            std::shared_ptr<grpc::ChannelInterface> dataplane, prometheus::Registry& registry,
            ManagerOptions options = {});
  ~SaManager();

  void Start();
  void Stop();

  // Runs `fn` on the engine thread and waits for it.
  void Call(const std::function<void()>& fn);

  // Engine-thread API (through Call):
  // An error when the dataplane refused the configuration's policies (not
  // when it is merely unreachable: they are installed when it returns).
  absl::Status ApplyConfig(const vpnfleet::ike::v1::IkeConfig& config);
  // Reloads trustpoint files if any changed since the last look (a new
  // certificate after enrollment, a fresh CRL). New SAs use them.
  void CheckTrustpointFiles();
  void ListIkeSas(const vpnfleet::ike::v1::ListIkeSasRequest& req,
                  vpnfleet::ike::v1::ListIkeSasResponse* out);
  void ListChildSas(const vpnfleet::ike::v1::ListChildSasRequest& req,
                    vpnfleet::ike::v1::ListChildSasResponse* out);
  absl::StatusOr<uint64_t> Initiate(const vpnfleet::ike::v1::InitiateRequest& req);
  uint32_t Terminate(const vpnfleet::ike::v1::TerminateRequest& req);

  // Event stream subscribers (any thread).
  using EventSink = std::function<void(const vpnfleet::ike::v1::IkeEvent&)>;
  uint64_t Subscribe(EventSink sink);
  void Unsubscribe(uint64_t id);

 private:
  struct Entry {
    uint64_t conn_id = 0;
    std::shared_ptr<IkeSa> sa;
    absl::Time started;
    std::string half_open_key;  // while a responder waits for IKE_AUTH
    absl::Time scheduled = absl::InfiniteFuture();  // its entry in timers_
    uint64_t seen_retransmits = 0, seen_rekeys = 0;  // already in the counters
  };
  // What we put into the dataplane for one CHILD SA pair.
  struct Installed {
    uint64_t conn_id = 0;
    uint32_t reqid = 0;
    std::vector<uint64_t> policy_ids;  // dynamic children own their SPD policies
    std::string local, remote;
  };

  void Post(std::function<void()> fn);
  void Loop();
  void OnDatagram(const Datagram& d);
  // The peer of `e` said INITIAL_CONTACT: forget its SAs from before.
  void DropStaleSas(Entry& e);
  // A message dropped before any SA: counted, logged (rate-limited, naming
  // the peer and the reason) and sent to event subscribers.
  void Refuse(const Datagram& d, const std::string& reason, const std::string& detail);
  void Execute(Entry& e, Actions actions);
  // Takes a re-keyed IKE SA's successor (its children move with it).
  void AdoptSuccessor(Entry& old, const action::Rekeyed& r);
  // Ticks the SAs whose deadline has come (timers_, not a scan: the cost
  // does not grow with the number of tunnels).
  void TickDue();
  // ESP last received/sent on an SA's children, from the dataplane, before
  // a liveness decision.
  void RefreshTraffic(Entry& e);
  // After an SA ran: its next deadline into timers_, its counters into the
  // metrics, and onto the reap list if it is gone.
  void Schedule(Entry& e);
  void Reap();
  // A live IKE SA to the entry's peer whose policy holds the entry's line
  // (its index in `*index`), or nullptr.
  Entry* LiveSaFor(const StaticEntry& s, int* index);
  Entry* StartInitiator(const StaticEntry& s,
                        std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow);
  Entry* FindBySpi(uint64_t spi);
  void InstallChild(Entry& e, const action::InstallChild& a, uint32_t reuse_reqid = 0);
  // `base` for the selector pair, outbound and inbound (tunnel ends from
  // `local` and `peer`, unless `peer` is empty); ids of what the dataplane
  // took go to `ids`, refusals are logged.
  absl::Status AddPolicies(const vpnfleet::dataplane::v1::SpdPolicy& base, const TsList& local_ts,
                   const TsList& remote_ts, const std::string& local, const std::string& peer,
                   std::vector<uint64_t>* ids);
  void AddSa(const ChildSa& c, bool inbound, uint32_t reqid);
  void RemoveChild(const action::DeleteChild& d);
  absl::Status InstallStaticPolicies();
  void RemoveStaticPolicies();
  void Resync();
  void WatchDataplane();
  void OnAcquire(const vpnfleet::dataplane::v1::Acquire& a);
  void OnExpire(const vpnfleet::dataplane::v1::Expire& x);
  void OnUnknownSpi(const vpnfleet::dataplane::v1::UnknownSpi& u);
  void Emit(vpnfleet::ike::v1::IkeEvent event);
  // The fetcher has a verdict for `key` (engine thread): resume its SAs.
  void OnOcspAnswered(const std::string& key);
  vpnfleet::dataplane::v1::SecurityAssociation SaProto(const ChildSa& c, bool inbound,
                                                        uint32_t reqid) const;
  void FillIkeSa(const Entry& e, vpnfleet::ike::v1::IkeSa* out) const;

  const Clock* clock_;
  Rng* rng_;
  std::unique_ptr<IkeSockets> sockets_;
  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<vpnfleet::dataplane::v1::DataplaneService::Stub> dataplane_;
  ManagerOptions options_;

  // Engine-thread state.
  PolicyBook book_;
  ReqidAllocator reqids_;
  vpnfleet::ike::v1::IkeConfig config_;  // secrets wiped; for reloading trustpoints
  std::string trustpoint_files_;         // their fingerprint when last loaded
  absl::Time next_trustpoint_check_;
  std::vector<uint64_t> static_policy_ids_;
  std::map<uint64_t, std::unique_ptr<Entry>> by_conn_;
  std::map<uint64_t, Entry*> by_spi_;           // our SPI of each SA
  std::map<std::string, Entry*> half_open_;     // "SPIi/remote" of responders before AUTH
  std::map<uint32_t, Installed> installed_;     // by inbound SPI
  // Outbound halves of rekeys we answered, by the inbound SPI of the pair
  // they replace: installed when that pair is deleted.
  std::map<uint32_t, std::pair<ChildSa, uint32_t>> deferred_outbound_;
  uint64_t next_conn_id_ = 1;
  // OCSP verdicts shared by all trust stores, and the SAs waiting for one.
  std::shared_ptr<auth::OcspCache> ocsp_cache_ = std::make_shared<auth::OcspCache>();
  std::map<std::string, std::vector<uint64_t>> ocsp_waiting_;  // key → conn_ids

  // Cross-thread.
  std::mutex mu_;
  std::deque<std::function<void()>> tasks_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> loop_done_{false};  // set by the engine thread as its last act
  std::thread thread_, watcher_;
  std::unique_ptr<grpc::ClientContext> watch_context_;
  std::mutex watch_mu_;
  std::mutex sinks_mu_;
  std::map<uint64_t, EventSink> sinks_;
  uint64_t next_sink_ = 1;

  // Metrics.
  prometheus::Family<prometheus::Counter>& started_;
  prometheus::Family<prometheus::Counter>& succeeded_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Histogram& setup_seconds_;
  prometheus::Gauge& active_ike_;
  prometheus::Gauge& half_open_gauge_;
  prometheus::Gauge& active_child_;
  prometheus::Counter& rekeys_;
  prometheus::Counter& ike_rekeys_;
  prometheus::Counter& retransmits_;
  prometheus::Counter& dpd_failures_;
  prometheus::Counter& cookies_sent_;
  prometheus::Counter& half_open_refused_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& invalid_spi_;
  CookieSecrets cookies_{rng_};  // §2.6, rotating every 2 minutes
  // One limiter per reason: a flood of one kind hides no other.
  std::map<std::string, log::RateLimit> refusal_logs_;
  // Min-heap of (deadline, conn_id); stale pairs (the entry moved its
  // deadline or is gone) are skipped when they come up.
  std::priority_queue<std::pair<absl::Time, uint64_t>, std::vector<std::pair<absl::Time, uint64_t>>,
                      std::greater<>>
      timers_;
  std::vector<uint64_t> dead_;  // conn_ids to reap
  std::map<std::string, absl::Time> invalid_spi_last_;  // by peer: one recovery per 10 s
  std::unique_ptr<OcspFetcher> ocsp_;  // Posts to the engine; gone in Stop()
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_SA_MANAGER_H_
