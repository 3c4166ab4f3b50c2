// The configuration (`crypto isakmp policy`, transform sets, crypto maps,
// ACLs, keys) turned into what IKE SAs run with: one SaPolicy for each pair
// of local and remote address, holding the crypto map entries that apply to
// that peer (static entries naming it, then dynamic ones), and the list of
// static entries that initiate. Built once per configuration revision;
// SAs keep the policy they started with.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_POLICY_BOOK_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_POLICY_BOOK_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/ike/daemon/trustpoints.h"
#include "services/ike/sa/ike_sa.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

// One permit line of a static crypto map entry, for one of the entry's
// peers: what initiates, with its own reqid.
struct StaticEntry {
  ChildPolicy child;  // reqid set
  net::IpAddress peer;
};

// A deny line of a static entry's ACL: traffic it matches is not protected
// by that entry, and the SPD goes on with the next entry (IOS); traffic no
// entry protects is forwarded in clear.
struct SkipRule {
  std::string crypto_map;
  uint32_t sequence = 0;
  uint32_t spd_priority = 0;
  TsList local_ts, remote_ts;
};

// Reqids for static entries that stay the same across configuration
// changes, so the dataplane's policies and SAs keep matching.
class ReqidAllocator {
 public:
  uint32_t For(const std::string& key);
  uint32_t Fresh() { return next_++; }

 private:
  std::map<std::string, uint32_t> ids_;
  uint32_t next_ = 1;
};

class PolicyBook {
 public:
  // Signatures are used when the first IKEv2 ISAKMP policy says
  // `authentication rsa-sig` (the IOS default) or ecdsa-sig and a trustpoint
  // is enrolled; otherwise pre-shared keys. Peers' certificates are accepted
  // whenever a trustpoint is authenticated.
  static PolicyBook Build(const vpnfleet::ike::v1::IkeConfig& config,
                          const LoadedTrustpoints& trustpoints, ReqidAllocator& reqids,
                          std::vector<std::string>* warnings);

  // Trustpoints reloaded (a new certificate, a fresh CRL): new SAs sign and
  // verify with these. `config` may have its secrets wiped.
  void UseTrustpoints(const vpnfleet::ike::v1::IkeConfig& config,
                      const LoadedTrustpoints& trustpoints, std::vector<std::string>* warnings);

  // How long a responder waits for IKE_AUTH (the daemon's flag, not IOS).
  void SetHalfOpenTimeout(absl::Duration timeout) {
    base_.half_open_timeout = timeout;
    shared_.clear();
  }

  // Peers that no static entry names share one policy per local address
  // (a responder may hold 100,000 of them).
  std::shared_ptr<const SaPolicy> For(const net::IpAddress& local,
                                      const net::IpAddress& remote) const;
  const std::vector<StaticEntry>& statics() const { return statics_; }
  // Whether IKEv1 peers get an answer (an IKEv1 crypto isakmp policy exists).
  bool speaks_ikev1() const { return !base_.ikev1_policies.empty(); }
  // Our RSA key pair for rsa-encr (null: none).
  const std::shared_ptr<const auth::RsaKeyPair>& rsa_key() const { return base_.ikev1_rsa_key; }
  const std::vector<SkipRule>& skips() const { return skips_; }
  // Index of the child policy for the same map, entry and ACL line as
  // `line` within policy.children, or -1.
  int ChildIndex(const SaPolicy& policy, const ChildPolicy& line) const;
  uint64_t revision() const { return revision_; }
  bool invalid_spi_recovery() const { return invalid_spi_recovery_; }

 private:
  SaPolicy base_;                       // everything but local_id and children
  // IKEv1 policies as configured; base_.ikev1_policies holds those the
  // enrolled key can serve (see UseTrustpoints).
  std::vector<ikev1::Phase1Policy> ikev1_configured_;
  std::vector<StaticEntry> statics_;
  std::vector<SkipRule> skips_;
  std::vector<ChildPolicy> dynamics_;
  vpnfleet::ike::v1::IsakmpIdentity identity_ = vpnfleet::ike::v1::ISAKMP_IDENTITY_ADDRESS;
  std::string hostname_;
  std::optional<v2::IdPayload> dn_;  // `identity dn` with an enrolled trustpoint
  mutable std::map<std::string, std::shared_ptr<const SaPolicy>> shared_;  // by local address
  uint64_t revision_ = 0;
  bool invalid_spi_recovery_ = false;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_POLICY_BOOK_H_
