// SaManager, part: taking a configuration (the policy book, the trustpoints and the
// SPD policies of its static entries).
#include "services/ike/daemon/sa_manager.h"

#include "common/log/log.h"
#include "services/ike/daemon/dataplane_records.h"

namespace vpnfleet::ike {
namespace {

namespace dv1 = vpnfleet::dataplane::v1;
namespace v1 = vpnfleet::ike::v1;

constexpr absl::Duration kTrustpointCheckInterval = absl::Seconds(10);

}  // namespace

std::shared_future<absl::Status> SaManager::ApplyConfig(const v1::IkeConfig& config) {
  LoadedTrustpoints trustpoints = LoadTrustpoints(config, options_.pki_dir, ocsp_cache_);
  std::vector<std::string> warnings = trustpoints.warnings;
  trustpoint_files_ = trustpoints.fingerprint;
  next_trustpoint_check_ = clock_->Now() + kTrustpointCheckInterval;
  // What reloading trustpoints needs, without the keys.
  config_.Clear();
  *config_.mutable_isakmp_policies() = config.isakmp_policies();
  *config_.mutable_globals() = config.globals();
  *config_.mutable_trustpoints() = config.trustpoints();
  for (int i = 0; i < config.pre_shared_keys_size(); ++i) config_.add_pre_shared_keys();
  book_ = PolicyBook::Build(config, trustpoints, reqids_, &warnings);
  book_.SetHalfOpenTimeout(options_.half_open_timeout);
  if (trustpoints.credential) {
    log::Info("IKE signs with trustpoint", {{"trustpoint", trustpoints.credential->trustpoint()},
                                            {"subject", auth::SubjectText(trustpoints.credential->leaf())}});
  }
  for (const std::string& w : warnings) log::Warn("IKE configuration", {{"warning", w}});
  log::Info("IKE configuration applied", {{"revision", std::to_string(book_.revision())},
                                          {"initiating_entries", std::to_string(book_.statics().size())}});
  return sync_->ReplaceStaticPolicies(StaticPolicies());
}

absl::Status SaManager::ApplyConfigAndWait(const v1::IkeConfig& config, absl::Duration wait) {
  std::shared_future<absl::Status> taken;
  Call([&] { taken = ApplyConfig(config); });
  if (!taken.valid()) return absl::UnavailableError("the IKE engine is stopping");
  if (taken.wait_for(absl::ToChronoMilliseconds(wait)) != std::future_status::ready) {
    log::Warn("the dataplane has not answered for the configuration's policies yet",
              {{"waited_seconds", std::to_string(absl::ToInt64Seconds(wait))}});
    return absl::OkStatus();
  }
  return taken.get();
}

std::vector<dv1::SpdPolicy> SaManager::StaticPolicies() const {
  std::vector<dv1::SpdPolicy> out;
  auto append = [&out](std::vector<dv1::SpdPolicy> more) {
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  };
  for (const StaticEntry& s : book_.statics()) {
    const std::string peer = s.peer.ToString();
    auto local = LocalAddressToward(s.peer);
    if (!local) {
      log::Warn("no route to a crypto map peer; its policies wait",
                {{"crypto_map", s.child.crypto_map}, {"peer", peer}});
      continue;
    }
    const ChildPolicy& c = s.child;
    append(SpdPoliciesOf(ProtectPolicy(c, c.reqid, c.per_host), c.local_ts, c.remote_ts,
                         local->ToString(), peer));
  }
  // Deny lines: the entry does not protect what they match.
  for (const SkipRule& k : book_.skips()) {
    dv1::SpdPolicy skip;
    skip.set_priority(k.spd_priority);
    skip.set_action(dv1::POLICY_ACTION_SKIP_ENTRY);
    skip.set_crypto_map(k.crypto_map);
    skip.set_crypto_map_sequence(k.sequence);
    append(SpdPoliciesOf(skip, k.local_ts, k.remote_ts, "", ""));
  }
  return out;
}

void SaManager::CheckTrustpointFiles() {
  const absl::Time now = clock_->Now();
  if (now < next_trustpoint_check_) return;
  next_trustpoint_check_ = now + kTrustpointCheckInterval;
  if (config_.trustpoints().empty() ||
      TrustpointFilesFingerprint(config_, options_.pki_dir) == trustpoint_files_) {
    return;
  }
  LoadedTrustpoints trustpoints = LoadTrustpoints(config_, options_.pki_dir, ocsp_cache_);
  trustpoint_files_ = trustpoints.fingerprint;
  std::vector<std::string> warnings = trustpoints.warnings;
  book_.UseTrustpoints(config_, trustpoints, &warnings);
  for (const std::string& w : warnings) log::Warn("IKE trustpoints", {{"warning", w}});
  log::Info("IKE trustpoint files reloaded",
            {{"signing", trustpoints.credential ? trustpoints.credential->trustpoint() : "-"}});
}

}  // namespace vpnfleet::ike
