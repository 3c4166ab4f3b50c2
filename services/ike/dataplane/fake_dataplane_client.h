// A dataplane in memory for tests of the IKE daemon's glue: SAD and SPD
// tables, counters the test sets, events the test emits, and the failures
// a real dataplane has (unreachable, refusing, restarted with empty tables,
// slow). Thread-safe like the real client.
#ifndef VPNFLEET_SERVICES_IKE_DATAPLANE_FAKE_DATAPLANE_CLIENT_H_
#define VPNFLEET_SERVICES_IKE_DATAPLANE_FAKE_DATAPLANE_CLIENT_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/ike/dataplane/dataplane_client.h"

namespace vpnfleet::ike {

class FakeDataplaneClient : public DataplaneClient {
 public:
  absl::Status AddSa(const vpnfleet::dataplane::v1::SecurityAssociation& sa) override;
  absl::Status DeleteSa(const vpnfleet::dataplane::v1::SaKey& key) override;
  absl::StatusOr<uint64_t> AddPolicy(const vpnfleet::dataplane::v1::SpdPolicy& policy) override;
  absl::Status DeletePolicy(uint64_t id) override;
  absl::StatusOr<std::vector<SaCounterEntry>> Counters(
      const vpnfleet::dataplane::v1::SaKey* only) override;
  absl::StatusOr<std::vector<vpnfleet::dataplane::v1::SpdPolicy>> ListPolicies() override;
  absl::Status Ping() override;
  absl::Status Watch(
      const std::function<void(const vpnfleet::dataplane::v1::DataplaneEvent&)>& sink) override;
  void CancelWatch() override;

  // --- what the test does to it ---
  // Every call fails with UNAVAILABLE (and the event stream ends).
  void SetUnreachable(bool unreachable);
  // AddPolicy answers FAILED_PRECONDITION with `why` (empty: accepts again).
  void RefusePolicies(const std::string& why);
  // Each call sleeps this long first (a dataplane under load).
  void SetCallDelay(absl::Duration delay);
  // A restart: empty tables, policy ids counted from 1 again, stream ended.
  void Restart();
  void Emit(const vpnfleet::dataplane::v1::DataplaneEvent& event);
  void SetCounters(uint32_t spi, const std::string& destination,
                   const vpnfleet::common::v1::IpsecSaCounters& counters);

  // --- what the test looks at ---
  bool HasSa(uint32_t spi, const std::string& destination) const;
  std::optional<vpnfleet::dataplane::v1::SecurityAssociation> Sa(
      uint32_t spi, const std::string& destination) const;
  size_t sa_count() const;
  std::vector<vpnfleet::dataplane::v1::SpdPolicy> policies() const;
  bool watching() const;
  // Calls that reached the tables (not those refused as unreachable).
  uint64_t add_sa_calls() const;
  uint64_t counter_calls() const;
  // Every change that reached the tables, in order: "AddSa 4660@10.0.0.1",
  // "DeleteSa ...", "AddPolicy <id>", "DeletePolicy <id>".
  std::vector<std::string> log() const;

 private:
  static std::string Key(uint32_t spi, const std::string& destination);
  // Sleeps, then the error of an unreachable dataplane if it is one.
  absl::Status Enter() const;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, vpnfleet::dataplane::v1::SecurityAssociation> sas_;
  std::map<std::string, vpnfleet::common::v1::IpsecSaCounters> counters_;
  std::map<uint64_t, vpnfleet::dataplane::v1::SpdPolicy> policies_;
  uint64_t next_policy_id_ = 1;
  bool unreachable_ = false;
  std::string refuse_policies_;
  absl::Duration delay_ = absl::ZeroDuration();
  std::deque<vpnfleet::dataplane::v1::DataplaneEvent> events_;
  uint64_t generation_ = 0;  // bumped by Restart and SetUnreachable(true)
  bool cancelled_ = false;
  int watchers_ = 0;
  uint64_t add_sa_calls_ = 0, counter_calls_ = 0;
  std::vector<std::string> log_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DATAPLANE_FAKE_DATAPLANE_CLIENT_H_
