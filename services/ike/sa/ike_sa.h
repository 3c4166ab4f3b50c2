// One IKEv2 SA (RFC 7296) as a sans-I/O state machine: events in (a
// datagram, the clock moved, an operator or dataplane request), actions out
// (send a datagram, install or delete a CHILD SA, state changed, failed).
// No sockets, no threads, no wall clock: the Clock and Rng are injected and
// the caller (the SA manager) touches one IkeSa from one thread at a time.
//
// The exchanges live in their own files, one concern each, like strongSwan's
// tasks: exchange_init.cc (IKE_SA_INIT, cookies, INVALID_KE, NAT detection),
// exchange_auth.cc (IKE_AUTH with the first CHILD SA), exchange_child.cc
// (CREATE_CHILD_SA: new children and CHILD rekeys, with PFS),
// exchange_info.cc (Delete, liveness checks), exchange_ike_rekey.cc
// (re-keying the IKE SA itself into a successor, §2.18, with collisions). This file holds what they
// share: message IDs, retransmission, the Encrypted payload, the queue of
// requests waiting for the window.
#ifndef VPNFLEET_SERVICES_IKE_SA_IKE_SA_H_
#define VPNFLEET_SERVICES_IKE_SA_IKE_SA_H_

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock/clock.h"
#include "common/net/ip.h"
#include "common/random/rng.h"
#include "services/ike/auth/certificates.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/crypto/sk_cipher.h"
#include "services/ike/keymat/dh.h"
#include "services/ike/keymat/prf.h"
#include "services/ike/sa/endpoint.h"
#include "services/ike/sa/fragments.h"
#include "services/ike/sa/proposals.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {

// `crypto isakmp key KEY address PREFIX | hostname NAME`.
struct PskEntry {
  std::optional<net::IpPrefix> address;
  std::string hostname;  // matched against an FQDN identity
  SecretBytes key;
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
  // `set security-association level per-host`: one SA pair per host pair,
  // asked for with the triggering packet's addresses alone.
  bool per_host = false;
};

// Everything an IKE SA needs from the configuration, fixed for its life.
struct SaPolicy {
  std::vector<v2::Proposal> ike_proposals;  // by ISAKMP policy priority
  v2::IdPayload local_id;
  std::vector<PskEntry> psks;
  // Certificate authentication (`authentication rsa-sig`): we sign with the
  // trustpoint's key when `credential` is set, else we use a pre-shared
  // key. Peers' certificates are judged by `trust` (null: a peer must use
  // a pre-shared key). Either side may use either method (§2.15).
  std::shared_ptr<const auth::LocalCredential> credential;
  std::shared_ptr<const auth::TrustStore> trust;
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

class IkeSa;

namespace action {
// The IKE SA was re-keyed (§2.18): `successor` (new SPIs, keys and message
// IDs) carries the CHILD SAs on from now; this one only finishes its
// Delete. A `redundant` successor lost a simultaneous rekey (§2.25.2): the
// manager takes it and closes it at once; it holds no children.
struct Rekeyed {
  std::shared_ptr<IkeSa> successor;
  bool redundant = false;
};
}  // namespace action

using Action = std::variant<action::Send, action::InstallChild, action::DeleteChild,
                            action::StateChanged, action::Failed, action::Established,
                            action::Rekeyed, action::CheckRevocation>;
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

class IkeSa {
 public:
  struct Env {
    const Clock* clock = nullptr;
    Rng* rng = nullptr;
  };

  // An initiator for policy->children[child] (a static crypto map entry),
  // optionally triggered by a packet whose flow goes first in the TS
  // payloads (§2.9).
  static std::unique_ptr<IkeSa> NewInitiator(Env env, std::shared_ptr<const SaPolicy> policy,
                                             Endpoint local, Endpoint remote, size_t child,
                                             std::optional<std::pair<v2::TrafficSelector,
                                                                     v2::TrafficSelector>> flow);
  // A responder for an IKE_SA_INIT request that passed the manager's
  // cookie and half-open checks.
  static std::unique_ptr<IkeSa> NewResponder(Env env, std::shared_ptr<const SaPolicy> policy,
                                             Endpoint local, Endpoint remote);

