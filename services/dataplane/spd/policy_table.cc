#include "services/dataplane/spd/policy_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/net/ip.h"
#include "services/dataplane/spd/classifier.h"

namespace vpnfleet::dataplane {
namespace {
namespace cv1 = vpnfleet::common::v1;
}  // namespace

absl::Status ValidatePolicy(const v1::SpdPolicy& p) {
  if (p.direction() == cv1::DIRECTION_UNSPECIFIED) {
    return absl::InvalidArgumentError("direction: must be inbound or outbound");
  }
  if (p.action() == v1::POLICY_ACTION_UNSPECIFIED) {
    return absl::InvalidArgumentError("action: must be protect, bypass, discard or skip-entry");
  }
  // One set of selector rules for the whole dataplane: the compiler the
  // forwarder uses decides what is valid.
  if (auto sel = CompileSelector(p.selector()); !sel.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("selector: ", sel.status().message()));
  }
  if (p.action() == v1::POLICY_ACTION_PROTECT) {
    if (p.mode() != cv1::IPSEC_MODE_TRANSPORT) {
      auto ts = net::ParseAddress(p.tunnel_source());
      auto td = net::ParseAddress(p.tunnel_destination());
      if (!ts.ok()) return absl::InvalidArgumentError(absl::StrCat("tunnel_source: ", ts.status().message()));
      if (!td.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("tunnel_destination: ", td.status().message()));
      }
    }
  } else if (p.action() == v1::POLICY_ACTION_SKIP_ENTRY && p.crypto_map().empty() &&
             p.crypto_map_sequence() == 0) {
    return absl::InvalidArgumentError(
        "crypto_map, crypto_map_sequence: a skip-entry policy names the entry it skips");
  } else if (p.reqid() != 0 || p.per_host()) {
    return absl::InvalidArgumentError("reqid, per_host: only PROTECT policies point at SAs");
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> PolicyTable::Add(v1::SpdPolicy policy) {
  policy.clear_id();
  if (auto st = ValidatePolicy(policy); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  policy.set_id(next_id_++);
  // Insert after every policy of the same direction and priority: equal
  // priorities keep the order in which they were added.
  auto pos = std::upper_bound(policies_.begin(), policies_.end(), policy,
                              [](const v1::SpdPolicy& a, const v1::SpdPolicy& b) {
                                if (a.direction() != b.direction()) return a.direction() < b.direction();
                                return a.priority() < b.priority();
                              });
  policies_.insert(pos, policy);
  return policy.id();
}

absl::Status PolicyTable::Delete(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find_if(policies_.begin(), policies_.end(),
                         [&](const v1::SpdPolicy& p) { return p.id() == id; });
  if (it == policies_.end()) {
    return absl::NotFoundError(absl::StrCat("policy ", id, " does not exist"));
  }
  policies_.erase(it);
  return absl::OkStatus();
}

std::vector<v1::SpdPolicy> PolicyTable::List(cv1::Direction direction) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::SpdPolicy> out;
  for (const auto& p : policies_) {
    if (direction == cv1::DIRECTION_UNSPECIFIED || p.direction() == direction) out.push_back(p);
  }
  return out;
}

size_t PolicyTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return policies_.size();
}

}  // namespace vpnfleet::dataplane
