// What the SA manager holds for each IKE SA, whichever version it speaks:
// the configuration an SA runs with (SaPolicy), the CHILD SAs it makes
// (ChildSa), the actions it returns, and the IkeSession interface that
// IKEv2 (IkeSa, RFC 7296) and IKEv1 (Ikev1Sa, RFC 2409) both implement as
// sans-I/O state machines: events in (a datagram, the clock moved, an
// operator or dataplane request), actions out. No sockets, no threads, no
// wall clock: the Clock and Rng are injected and the manager touches one
// session from one thread at a time.
#ifndef VPNFLEET_SERVICES_IKE_SA_IKE_SESSION_H_
#define VPNFLEET_SERVICES_IKE_SA_IKE_SESSION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/net/ip.h"
#include "common/random/rng.h"
#include "services/ike/auth/certificates.h"
#include "services/ike/auth/rsa_encryption.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/keymat/prf.h"
#include "services/ike/sa/endpoint.h"
#include "services/ike/sa/ikev1_proposals.h"
#include "services/ike/sa/proposals.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {

// `crypto isakmp key KEY address PREFIX | hostname NAME`.
struct PskEntry {
  std::optional<net::IpPrefix> address;
  std::string hostname;  // matched against an FQDN identity
  SecretBytes key;
};

// `crypto key pubkey-chain rsa`: `addressed-key ADDRESS` or `named-key
// NAME` [`address ADDRESS`], for IKEv1 `authentication rsa-encr`.
struct PeerRsaKey {
  std::optional<net::IpAddress> address;
  std::string name;  // matched against an FQDN or user@FQDN identity
  std::shared_ptr<const auth::RsaPublicKey> key;
};

// What one permit line of a crypto map entry's ACL asks of its CHILD SAs.
// As IOS does, each permit line is its own proxy-identity pair: one SA pair
// (one reqid) per line, never the cross product of the ACL's sources and
// destinations.
struct ChildPolicy {
  std::string crypto_map;
  uint32_t sequence = 0;
  uint32_t acl_line = 0;                    // the permit line's ACL sequence number
  uint32_t spd_priority = 0;                // map sequence << 16 | the line's rank in the ACL
  TsList local_ts, remote_ts;               // the line's source and destination
  std::vector<v2::Proposal> proposals;      // ESP, by transform-set order, PFS group included
  std::vector<std::string> transform_sets;  // names, one per proposal
  uint16_t pfs_group = 0;
  bool transport = false;
  uint64_t lifetime_seconds = 3600;
  uint64_t lifetime_kilobytes = 4608000;
  uint32_t replay_window = 64;  // 0: replay detection off
  uint32_t reqid = 0;           // the dataplane bundle, given by the manager
  bool dynamic = false;         // a dynamic map: respond only
  // The IKE version this entry initiates with (1: `crypto isakmp`
  // policies, IOS's meaning; 2: IKEv2). A responder answers either.
  uint8_t ike_version = 2;
  // IKEv1: initiate phase 1 in Aggressive Mode (`initiate mode aggressive`).
  bool initiate_aggressive = false;
  // `set security-association level per-host`: one SA pair per host pair,
  // asked for with the triggering packet's addresses alone.
  bool per_host = false;
};