  Actions Start();  // initiator: the IKE_SA_INIT request
  Actions Receive(const Endpoint& local, const Endpoint& remote, absl::string_view datagram);
  Actions Tick();   // the clock moved: retransmits, DPD, lifetimes, keepalives
  // The OCSP verdict a CheckRevocation asked for is in the cache, or will
  // not come: the waiting IKE_AUTH is judged again, without asking twice.
  // (Tick does the same once kRevocationWait has passed.)
  Actions RevocationAnswered();
  Actions Close(const std::string& reason);            // Delete the IKE SA
  // Forget the SA and its children without telling the peer, which has no
  // state for it any more (its INITIAL_CONTACT on a new SA said so).
  Actions Abandon(const std::string& reason);
  Actions CloseChild(uint32_t spi_in, const std::string& reason);
  Actions RekeyChild(uint32_t spi_in);                 // soft expiry
  Actions AddChild(size_t child, std::optional<std::pair<v2::TrafficSelector,
                                                         v2::TrafficSelector>> flow);
  // Whether policy->children[child] has a CHILD SA here, or one is being
  // negotiated or waits in the queue (so that an acquire and an operator's
  // Initiate do not ask twice). For a per-host line with a `flow`: one
  // for that host pair.
  bool HasChildFor(size_t child,
                   const std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>>& flow =
                       std::nullopt) const;
  Actions CheckLiveness();  // on-demand DPD
  Actions RekeyIke();       // re-key the IKE SA now (its soft lifetime does this too)
  // ESP arrived from this peer on an SPI we do not know: tell it (§2.21.4,
  // IOS `crypto isakmp invalid-spi-recovery`), so it drops that SA.
  Actions NotifyInvalidSpi(uint32_t spi);
  // ESP of a child was last received / sent at `when` (from the dataplane's
  // counters): inbound traffic proves the peer alive; on-demand DPD checks
  // only a peer we send to.
  void NoteTraffic(absl::Time when);
  void NoteOutbound(absl::Time when);
  // A liveness decision is due now: the manager refreshes the traffic
  // times first.
  bool DpdCheckDue(absl::Time now) const;

  absl::Time NextDeadline() const;
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

 private:
  IkeSa(Env env, std::shared_ptr<const SaPolicy> policy, bool initiator, Endpoint local,
        Endpoint remote);

  // A request we want to send once the window is free.
  struct Pending {
    enum class Kind {
      kSetup, kCreateChild, kRekeyChild, kRekeyIke, kDeleteChild, kDeleteIke, kDpd, kInvalidSpi
    } kind;
    size_t child_policy = 0;
    std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow;
    uint32_t spi_in = 0;
    std::string reason;
    // kDeleteChild of a pair the peer made for our losing rekey (§2.8.1):
    // never installed here, so only the Delete goes out.
    bool orphan = false;
  };
  // The CREATE_CHILD_SA exchange we run as initiator.
  struct ChildExchange {
    size_t child_policy = 0;
    // The packet that asked for it (§2.9: its flow goes first in TSi/TSr;
    // per-host: the flow alone).
    std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow;
    uint32_t spi_in = 0;
    uint32_t rekey_spi_in = 0;  // 0: a new child
    std::string nonce;
    std::optional<DhExchange> dh;
    std::vector<v2::Proposal> proposals;
    TsList tsi, tsr;
    // Re-keying the IKE SA instead of a child: our SPI of the new SA, and
    // whether the peer's simultaneous rekey won (§2.25.2).
    bool ike_rekey = false;
    uint64_t new_ike_spi = 0;
    bool lost_collision = false;
  };
  struct Outstanding {
    uint32_t message_id = 0;
    uint8_t exchange = 0;
    std::vector<std::string> datagrams;  // one, or the SKF fragments
    int tries = 0;
    absl::Time next_send;
    Pending::Kind kind = Pending::Kind::kSetup;
  };

