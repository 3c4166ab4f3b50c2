// The IKE daemon's engine room: owns every IkeSa, routes datagrams to them
// by SPI (creating responders only after the checks of daemon/intake.h),
// runs their timers, and carries out their actions: datagrams to the
// sockets, CHILD SAs and SPD policies to DataplaneSync (which makes the
// dataplane calls on its own thread). One thread (Loop) touches the SAs;
// other threads (gRPC, dataplane events, OCSP answers) Post() work to it.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_SA_MANAGER_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_SA_MANAGER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <queue>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/log/rate_limit.h"
#include "prometheus/registry.h"
#include "services/ike/daemon/cookies.h"
#include "services/ike/daemon/crypto_workers.h"
#include "services/ike/daemon/dataplane_sync.h"
#include "services/ike/daemon/ike_metrics.h"
#include "services/ike/daemon/ocsp_fetcher.h"
#include "services/ike/daemon/policy_book.h"
#include "services/ike/dataplane/dataplane_client.h"
#include "services/ike/io/ike_socket.h"
#include "services/ike/sa/ike_sa.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

struct ManagerOptions {
  size_t half_open_limit = 1000;  // responders waiting for IKE_AUTH
  size_t cookie_threshold = 64;   // half-open SAs before IKE_SA_INIT must return a COOKIE
  // Above cookie_threshold half-open SAs, IKEv1 (which has no cookie
  // exchange) may start this many phase 1s a second.
  size_t ikev1_starts_per_second_under_load = 50;
  // A responder's SA still waiting for IKE_AUTH after this long is dropped.
  absl::Duration half_open_timeout = absl::Seconds(10);
  std::string pki_dir = "/var/lib/vpnfleet/ike/pki";  // trustpoint files (daemon/trustpoints.h)
  // How OCSP questions reach responders (`revocation-check ocsp`); null:
  // never answered, so OCSP counts as unavailable.
  OcspPost ocsp_post;
  // How often what should be in the dataplane is compared with what is
  // (besides after each break of its event stream).
  absl::Duration reconcile_interval = absl::Seconds(60);
  // Threads for the expensive steps of responders (IKE_SA_INIT's
  // Diffie-Hellman, IKE_AUTH's signatures); 0: all on the engine thread.
  size_t crypto_workers = 0;
};

class SaManager {
 public:
  // `dataplane` may be null: negotiation without installing anything
  // (the SAs are still listed).
  SaManager(const Clock* clock, Rng* rng, std::unique_ptr<IkeSockets> sockets,
            std::shared_ptr<DataplaneClient> dataplane, prometheus::Registry& registry,
            ManagerOptions options = {});
  ~SaManager();

  void Start();
  void Stop();

  // Runs `fn` on the engine thread and waits for it.
  void Call(const std::function<void()>& fn);

  // Engine-thread API (through Call):
  // Takes the configuration at once; the future says (once the dataplane
  // has answered, so wait for it off the engine thread) whether the
  // dataplane took its policies: an error when it refused them, not when
  // it is merely unreachable (they go in when it returns).
  std::shared_future<absl::Status> ApplyConfig(const vpnfleet::ike::v1::IkeConfig& config);
  // Any thread but the engine's: ApplyConfig through Call, then the
  // dataplane's answer, waited for up to `wait` (a dataplane slower than
  // that is not a refusal: the policies stay queued).
  absl::Status ApplyConfigAndWait(const vpnfleet::ike::v1::IkeConfig& config,
                                  absl::Duration wait = absl::Seconds(30));
  // Reloads trustpoint files if any changed since the last look (a new
  // certificate after enrollment, a fresh CRL). New SAs use them.
  void CheckTrustpointFiles();
  void ListPublicKeys(vpnfleet::ike::v1::ListPublicKeysResponse* out) const;
  void ListIkeSas(const vpnfleet::ike::v1::ListIkeSasRequest& req,
                  vpnfleet::ike::v1::ListIkeSasResponse* out);
  // Without counters: AddChildCounters adds them after the Call returns.
  void ListChildSas(const vpnfleet::ike::v1::ListChildSasRequest& req,
                    vpnfleet::ike::v1::ListChildSasResponse* out);
  absl::StatusOr<uint64_t> Initiate(const vpnfleet::ike::v1::InitiateRequest& req);
  uint32_t Terminate(const vpnfleet::ike::v1::TerminateRequest& req);

  // Any thread: the dataplane's counters into a ListChildSas answer (one
  // call for all SAs, never on the engine thread).
  void AddChildCounters(vpnfleet::ike::v1::ListChildSasResponse* out);

  // Event stream subscribers (any thread).
  using EventSink = std::function<void(const vpnfleet::ike::v1::IkeEvent&)>;
  uint64_t Subscribe(EventSink sink);
  void Unsubscribe(uint64_t id);

 private:
  struct Entry {
    uint64_t conn_id = 0;
    std::shared_ptr<IkeSession> sa;
    absl::Time started;
    std::string half_open_key;  // while a responder waits for IKE_AUTH
    absl::Time scheduled = absl::InfiniteFuture();  // its entry in timers_
    uint64_t seen_retransmits = 0, seen_rekeys = 0;  // already in the counters
    bool asking_traffic = false;  // a liveness tick waits for the dataplane's counters
    // A crypto worker holds `sa` (see ReceiveOn): the engine leaves it
    // alone; what comes for it meanwhile waits in busy_[conn_id].
    bool busy = false;
    const char* v1_state = nullptr;  // IKEv1: the state last logged (debug crypto isakmp)
  };
  // What the engine keeps for an SA while a worker holds it (only then, so
  // that a million idle entries do not carry it).
  struct Busy {
    vpnfleet::ike::v1::IkeSa view;  // for ListIkeSas: as it was when handed over
    std::vector<Datagram> waiting;  // datagrams that came meanwhile
    bool ocsp_answered = false;     // an OCSP verdict came meanwhile
    std::string close_reason;       // an operator closed it meanwhile
  };