// Everything an IKE SA needs from the configuration, fixed for its life.
struct SaPolicy {
  std::vector<v2::Proposal> ike_proposals;  // by ISAKMP policy priority
  // IKEv1 phase-1 policies (`crypto isakmp policy` of version 1), by
  // priority; none: IKEv1 peers are refused.
  std::vector<ikev1::Phase1Policy> ikev1_policies;
  bool aggressive_mode = true;  // false: `crypto isakmp aggressive-mode disable`
  v2::IdPayload local_id;
  std::vector<PskEntry> psks;
  // Certificate authentication (`authentication rsa-sig`): we sign with the
  // trustpoint's key when `credential` is set, else we use a pre-shared
  // key. Peers' certificates are judged by `trust` (null: a peer must use
  // a pre-shared key). Either side may use either method (§2.15).
  std::shared_ptr<const auth::LocalCredential> credential;
  std::shared_ptr<const auth::TrustStore> trust;
  // IKEv1 negotiates one method for both sides: an agreed `rsa-sig` or
  // `ecdsa-sig` policy signs with this key (the enrolled trustpoint),
  // whatever IKEv2's first policy chose for `credential`.
  std::shared_ptr<const auth::LocalCredential> ikev1_credential;
  // IKEv1 `authentication rsa-encr` (RFC 2409 §5.2): our RSA key pair
  // decrypts what peers encrypt to us; peers' public keys encrypt to them.
  std::shared_ptr<const auth::RsaKeyPair> ikev1_rsa_key;
  std::vector<PeerRsaKey> peer_rsa_keys;
  std::vector<ChildPolicy> children;  // responder: candidates; initiator: what it may start
  absl::Duration ike_lifetime = absl::Hours(24);
  absl::Duration dpd_interval = absl::ZeroDuration();  // 0: off
  // `crypto isakmp keepalive N RETRY`: liveness checks are repeated every
  // RETRY, without backoff (0: like any request, with backoff).
  absl::Duration dpd_retry = absl::ZeroDuration();
  // `keepalive ... on-demand` (the IOS default): check only a peer we are
  // sending ESP to and hearing nothing from; `periodic`: any quiet peer.
  bool dpd_on_demand = true;
  absl::Duration retransmit_timeout = absl::Seconds(2);
  // RFC 7383: when both sides announce IKEV2_FRAGMENTATION_SUPPORTED, an
  // encrypted message whose IP datagram would exceed this many octets goes
  // out as SKF fragments (strongSwan's fragment_size default, and what
  // IPv6 guarantees). 0: never fragment.
  size_t fragment_size = 1280;
  // A responder's SA that got no IKE_AUTH this long after IKE_SA_INIT is
  // dropped (strongSwan's half_open_timeout; a few seconds is plenty for a
  // real peer, and a flood of spoofed requests must not pile up).
  absl::Duration half_open_timeout = absl::Seconds(10);
  int retransmit_tries = 5;  // then the peer is declared dead
  absl::Duration nat_keepalive = absl::Seconds(20);
  absl::Duration rekey_margin = absl::Seconds(60);  // CHILD rekey this long before expiry
  bool initial_contact = true;
  bool allow_legacy = false;
};

// Whether a child was made for this policy line (same map, entry and line).
template <typename A, typename B>
bool SameLine(const A& a, const B& b) {
  return a.crypto_map == b.crypto_map && a.sequence == b.sequence && a.acl_line == b.acl_line;
}

// A negotiated CHILD SA pair as the dataplane needs it.
struct ChildSa {
  uint32_t spi_in = 0, spi_out = 0;
  ChildSuite suite;
  SecretBytes encr_in, integ_in, encr_out, integ_out;
  TsList local_ts, remote_ts;
  bool transport = false;
  bool udp_encap = false;
  Endpoint local, remote;
  std::string crypto_map;
  uint32_t sequence = 0;
  uint32_t acl_line = 0;
  uint32_t spd_priority = 0;
  std::string transform_set;
  uint32_t reqid = 0;
  uint64_t lifetime_seconds = 0, lifetime_kilobytes = 0;
  uint32_t replay_window = 64;
  absl::Time established;
  absl::Time rekey_at;  // soft expiry with jitter (initiator of the rekey only)
};

enum class IkeState {
  kIdle,          // initiator not started yet
  kInitSent,      // IKE_SA_INIT request out
  kInitDone,      // responder: IKE_SA_INIT answered, waiting for IKE_AUTH
  kAuthSent,      // IKE_AUTH request out
  kEstablished,
  kRekeyed,       // replaced by a successor; waits for the peer's Delete
  kDeleting,      // our Delete of the IKE SA is out
  kDead,          // gone; the manager forgets it
};
const char* IkeStateName(IkeState s);

namespace action {
struct Send {
  Endpoint local, remote;
  std::string datagram;  // an IKE message, or the one-octet NAT keepalive
  bool nat_keepalive = false;
};
struct InstallChild {
  ChildSa child;
  uint32_t replaces_spi_in = 0;  // a rekey: the old pair goes once the new one is in
  // The responder of a rekey sends on the new SA only once the old one is
  // deleted (§2.8): the initiator may not have installed its inbound half
  // before our answer reaches it.
  bool defer_outbound = false;
};
struct DeleteChild {
  uint32_t spi_in = 0, spi_out = 0;
  std::string reason;
};
struct StateChanged {
  IkeState from, to;
};
struct Failed {
  std::string reason;  // NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, TIMEOUT, ...
  std::string detail;  // for the log: why a certificate was refused, ...
};
// The IKE SA is up. With initial_contact the peer said it has no other
// SA with us (§2.4): the manager drops older ones with the same identity.
struct Established {
  bool initial_contact = false;
};
// The peer's certificate chain holds but its OCSP status is not known yet:
// the manager asks the responder, puts the verdict (or that none came) in
// the trust store's cache and calls RevocationAnswered(). IKE_AUTH waits
// meanwhile; the peer's retransmissions of it are ignored.
struct CheckRevocation {
  auth::OcspQuery query;
};
}  // namespace action