  // --- shared plumbing (ike_sa.cc) ---
  void SetState(IkeState s, Actions& out);
  void Fail(const std::string& reason, Actions& out, std::string detail = "");
  void SendRaw(std::string datagram, Actions& out);
  // Encrypts `payloads` into a request (new message ID) or a response.
  absl::Status SendRequest(uint8_t exchange, const std::vector<v2::Payload>& payloads,
                           Pending::Kind kind, Actions& out);
  absl::Status SendResponse(uint8_t exchange, uint32_t message_id,
                            const std::vector<v2::Payload>& payloads, Actions& out);
  // The encrypted message: one datagram, or its SKF fragments (RFC 7383)
  // when both sides fragment and it would not fit `fragment_size`.
  absl::StatusOr<std::vector<std::string>> Protect(const v2::Header& header,
                                                   const std::vector<v2::Payload>& payloads);
  void PumpQueue(Actions& out);
  absl::Duration RetryAfter(const Outstanding& o) const;
  void ReceiveProtected(const v2::Message& outer, absl::string_view datagram,
                        const Endpoint& local, const Endpoint& remote, Actions& out);
  void DeleteAllChildren(const std::string& reason, Actions& out);
  ChildSa* FindChildByIn(uint32_t spi_in);
  ChildSa* FindChildByOut(uint32_t spi_out);
  uint32_t NewChildSpi();
  std::string Nonce();

  // --- IKE_SA_INIT (exchange_init.cc) ---
  Actions SendInit();
  void HandleInitRequest(const v2::Message& m, absl::string_view datagram, Actions& out);
  void HandleInitResponse(const v2::Message& m, absl::string_view datagram, Actions& out);
  absl::Status DeriveKeys(absl::string_view shared);
  std::vector<v2::Payload> NatDetection(uint64_t spi_r) const;
  void CheckNat(const v2::Message& m);

  // --- IKE_AUTH (exchange_auth.cc) ---
  void SendAuth(Actions& out);
  void HandleAuthRequest(uint32_t mid, const std::vector<v2::Payload>& payloads, Actions& out);
  void HandleAuthResponse(const std::vector<v2::Payload>& payloads, Actions& out);
  std::optional<SecretBytes> FindPsk(const v2::IdPayload& peer_id) const;
  // §2.15: what AUTH covers for the given side and its ID payload.
  std::string SignedOctets(bool for_initiator, const v2::IdPayload& id) const;
  std::string PskAuth(const SecretBytes& psk, bool for_initiator, const v2::IdPayload& id) const;
  // Our ID, CERT and AUTH payloads (CERTREQ too when we initiate).
  absl::Status AppendOurAuth(std::vector<v2::Payload>& payloads);
  // The peer's AUTH checked by its method; an error names the failure
  // reason (status message: `REASON: detail`).
  absl::Status CheckPeerAuth(const std::vector<v2::Payload>& payloads, const v2::IdPayload& id);
  void ReadHashAlgorithms(const std::vector<v2::Payload>& payloads);
  // IKE_AUTH waits for an OCSP verdict (CheckPeerAuth said UNAVAILABLE).
  void ParkAuth(bool request, uint32_t mid, const std::vector<v2::Payload>& payloads,
                Actions& out);
  void ResumeAuth(Actions& out);
  void Establish(bool initial_contact, Actions& out);
  void ForgetSetupState();

  // --- CHILD SAs (exchange_child.cc) ---
  // Responder side of a child request (IKE_AUTH or CREATE_CHILD_SA): picks
  // the crypto map entry and proposal, narrows selectors, derives keys.
  // Appends the reply payloads (SA, TSi, TSr, ...) or an error notify.
  void RespondChild(const std::vector<v2::Payload>& request, const std::string& ni,
                    const std::string& nr, const std::optional<DhExchange>& dh,
                    bool in_auth, uint32_t rekey_spi_in, std::vector<v2::Payload>& reply,
                    Actions& out);
  // Initiator side: the offer and, from the answer, the CHILD SA.
  std::vector<v2::Payload> OfferChild(ChildExchange& x, bool in_auth);
  void AcceptChild(const ChildExchange& x, const std::vector<v2::Payload>& reply,
                   const std::string& ni, const std::string& nr, bool in_auth, Actions& out);
  absl::StatusOr<ChildSa> MakeChild(const ChildPolicy& cp, size_t proposal_index,
                                    const ChildSuite& suite, uint32_t spi_in, uint32_t spi_out,
                                    const std::string& ni, const std::string& nr,
                                    absl::string_view shared, bool we_initiated,
                                    TsList local_ts, TsList remote_ts);
  void StartCreateChild(const Pending& p, Actions& out);
  void HandleCreateChildRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                                Actions& out);
  void HandleCreateChildResponse(const std::vector<v2::Payload>& payloads, Actions& out);
  void InstallChildSa(ChildSa child, uint32_t replaces, bool defer_outbound, Actions& out);