  void Post(std::function<void()> fn);
  void Loop();
  void OnDatagram(const Datagram& d);
  // IKEv1 at debug level, as `debug crypto isakmp` says it (no contents).
  void DebugIsakmpPacket(const Entry& e, const char* what, const Endpoint& peer) const;
  // A new IKE_SA_INIT request: a responder SA once the DoS checks pass.
  void OnInitRequest(const Datagram& d, uint64_t spi_i);
  // IKEv1: to the SA its cookies name, or a new responder for a first
  // Main or Aggressive Mode message.
  void OnIkev1(const Datagram& d);
  void OnIkev1Start(const Datagram& d, uint64_t cky_i);
  // A new responder's answer to its IKE_SA_INIT (worked out here or by a
  // crypto worker): kept as a half-open SA, or refused and forgotten.
  void FinishInit(const Datagram& d, const std::string& key, std::shared_ptr<IkeSession> sa,
                  absl::Time started, Actions actions);
  // `d` into the SA of `e`: on this thread, or on a crypto worker when it
  // is a responder's IKE_AUTH (signatures), with `e` busy until it is done.
  void ReceiveOn(Entry& e, const Datagram& d);
  void OnWorkDone(uint64_t conn_id, Actions actions);
  // `sa` reads `d` on a crypto worker; `done` gets its actions back on the
  // engine thread.
  void ReceiveOnWorker(std::shared_ptr<IkeSession> sa, const Datagram& d,
                       std::function<void(Actions)> done);
  // The peer of `e` said INITIAL_CONTACT: forget its SAs from before.
  void DropStaleSas(Entry& e);
  // A message dropped before any SA: counted, logged (rate-limited, naming
  // the peer and the reason) and sent to event subscribers.
  void Refuse(const Datagram& d, const std::string& reason, const std::string& detail);
  void Execute(Entry& e, Actions actions);
  void Established(Entry& e, const action::Established& est);
  // Takes a re-keyed IKE SA's successor (its children move with it).
  void AdoptSuccessor(Entry& old, const action::Rekeyed& r);
  // IKEv1 has no rekey of the ISAKMP SA: near its end a new phase 1 with
  // the same peer is started (Reestablish); once any new phase 1 with the
  // same peer and identity is up, it takes over the older ones' pairs and
  // they are deleted alone (TakeOverPhase1), as strongSwan does on an
  // IKEv1 reauthentication.
  void Reestablish(Entry& old);
  // An initiator's entry made (conn_id and sa set): registered and started.
  Entry* Launch(std::unique_ptr<Entry> entry);
  void TakeOverPhase1(Entry& e);
  // Ticks the SAs whose deadline has come (timers_, not a scan: the cost
  // does not grow with the number of tunnels). An SA about to decide on
  // liveness first asks the dataplane when ESP last moved on its children
  // and is ticked when the answer comes.
  void TickDue();
  void TickAfterTraffic(uint64_t conn_id, const std::vector<SaCounterEntry>& counters);
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
  void InstallChild(Entry& e, const action::InstallChild& a);
  // The SPD policies of the configuration's static entries and deny lines.
  std::vector<vpnfleet::dataplane::v1::SpdPolicy> StaticPolicies() const;
  void OnDataplaneEvent(const vpnfleet::dataplane::v1::DataplaneEvent& ev);
  void OnAcquire(const vpnfleet::dataplane::v1::Acquire& a);
  void OnExpire(const vpnfleet::dataplane::v1::Expire& x);
  void OnUnknownSpi(const vpnfleet::dataplane::v1::UnknownSpi& u);
  void Emit(vpnfleet::ike::v1::IkeEvent event);
  // The fetcher has a verdict for `key` (engine thread): resume its SAs.
  void OnOcspAnswered(const std::string& key);

  const Clock* clock_;
  Rng* rng_;
  std::unique_ptr<IkeSockets> sockets_;
  ManagerOptions options_;
  IkeMetrics metrics_;

  // Engine-thread state.
  PolicyBook book_;
  ReqidAllocator reqids_;
  vpnfleet::ike::v1::IkeConfig config_;  // secrets wiped; for reloading trustpoints
  std::string trustpoint_files_;         // their fingerprint when last loaded
  absl::Time next_trustpoint_check_;
  absl::Time next_reconcile_;
  std::map<uint64_t, std::unique_ptr<Entry>> by_conn_;
  absl::flat_hash_map<uint64_t, Entry*> by_spi_;  // our SPI of each SA
  std::map<std::string, Entry*> half_open_;     // "SPIi/remote" of responders before AUTH
  std::set<std::string> init_in_work_;          // the same, for IKE_SA_INITs at a worker
  absl::Time v1_start_window_;                   // IKEv1 phase-1 starts this second
  size_t v1_starts_in_window_ = 0;
  std::map<uint64_t, Busy> busy_;               // by conn_id, the entries a worker holds
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
  std::thread thread_;
  std::mutex sinks_mu_;
  std::map<uint64_t, EventSink> sinks_;
  uint64_t next_sink_ = 1;

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
  // The dataplane's side of things; its threads Post to us, so they stop
  // (in Stop) before we are gone.
  std::unique_ptr<DataplaneSync> sync_;
  std::unique_ptr<OcspFetcher> ocsp_;  // Posts to the engine; gone in Stop()
  std::unique_ptr<CryptoWorkers> workers_;  // Post to the engine; stopped by its loop
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_SA_MANAGER_H_