// How long IKE_AUTH waits for an OCSP verdict before judging without one
// (within the responder's default 10 s half-open timeout).
inline constexpr absl::Duration kRevocationWait = absl::Seconds(5);

class IkeSession;

namespace action {
// The IKE SA was re-keyed (§2.18): `successor` (new SPIs, keys and message
// IDs) carries the CHILD SAs on from now; this one only finishes its
// Delete. A `redundant` successor lost a simultaneous rekey (§2.25.2): the
// manager takes it and closes it at once; it holds no children.
struct Rekeyed {
  std::shared_ptr<IkeSession> successor;
  bool redundant = false;
};
}  // namespace action

namespace action {
// IKEv1 only (RFC 2409 has no rekey of the ISAKMP SA): this phase 1 nears
// the end of its lifetime; the manager starts a new one with the same peer,
// which takes over the CHILD SA pairs once up (Ikev1Sa::Handover).
struct Reestablish {};
}  // namespace action

using Action = std::variant<action::Send, action::InstallChild, action::DeleteChild,
                            action::StateChanged, action::Failed, action::Established,
                            action::Rekeyed, action::CheckRevocation, action::Reestablish>;
using Actions = std::vector<Action>;

// Counters for `show` and metrics.
struct IkeSaStats {
  uint64_t retransmits = 0;
  uint64_t rekeys = 0;      // CHILD SAs
  uint64_t ike_rekeys = 0;  // this IKE SA into a successor
  uint64_t dpd_sent = 0;
  uint64_t messages_in = 0, messages_out = 0;
  uint64_t dropped = 0;  // unauthenticated, out of window, malformed
};

using Flow = std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>>;

// What both versions do alike when a CHILD SA is made: its crypto map
// fields from the policy line (and the transform set of `proposal_index`);
// when the IKE initiator re-keys it (85-90% of its life, jittered, so the
// two sides do not collide on every rekey); and the pre-shared key for a
// peer (`crypto isakmp key`: by FQDN identity first, then the longest
// address match).
void FillFromPolicy(const ChildPolicy& cp, size_t proposal_index, ChildSa* c);
absl::Time ChildRekeyAt(absl::Time now, uint64_t lifetime_seconds, Rng& rng);
std::optional<SecretBytes> FindPreSharedKey(const std::vector<PskEntry>& psks,
                                            const net::IpAddress& remote,
                                            const v2::IdPayload* peer_id);

class IkeSession {
 public:
  virtual ~IkeSession() = default;
  IkeSession(const IkeSession&) = delete;
  IkeSession& operator=(const IkeSession&) = delete;

  // 1 (ISAKMP, RFC 2409) or 2 (RFC 7296).
  virtual uint8_t version() const = 0;
  // The state as `show crypto isakmp sa` prints it (IKEv1: MM_NO_STATE,
  // QM_IDLE...; IKEv2: READY, ...). state() is the version-neutral one the
  // manager acts on.
  virtual const char* StateName() const = 0;
  virtual Actions Start() = 0;  // initiator: the first message
  virtual Actions Receive(const Endpoint& local, const Endpoint& remote,
                          absl::string_view datagram) = 0;
  virtual Actions Tick() = 0;   // the clock moved: retransmits, DPD, lifetimes, keepalives
  // The OCSP verdict a CheckRevocation asked for is in the cache, or will
  // not come: the waiting IKE_AUTH is judged again, without asking twice.
  // (Tick does the same once kRevocationWait has passed.)
  virtual Actions RevocationAnswered() = 0;
  virtual Actions Close(const std::string& reason) = 0;            // Delete the IKE SA
  // Forget the SA and its children without telling the peer, which has no
  // state for it any more (its INITIAL_CONTACT on a new SA said so).
  virtual Actions Abandon(const std::string& reason) = 0;
  virtual Actions CloseChild(uint32_t spi_in, const std::string& reason) = 0;
  virtual Actions RekeyChild(uint32_t spi_in) = 0;                 // soft expiry
  virtual Actions AddChild(size_t child, Flow flow) = 0;
  // Whether policy->children[child] has a CHILD SA here, or one is being
  // negotiated or waits in the queue (so that an acquire and an operator's
  // Initiate do not ask twice). For a per-host line with a `flow`: one
  // for that host pair.
  virtual bool HasChildFor(size_t child, const Flow& flow = std::nullopt) const = 0;
  virtual Actions CheckLiveness() = 0;  // on-demand DPD
  virtual Actions RekeyIke() = 0;       // re-key the IKE SA now (its soft lifetime does this too)
  // ESP arrived from this peer on an SPI we do not know: tell it (§2.21.4,
  // IOS `crypto isakmp invalid-spi-recovery`), so it drops that SA.
  virtual Actions NotifyInvalidSpi(uint32_t spi) = 0;
  // ESP of a child was last received / sent at `when` (from the dataplane's
  // counters): inbound traffic proves the peer alive; on-demand DPD checks
  // only a peer we send to.
  virtual void NoteTraffic(absl::Time when) = 0;
  virtual void NoteOutbound(absl::Time when) = 0;
  // A liveness decision is due now: the manager refreshes the traffic
  // times first.
  virtual bool DpdCheckDue(absl::Time now) const = 0;