  // --- IKE SA rekey (exchange_ike_rekey.cc) ---
  void StartIkeRekey(Actions& out);
  void HandleIkeRekeyRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                             Actions& out);
  void HandleIkeRekeyResponse(const std::vector<v2::Payload>& payloads, Actions& out);
  // The new IKE SA from a completed rekey; `take_children` moves ours to it.
  absl::StatusOr<std::shared_ptr<IkeSa>> MakeSuccessor(bool we_initiated, uint64_t spi_i,
                                                       uint64_t spi_r, const IkeSuite& suite,
                                                       const std::string& ni,
                                                       const std::string& nr,
                                                       absl::string_view shared,
                                                       bool take_children);
  absl::Status DeriveKeysFromSeed(const Prf& prf, absl::string_view skeyseed);

  // --- INFORMATIONAL (exchange_info.cc) ---
  void HandleInformationalRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                                  Actions& out);
  void HandleInformationalResponse(const std::vector<v2::Payload>& payloads, Actions& out);
  void StartInformational(const Pending& p, Actions& out);

  Env env_;
  std::shared_ptr<const SaPolicy> policy_;
  bool initiator_;
  Endpoint local_, remote_;
  IkeState state_ = IkeState::kIdle;

  uint64_t spi_i_ = 0, spi_r_ = 0;
  IkeSuite suite_;
  std::optional<Prf> prf_;
  std::optional<DhExchange> dh_;
  std::string nonce_i_, nonce_r_;
  std::string cookie_;
  int init_attempts_ = 0;
  std::string init_request_, init_response_;  // RealMessage1 / RealMessage2 for AUTH
  SecretBytes sk_d_, sk_pi_, sk_pr_;
  std::optional<SkCipher> send_, recv_;
  bool nat_local_ = false, nat_remote_ = false;
  v2::IdPayload remote_id_;
  std::vector<uint16_t> peer_hashes_;  // SIGNATURE_HASH_ALGORITHMS (RFC 7427)
  uint8_t local_auth_method_ = 0, remote_auth_method_ = 0;
  std::string remote_subject_;
  bool remote_key_ec_ = false;
  int child_policy_index_ = -1;
  std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> first_flow_;
  // On the heap, and only while under way: an established SA carries neither
  // (a few hundred octets each, times every tunnel).
  std::unique_ptr<ChildExchange> auth_child_;  // the CHILD SA offered in IKE_AUTH

  // Message IDs (§2.3): window size 1 both ways.
  uint32_t next_request_id_ = 0;
  uint32_t expected_request_id_ = 0;
  std::optional<uint32_t> last_response_id_;
  std::vector<std::string> last_response_;  // one datagram or its fragments
  // RFC 7383: both sides announced IKEV2_FRAGMENTATION_SUPPORTED.
  bool fragmentation_ = false;
  // Fragments of the message being received, one for requests and one
  // for responses (window size 1 each way).
  FragmentReassembly reassembly_[2];
  std::optional<Outstanding> outstanding_;
  // IKE_AUTH waiting for revocation status (rare: kept out of line so an
  // established SA stays small).
  struct ParkedAuth {
    bool request = false;
    uint32_t mid = 0;
    std::vector<v2::Payload> payloads;
    absl::Time deadline;
    auth::OcspQuery query;  // handed out once, by ParkAuth
  };
  std::unique_ptr<ParkedAuth> parked_auth_;
  bool revocation_asked_ = false;
  std::list<Pending> queue_;  // not a deque: an empty one allocates nothing
  std::unique_ptr<ChildExchange> child_exchange_;

  std::vector<ChildSa> children_;
  absl::Time created_, established_at_, expires_at_ = absl::InfiniteFuture();
  absl::Time last_heard_, next_keepalive_ = absl::InfiniteFuture();
  absl::Time ike_rekey_at_ = absl::InfiniteFuture();  // soft lifetime
  absl::Time last_outbound_ = absl::InfinitePast();   // ESP sent (on-demand DPD)
  absl::Time next_dpd_check_ = absl::InfinitePast();  // on-demand: quiet, nothing sent
  absl::Time rekeyed_at_;                             // when we became kRekeyed
  IkeSaStats stats_;
};

// §3.5: the identity of the configured kind for a local address.
v2::IdPayload AddressIdentity(const net::IpAddress& address);
v2::IdPayload FqdnIdentity(const std::string& name);
std::string IdentityText(const v2::IdPayload& id);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_IKE_SA_H_
