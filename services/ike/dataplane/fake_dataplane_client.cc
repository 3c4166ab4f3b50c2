#include "services/ike/dataplane/fake_dataplane_client.h"

#include <thread>

#include "absl/strings/str_cat.h"

namespace vpnfleet::ike {

namespace dv1 = vpnfleet::dataplane::v1;

std::string FakeDataplaneClient::Key(uint32_t spi, const std::string& destination) {
  return absl::StrCat(spi, "@", destination);
}

absl::Status FakeDataplaneClient::Enter() const {
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delay = delay_;
  }
  if (delay > absl::ZeroDuration()) std::this_thread::sleep_for(absl::ToChronoMilliseconds(delay));
  std::lock_guard<std::mutex> lock(mu_);
  if (unreachable_) return absl::UnavailableError("fake dataplane: unreachable");
  return absl::OkStatus();
}

absl::Status FakeDataplaneClient::AddSa(const dv1::SecurityAssociation& sa) {
  if (absl::Status s = Enter(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  ++add_sa_calls_;
  const std::string key = Key(sa.key().spi(), sa.key().destination());
  if (sa.key().spi() == 0 || sa.key().destination().empty()) {
    return absl::InvalidArgumentError("SA key needs an SPI and a destination");
  }
  if (sas_.count(key) != 0) return absl::AlreadyExistsError(absl::StrCat("SA ", key, " exists"));
  sas_[key] = sa;
  log_.push_back("AddSa " + key);
  return absl::OkStatus();
}

absl::Status FakeDataplaneClient::DeleteSa(const dv1::SaKey& key) {
  if (absl::Status s = Enter(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  const std::string k = Key(key.spi(), key.destination());
  counters_.erase(k);
  if (sas_.erase(k) == 0) return absl::NotFoundError(absl::StrCat("no SA ", k));
  log_.push_back("DeleteSa " + k);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FakeDataplaneClient::AddPolicy(const dv1::SpdPolicy& policy) {
  if (absl::Status s = Enter(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (!refuse_policies_.empty()) return absl::FailedPreconditionError(refuse_policies_);
  const uint64_t id = next_policy_id_++;
  dv1::SpdPolicy stored = policy;
  stored.set_id(id);
  policies_[id] = std::move(stored);
  log_.push_back(absl::StrCat("AddPolicy ", id));
  return id;
}

absl::Status FakeDataplaneClient::DeletePolicy(uint64_t id) {
  if (absl::Status s = Enter(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  if (policies_.erase(id) == 0) return absl::NotFoundError(absl::StrCat("no policy ", id));
  log_.push_back(absl::StrCat("DeletePolicy ", id));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SaCounterEntry>> FakeDataplaneClient::Counters(const dv1::SaKey* only) {
  if (absl::Status s = Enter(); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  ++counter_calls_;
  std::vector<SaCounterEntry> out;
  for (const auto& [key, sa] : sas_) {
    if (only != nullptr && key != Key(only->spi(), only->destination())) continue;
    SaCounterEntry e;
    *e.mutable_key() = sa.key();
    auto c = counters_.find(key);
    if (c != counters_.end()) *e.mutable_counters() = c->second;
    out.push_back(std::move(e));
  }
  if (only != nullptr && out.empty()) return absl::NotFoundError("no such SA");
  return out;
}

absl::StatusOr<std::vector<dv1::SpdPolicy>> FakeDataplaneClient::ListPolicies() {
  if (absl::Status s = Enter(); !s.ok()) return s;
  return policies();
}

absl::Status FakeDataplaneClient::Ping() { return Enter(); }

absl::Status FakeDataplaneClient::Watch(const std::function<void(const dv1::DataplaneEvent&)>& sink) {
  std::unique_lock<std::mutex> lock(mu_);
  if (unreachable_) return absl::UnavailableError("fake dataplane: unreachable");
  const uint64_t generation = generation_;
  ++watchers_;
  while (!cancelled_ && generation_ == generation) {
    if (events_.empty()) {
      cv_.wait(lock);
      continue;
    }
    dv1::DataplaneEvent ev = std::move(events_.front());
    events_.pop_front();
    lock.unlock();
    sink(ev);
    lock.lock();
  }
  --watchers_;
  if (cancelled_) return absl::CancelledError("watch cancelled");
  return absl::UnavailableError("fake dataplane: stream ended");
}

void FakeDataplaneClient::CancelWatch() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

void FakeDataplaneClient::SetUnreachable(bool unreachable) {
  std::lock_guard<std::mutex> lock(mu_);
  unreachable_ = unreachable;
  if (unreachable) ++generation_;
  cv_.notify_all();
}

void FakeDataplaneClient::RefusePolicies(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  refuse_policies_ = why;
}

void FakeDataplaneClient::SetCallDelay(absl::Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

void FakeDataplaneClient::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  sas_.clear();
  counters_.clear();
  policies_.clear();
  events_.clear();
  next_policy_id_ = 1;
  ++generation_;
  cv_.notify_all();
}

void FakeDataplaneClient::Emit(const dv1::DataplaneEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  events_.push_back(event);
  cv_.notify_all();
}

void FakeDataplaneClient::SetCounters(uint32_t spi, const std::string& destination,
                                      const vpnfleet::common::v1::IpsecSaCounters& counters) {
  std::lock_guard<std::mutex> lock(mu_);
  counters_[Key(spi, destination)] = counters;
}

bool FakeDataplaneClient::HasSa(uint32_t spi, const std::string& destination) const {
  std::lock_guard<std::mutex> lock(mu_);
  return sas_.count(Key(spi, destination)) != 0;
}

std::optional<dv1::SecurityAssociation> FakeDataplaneClient::Sa(uint32_t spi,
                                                                const std::string& destination) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sas_.find(Key(spi, destination));
  if (it == sas_.end()) return std::nullopt;
  return it->second;
}

size_t FakeDataplaneClient::sa_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sas_.size();
}

std::vector<dv1::SpdPolicy> FakeDataplaneClient::policies() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<dv1::SpdPolicy> out;
  for (const auto& [id, p] : policies_) out.push_back(p);
  return out;
}

bool FakeDataplaneClient::watching() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_ > 0;
}

uint64_t FakeDataplaneClient::add_sa_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return add_sa_calls_;
}

uint64_t FakeDataplaneClient::counter_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counter_calls_;
}

}  // namespace vpnfleet::ike

namespace vpnfleet::ike {

std::vector<std::string> FakeDataplaneClient::log() const {
  std::lock_guard<std::mutex> lock(mu_);
  return log_;
}

}  // namespace vpnfleet::ike