  virtual absl::Time NextDeadline() const = 0;
  IkeState state() const { return state_; }
  bool initiator() const { return initiator_; }
  uint64_t spi_i() const { return spi_i_; }
  uint64_t spi_r() const { return spi_r_; }
  const Endpoint& local() const { return local_; }
  const Endpoint& remote() const { return remote_; }
  const IkeSuite& suite() const { return suite_; }
  const v2::IdPayload& remote_id() const { return remote_id_; }
  // How each side authenticated (auth::kAuth* methods; 0 until known), and
  // the subject of the peer's certificate when it used one.
  uint8_t local_auth_method() const { return local_auth_method_; }
  uint8_t remote_auth_method() const { return remote_auth_method_; }
  const std::string& remote_subject() const { return remote_subject_; }
  bool remote_key_ec() const { return remote_key_ec_; }
  bool local_key_ec() const { return policy_->credential && !policy_->credential->is_rsa(); }
  const v2::IdPayload& local_id() const { return policy_->local_id; }
  bool nat_local() const { return nat_local_; }
  bool nat_remote() const { return nat_remote_; }
  absl::Time established_at() const { return established_at_; }
  absl::Time expires_at() const { return expires_at_; }
  const std::vector<ChildSa>& children() const { return children_; }
  const IkeSaStats& stats() const { return stats_; }
  const SaPolicy& policy() const { return *policy_; }
  // The crypto map entry this SA was started for (initiator) or first
  // matched (responder); -1 while unknown.
  int child_policy_index() const { return child_policy_index_; }
  // Set by the manager when a datagram for this SA arrived at a new
  // address (NAT mapping change); replies go there.
  void SetRemote(const Endpoint& remote) { remote_ = remote; }


 protected:
  IkeSession(std::shared_ptr<const SaPolicy> policy, bool initiator, Endpoint local,
             Endpoint remote)
      : policy_(std::move(policy)), initiator_(initiator), local_(local), remote_(remote) {}

  std::shared_ptr<const SaPolicy> policy_;
  bool initiator_;
  Endpoint local_, remote_;
  IkeState state_ = IkeState::kIdle;
  uint64_t spi_i_ = 0, spi_r_ = 0;  // IKEv1: the initiator's and responder's cookies
  IkeSuite suite_;                  // in IKEv2's transform IDs, whichever version
  bool nat_local_ = false, nat_remote_ = false;
  v2::IdPayload remote_id_;
  uint8_t local_auth_method_ = 0, remote_auth_method_ = 0;
  std::string remote_subject_;
  bool remote_key_ec_ = false;
  int child_policy_index_ = -1;
  std::vector<ChildSa> children_;
  absl::Time established_at_, expires_at_ = absl::InfiniteFuture();
  IkeSaStats stats_;
};

// The identity (RFC 7296 §3.5, RFC 2407 §4.6.2) of the configured kind for a local address.
v2::IdPayload AddressIdentity(const net::IpAddress& address);
v2::IdPayload FqdnIdentity(const std::string& name);
std::string IdentityText(const v2::IdPayload& id);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_IKE_SESSION_H_
