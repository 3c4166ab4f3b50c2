// One IKEv2 SA (RFC 7296): the IkeSession (ike_session.h) of version 2, a
// sans-I/O state machine: events in (a datagram, the clock moved, an
// operator or dataplane request), actions out (send a datagram, install or
// delete a CHILD SA, state changed, failed).
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
#include "services/ike/sa/ike_session.h"
#include "services/ike/sa/proposals.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {

class IkeSa final : public IkeSession {
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

  // IkeSession (see ike_session.h for what each does).
  uint8_t version() const override { return 2; }
  const char* StateName() const override { return IkeStateName(state_); }
  Actions Start() override;  // the IKE_SA_INIT request
  Actions Receive(const Endpoint& local, const Endpoint& remote,
                  absl::string_view datagram) override;
  Actions Tick() override;
  Actions RevocationAnswered() override;
  Actions Close(const std::string& reason) override;
  Actions Abandon(const std::string& reason) override;
  Actions CloseChild(uint32_t spi_in, const std::string& reason) override;
  Actions RekeyChild(uint32_t spi_in) override;
  Actions AddChild(size_t child, Flow flow) override;
  bool HasChildFor(size_t child, const Flow& flow = std::nullopt) const override;
  Actions CheckLiveness() override;
  Actions RekeyIke() override;
  Actions NotifyInvalidSpi(uint32_t spi) override;
  void NoteTraffic(absl::Time when) override;
  void NoteOutbound(absl::Time when) override;
  bool DpdCheckDue(absl::Time now) const override;
  absl::Time NextDeadline() const override;

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

  std::optional<Prf> prf_;
  std::optional<DhExchange> dh_;
  std::string nonce_i_, nonce_r_;
  std::string cookie_;
  int init_attempts_ = 0;
  std::string init_request_, init_response_;  // RealMessage1 / RealMessage2 for AUTH
  SecretBytes sk_d_, sk_pi_, sk_pr_;
  std::optional<SkCipher> send_, recv_;
  std::vector<uint16_t> peer_hashes_;  // SIGNATURE_HASH_ALGORITHMS (RFC 7427)
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

  absl::Time created_;
  absl::Time last_heard_, next_keepalive_ = absl::InfiniteFuture();
  absl::Time ike_rekey_at_ = absl::InfiniteFuture();  // soft lifetime
  absl::Time last_outbound_ = absl::InfinitePast();   // ESP sent (on-demand DPD)
  absl::Time next_dpd_check_ = absl::InfinitePast();  // on-demand: quiet, nothing sent
  absl::Time rekeyed_at_;                             // when we became kRekeyed
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_IKE_SA_H_
