#include "services/controller/etcd/leader_election.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/log/log.h"

namespace vpnfleet::controller {

LeaderElection::LeaderElection(std::shared_ptr<EtcdClient> client, LeaderElectionOptions options,
                               Callbacks callbacks)
    : client_(std::move(client)), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

LeaderElection::~LeaderElection() { Stop(); }

void LeaderElection::Start() { thread_ = std::thread([this] { Run(); }); }

void LeaderElection::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (lease_id_ != 0) {
    client_->LeaseRevoke(lease_id_).IgnoreError();
    lease_id_ = 0;
  }
}

bool LeaderElection::leading() const {
  std::lock_guard<std::mutex> lock(mu_);
  // A replica that was paused (SIGSTOP, a VM frozen, a partition) past its
  // lease stops acting at once, before its election thread notices.
  return leading_ && absl::Now() + absl::Seconds(TtlSeconds()) / 4 < lease_valid_until_;
}

std::string LeaderElection::leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

int64_t LeaderElection::TtlSeconds() const { return std::max<int64_t>(2, absl::ToInt64Seconds(options_.lease)); }

bool LeaderElection::Wait(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(d), [this] { return stopping_; });
  return !stopping_;
}

bool LeaderElection::Campaign(int64_t* create_revision) {
  etcdserverpb::TxnRequest txn;
  auto* free = txn.add_compare();
  free->set_key(options_.key);
  free->set_target(etcdserverpb::Compare::CREATE);
  free->set_result(etcdserverpb::Compare::EQUAL);
  free->set_create_revision(0);  // nobody holds the key
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(options_.key);
  put->set_value(options_.identity);
  put->set_lease(lease_id_);
  txn.add_failure()->mutable_request_range()->set_key(options_.key);
  auto response = client_->Txn(txn);
  if (!response.ok()) {
    log::Warn("leader election: etcd did not answer", {{"error", std::string(response.status().message())}});
    return false;
  }
  if (response->succeeded()) {
    *create_revision = response->header().revision();
    return true;
  }
  const auto& held = response->responses(0).response_range();
  std::lock_guard<std::mutex> lock(mu_);
  leader_ = held.kvs_size() > 0 ? held.kvs(0).value() : "";
  return false;
}

void LeaderElection::Run() {
  const int64_t ttl = TtlSeconds();
  const absl::Duration tick = std::min(absl::Seconds(1), absl::Seconds(ttl) / 3);
  std::string last_seen;
  do {
    const absl::Time sent = absl::Now();
    if (lease_id_ == 0) {
      auto granted = client_->LeaseGrant(ttl);
      if (!granted.ok()) {
        log::Warn("leader election: no lease from etcd", {{"error", std::string(granted.status().message())}});
        continue;
      }
      lease_id_ = granted->id();
    } else {
      auto refreshed = client_->LeaseKeepAlive(lease_id_);
      if (absl::IsNotFound(refreshed.status())) lease_id_ = 0;  // expired while we waited: a new one next
      if (!refreshed.ok()) continue;
    }
    int64_t create_revision = 0;
    if (Campaign(&create_revision)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        lease_valid_until_ = sent + absl::Seconds(ttl);
        leader_ = options_.identity;
      }
      log::Info("leader election: this replica leads", {{"key", options_.key}, {"revision", create_revision}});
      Lead(create_revision);
      return;
    }
    std::string now_seen = leader();
    if (now_seen != last_seen) {
      log::Info("leader election: following", {{"leader", now_seen}});
      last_seen = now_seen;
    }
  } while (Wait(tick));
}

void LeaderElection::Lead(int64_t create_revision) {
  const int64_t ttl = TtlSeconds();
  const absl::Duration tick = absl::Seconds(ttl) / 4;
  // Deposed a margin before the lease could end at etcd: the time to stop.
  const absl::Duration margin = absl::Seconds(ttl) / 4;
  // Getting ready (loading the fleet) may take longer than a lease: the
  // lease is kept alive meanwhile.
  std::thread ready([this, create_revision] {
    callbacks_.elected(create_revision);
    std::lock_guard<std::mutex> lock(mu_);
    leading_ = !stopping_;
  });
  while (Wait(tick)) {
    const absl::Time sent = absl::Now();
    auto refreshed = client_->LeaseKeepAlive(lease_id_);
    absl::Time valid_until;
    if (refreshed.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        lease_valid_until_ = sent + absl::Seconds(*refreshed);
      }
      // The key can also go by hand (etcdctl del): then we lead no more.
      etcdserverpb::RangeRequest mine;
      mine.set_key(options_.key);
      auto held = client_->Range(mine);
      if (held.ok() && (held->kvs_size() == 0 || held->kvs(0).create_revision() != create_revision)) {
        log::Error("leader election: the leader key is no longer this replica's", {{"key", options_.key}});
        break;
      }
    } else if (absl::IsNotFound(refreshed.status())) {
      log::Error("leader election: the lease expired", {{"lease", lease_id_}});
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      valid_until = lease_valid_until_;
    }
    if (absl::Now() + margin >= valid_until) {
      log::Error("leader election: the lease could not be refreshed in time; stepping down",
                 {{"error", std::string(refreshed.status().message())}});
      break;
    }
  }
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped = stopping_;
    leading_ = false;
  }
  if (!stopped) callbacks_.lost();
  ready.join();
  std::lock_guard<std::mutex> lock(mu_);
  leading_ = false;
}

}  // namespace vpnfleet::controller
