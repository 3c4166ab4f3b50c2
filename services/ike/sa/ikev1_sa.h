// One IKEv1 SA (RFC 2409): the IkeSession of version 1, a sans-I/O state
// machine like IkeSa. Phase 1 in Main Mode (six messages) or Aggressive
// Mode (three) with pre-shared keys, signatures (RSA and ECDSA
// certificates, RFC 2409 §5.1 and RFC 4754) or RSA-encrypted nonces
// (§5.2, IOS `rsa-encr`), NAT traversal (RFC 3947: detection in
// phase 1, floating to port 4500, UDP-encapsulated ESP) and DPD (RFC 3706);
// then any number of Quick Mode exchanges, each one CHILD SA pair with its
// own message ID and IV, with PFS; Informational exchanges for Delete,
// INITIAL-CONTACT and R-U-THERE.
//
// The files, one concern each: ikev1_sa.cc (what the exchanges share: the
// phase-1 cipher and its IV chain, retransmission, dispatch, timers),
// ikev1_phase1.cc (Main and Aggressive Mode), ikev1_nat.cc (their NAT-T
// and DPD vendor IDs and NAT detection), ikev1_auth.cc (their
// pre-shared key, signature or encrypted-nonce authentication), ikev1_quick.cc (Quick
// Mode), ikev1_info.cc (Informational exchanges).
//
// IKEv1 has no message-ID window and no request/response flag: a
// retransmission is recognised by its octets, and answered with our last
// message again. Only the side that sent last retransmits on its timer.
#ifndef VPNFLEET_SERVICES_IKE_SA_IKEV1_SA_H_
#define VPNFLEET_SERVICES_IKE_SA_IKEV1_SA_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/random/rng.h"
#include "services/ike/codec/isakmp_message.h"
#include "services/ike/crypto/ikev1_cipher.h"
#include "services/ike/keymat/dh.h"
#include "services/ike/keymat/ikev1_keys.h"
#include "services/ike/sa/ike_session.h"
#include "services/ike/sa/ikev1_proposals.h"

namespace vpnfleet::ike {

// The states `show crypto isakmp sa` prints for IKEv1.
enum class Ikev1State {
  kMmNoState,   // Main Mode: first message sent or received
  kMmSaSetup,   // proposal agreed
  kMmKeyExch,   // Diffie-Hellman done, keys derived
  kMmKeyAuth,   // our identity and hash sent, waiting for the peer's
  kAgNoState,   // Aggressive Mode: first message sent
  kAgInitExch,  // responder: second message sent
  kQmIdle,      // phase 1 up: Quick Modes may run
  kDeleted,
};
const char* Ikev1StateName(Ikev1State s);

// RFC 2408 §3.14.1 / RFC 2407 §4.6.3 / RFC 3706 notify types we use.
inline constexpr uint16_t kV1InvalidPayloadType = 1;
inline constexpr uint16_t kV1InvalidSpi = 11;
inline constexpr uint16_t kV1NoProposalChosen = 14;
inline constexpr uint16_t kV1PayloadMalformed = 16;
inline constexpr uint16_t kV1InvalidIdInformation = 18;
inline constexpr uint16_t kV1AuthenticationFailed = 24;
inline constexpr uint16_t kV1Connected = 16384;
inline constexpr uint16_t kV1ResponderLifetime = 24576;
inline constexpr uint16_t kV1InitialContact = 24578;
inline constexpr uint16_t kV1RUThere = 36136;
inline constexpr uint16_t kV1RUThereAck = 36137;

class Ikev1Sa final : public IkeSession {
 public:
  struct Env {
    const Clock* clock = nullptr;
    Rng* rng = nullptr;
  };

  // `child` of an initiator that only sets up phase 1 (a new ISAKMP SA
  // that is to take over an old one's pairs).
  static constexpr size_t kPhase1Only = static_cast<size_t>(-1);

  // An initiator for policy->children[child]; Aggressive Mode when
  // `aggressive` (then the first IKEv1 policy's method and group are the
  // ones offered, as the first message carries the key exchange).
  static std::unique_ptr<Ikev1Sa> NewInitiator(Env env, std::shared_ptr<const SaPolicy> policy,
                                               Endpoint local, Endpoint remote, size_t child,
                                               Flow flow, bool aggressive = false);
  // A responder for a first phase-1 message (responder cookie zero).
  static std::unique_ptr<Ikev1Sa> NewResponder(Env env, std::shared_ptr<const SaPolicy> policy,
                                               Endpoint local, Endpoint remote);

  // IkeSession (see ike_session.h for what each does).
  uint8_t version() const override { return 1; }
  const char* StateName() const override { return Ikev1StateName(v1state_); }
  Actions Start() override;
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
  // IKEv1 has no rekey of the ISAKMP SA: a new phase 1 replaces it
  // (started by the manager); this one lives until its lifetime ends.
  Actions RekeyIke() override { return {}; }
  Actions NotifyInvalidSpi(uint32_t spi) override;
  void NoteTraffic(absl::Time when) override;
  void NoteOutbound(absl::Time when) override;
  bool DpdCheckDue(absl::Time now) const override;
  absl::Time NextDeadline() const override;

  // Phase 1 is not re-keyed in IKEv1: a new ISAKMP SA with the same peer
  // takes the pairs over (as strongSwan adopts them on a reauthentication),
  // and the old one is deleted alone. What moves: the pairs, the replaced
  // ones still in their grace time, and rekeys not yet started.
  struct Handover {
    std::vector<ChildSa> children;
    std::vector<std::pair<uint32_t, absl::Time>> retiring;  // spi_in, delete at
    std::vector<uint32_t> rekeys;                           // spi_in of pairs to re-key
  };
  Handover ReleaseChildren();
  Actions AdoptChildren(Handover h);

  Ikev1State v1state() const { return v1state_; }
  bool aggressive() const { return aggressive_; }

 private:
  Ikev1Sa(Env env, std::shared_ptr<const SaPolicy> policy, bool initiator, Endpoint local,
          Endpoint remote);

  // What we sent last in an exchange, for retransmission.
  struct Retransmit {
    std::string datagram;
    int tries = 0;
    absl::Time next_send = absl::InfiniteFuture();  // Infinite: only on a duplicate
  };
  // One Quick Mode exchange, keyed by its message ID.
  struct Quick {
    bool we_initiated = false;
    int stage = 0;  // messages of it seen so far (1, 2, 3)
    std::string iv;
    size_t child_policy = 0;
    Flow flow;
    uint32_t spi_in = 0;
    uint32_t rekey_spi_in = 0;  // 0: a new pair
    std::string ni, nr;
    std::optional<DhExchange> dh;
    std::string peer_ke;
    isakmp::SaPayload offer;
    std::vector<isakmp::Payload> ids;  // IDci, IDcr as sent (or empty)
    TsList local_ts, remote_ts;
    std::optional<ChildSa> pending;  // responder: installed on HASH(3); initiator: on CONNECTED
    // The commit bit is in play (RFC 2408 §3.1, set by either side): the
    // responder sends HASH(4) N(CONNECTED) after message 3, and the
    // initiator installs the pair only then (as racoon does; we never set
    // it first, like strongSwan, Libreswan and IOS).
    bool commit = false;
    std::vector<uint32_t> known_pairs;  // responder: our pairs (spi_in) when message 1 came
    std::string last_received;       // a duplicate of it is answered with `sent`
    Retransmit sent;
    absl::Time started;
  };
  // A CHILD SA asked for while phase 1 is not up yet.
  struct Waiting {
    size_t child_policy = 0;
    Flow flow;
    uint32_t rekey_spi_in = 0;
  };

  // --- shared plumbing (ikev1_sa.cc) ---
  void SetV1State(Ikev1State s, Actions& out);
  void Fail(const std::string& reason, Actions& out, std::string detail = "");
  // Everything goes, the peer is not told (Abandon, Fail, after Close's Deletes).
  void Forget(const std::string& reason, Actions& out);
  void SendRaw(std::string datagram, Actions& out);
  isakmp::Header HeaderFor(uint8_t exchange, uint32_t message_id) const;
  // A phase-1 message encrypted under the chained IV (which moves on).
  absl::StatusOr<std::string> SealPhase1(uint8_t exchange,
                                         const std::vector<isakmp::Payload>& payloads);
  absl::StatusOr<std::string> Plain(uint8_t exchange,
                                    const std::vector<isakmp::Payload>& payloads) const;
  // A phase-2 message (Quick Mode, Informational) under `iv`, which becomes
  // the message's last cipher block.
  absl::StatusOr<std::string> SealWith(uint8_t exchange, uint32_t message_id, std::string* iv,
                                       const std::vector<isakmp::Payload>& payloads,
                                       bool commit = false) const;
  absl::StatusOr<std::vector<isakmp::Payload>> OpenWith(const isakmp::Framed& f,
                                                        std::string* iv) const;
  void Remember(std::string datagram, bool retransmit_on_timer, Actions& out);
  absl::Duration RetryAfter(int tries) const;
  std::string Nonce();
  uint32_t NewChildSpi();
  uint32_t NewMessageId();
  std::string Cookies() const;  // CKY-I | CKY-R
  std::string CookieI() const;
  std::string CookieR() const;
  void InstallChildSa(ChildSa child, uint32_t replaces, Actions& out);
  // After a rekey: the replaced pair goes in `grace` (see retiring_).
  void Retire(uint32_t spi_in, absl::Duration grace);
  ChildSa* FindChildByIn(uint32_t spi_in);
  bool IsRetiring(uint32_t spi_in) const;
  // Whether a newer pair (installed after it) holds the same ACL line and
  // proxies: what rekeys that crossed leave (both sides' new pairs stay).
  // Such a pair is retired instead of re-keyed when its rekey is due, so
  // duplicates die out rather than being re-keyed for ever.
  bool Superseded(const ChildSa& c) const;
  void DeleteAllChildren(const std::string& reason, Actions& out);

  // --- phase 1 (ikev1_phase1.cc) ---
  Actions StartMain();
  Actions StartAggressive();
  void ReceivePhase1(const isakmp::Framed& f, absl::string_view datagram, Actions& out);
  void MainMessage(int n, const std::vector<isakmp::Payload>& p, Actions& out);
  void AggressiveMessage(int n, const std::vector<isakmp::Payload>& p, Actions& out);
  // Our next phase-1 message (Main or Aggressive Mode, encrypted or not),
  // remembered for repeats and timers; false (and the SA failed) when it
  // cannot be built. NewDh: our key pair for the agreed group.
  bool SendPhase1(const std::vector<isakmp::Payload>& payloads, bool encrypt, bool on_timer,
                  Actions& out);
  bool NewDh(Actions& out);
  // Our vendor IDs (NAT-T RFC 3947, DPD) and what the peer's say.
  void AppendVendorIds(std::vector<isakmp::Payload>& p) const;
  void ReadVendorIds(const std::vector<isakmp::Payload>& p);
  std::vector<isakmp::Payload> NatDetection() const;
  void CheckNat(const std::vector<isakmp::Payload>& p);
  absl::Status TakePeerKeyExchange(const std::vector<isakmp::Payload>& p);
  absl::Status DeriveKeys();
  absl::Status TakeSuite(const ikev1::Phase1Suite& suite);
  void EstablishPhase1(bool initial_contact, Actions& out);

  // --- phase-1 authentication (ikev1_auth.cc) ---
  std::optional<SecretBytes> FindPsk(const v2::IdPayload* peer_id) const;
  std::string OurHash(const std::string& id_body) const;
  // Whether the agreed method signs (rsa-sig, ecdsa-sig), or encrypts the
  // IDs and nonces with the RSA keys (rsa-encr); neither: a pre-shared key.
  bool Signs() const;
  bool EncryptsNonces() const;
  // rsa-encr: the peer's public key from `crypto key pubkey-chain rsa`, by
  // its identity (an address ID by address, FQDN and user@FQDN by name),
  // or with no identity by the peer's address.
  std::shared_ptr<const auth::RsaPublicKey> FindPeerRsaKey(const v2::IdPayload* id) const;
  // rsa-encr: our ID and `nonce`, their bodies encrypted to the peer's key
  // (found by its address when we initiate); false: the SA failed.
  bool AppendEncryptedIdAndNonce(const std::string& nonce, std::vector<isakmp::Payload>& p,
                                 Actions& out);
  // rsa-encr: the peer's ID and nonce decrypted with our key (and, as
  // responder, its public key found by that ID). A nonce that does not
  // decrypt is replaced by a random one, so that the exchange fails at the
  // HASH exactly as with a wrong key: nothing on the wire tells an
  // attacker whether the padding was right (Bleichenbacher).
  absl::Status TakeEncryptedIdAndNonce(const std::vector<isakmp::Payload>& p);
  // The pre-shared key for this peer (by address, or by `peer_id` when
  // known); nothing to find when the method signs. False: the SA failed.
  bool TakePsk(const v2::IdPayload* peer_id, Actions& out);
  // The peer's HASH, or its certificate, identity and SIG (p has the ID
  // unless it came earlier). UNAVAILABLE with pending_ocsp_ set: the
  // certificate's OCSP status must be fetched first.
  absl::Status CheckPeerAuth(const std::vector<isakmp::Payload>& p);
  absl::Status CheckPeerSignature(const std::vector<isakmp::Payload>& p,
                                  const std::string& id_body);
  // On an unknown OCSP status: message n waits (the manager fetches the
  // answer, then RevocationAnswered runs it again). True when parked.
  bool Park(const absl::Status& s, int n, const std::vector<isakmp::Payload>& p, Actions& out);
  // Our ID and HASH, or ID, CERTs and SIG (empty when signing failed: the
  // SA has failed).
  std::vector<isakmp::Payload> OurIdAndAuth(bool initial_contact, Actions& out);
  // HASH, or CERTs and SIG, over `id_body` (our ID as sent).
  bool AppendOurAuth(const std::string& id_body, std::vector<isakmp::Payload>& p, Actions& out);
  // CR payloads naming our trust anchors, when `method` signs.
  void AppendCertRequests(uint16_t method, std::vector<isakmp::Payload>& p) const;

  // --- Quick Mode (ikev1_quick.cc) ---
  void StartQuick(const Waiting& w, Actions& out);
  void ReceiveQuick(const isakmp::Framed& f, absl::string_view datagram, Actions& out);
  void QuickRequest(uint32_t mid, Quick& q, const std::vector<isakmp::Payload>& p,
                    absl::string_view after_hash, Actions& out);
  void QuickResponse(uint32_t mid, Quick& q, const std::vector<isakmp::Payload>& p,
                     absl::string_view after_hash, Actions& out);
  void QuickDone(uint32_t mid, Quick& q, const std::vector<isakmp::Payload>& p, Actions& out);
  // Initiator: the pair of a Quick Mode whose message 2 came (a rekey
  // retires the pair it replaces).
  void InstallInitiated(Quick& q, ChildSa child, Actions& out);
  // Responder, commit bit: HASH(4) N(CONNECTED) for the installed pair.
  void SendConnected(uint32_t mid, Quick& q, uint32_t spi_in, Actions& out);
  absl::StatusOr<ChildSa> MakeChild(const Quick& q, const ChildPolicy& cp, size_t proposal,
                                    const ChildSuite& suite, uint32_t spi_out,
                                    const ikev1::QuickLifetimes& lifetimes);
  void PumpWaiting(Actions& out);

  // --- Informational (ikev1_info.cc) ---
  void ReceiveInformational(const isakmp::Framed& f, Actions& out);
  void SendInformational(const std::vector<isakmp::Payload>& payloads, Actions& out);
  void SendDeleteChild(uint32_t spi_in, Actions& out);
  // The peer deleted (or no longer knows) the pair we send to on `spi_out`.
  void DropChildByOut(uint32_t spi_out, const std::string& reason, Actions& out);
  void SendDpd(Actions& out);

  Env env_;
  Ikev1State v1state_ = Ikev1State::kMmNoState;
  bool aggressive_ = false;
  Flow first_flow_;

  // Phase 1.
  std::optional<ikev1::Phase1Suite> p1_;
  std::optional<ikev1::Hash> hash_;
  std::optional<ikev1::Cipher> cipher_;
  std::optional<DhExchange> dh_;
  std::string gxi_, gxr_, ni_, nr_;
  std::string sai_b_;  // the initiator's SA payload body, as it was sent
  std::string id_i_b_, id_r_b_;
  SecretBytes psk_;    // Main Mode: found by the peer's address before IDs are known
  std::shared_ptr<const auth::RsaPublicKey> peer_rsa_key_;  // rsa-encr
  bool peer_nonce_unreadable_ = false;  // rsa-encr: said when the HASH then fails
  // Certificate authentication waiting for an OCSP answer: the message
  // number and its payloads, run again by RevocationAnswered.
  struct Parked {
    int n = 0;
    std::vector<isakmp::Payload> payloads;
    absl::Time deadline;  // then judged without the answer (kRevocationWait)
  };
  std::optional<Parked> parked_;
  std::optional<auth::OcspQuery> pending_ocsp_;
  bool revocation_asked_ = false;
  SecretBytes skeyid_, skeyid_d_, skeyid_a_, enc_key_;
  std::string iv_;           // the phase-1 CBC chain
  std::string p1_last_block_;  // phase 2's IVs derive from it
  bool peer_nat_t_ = false, peer_dpd_ = false;
  bool initial_contact_ = true;  // false for a successor (kPhase1Only)
  std::string last_received_;  // the peer's last phase-1 message
  Retransmit last_sent_;       // our last phase-1 message

  // Phase 2 and after.
  std::map<uint32_t, Quick> quick_;
  std::vector<Waiting> waiting_;
  struct Dpd {
    uint32_t sequence = 0;
    int tries = 0;
    absl::Time next_send;
  };
  std::optional<Dpd> dpd_;
  uint32_t dpd_sequence_ = 0;
  // Pairs a Quick Mode rekey replaced: kept (inbound packets still in
  // flight on them) until the peer deletes them or `at`, when we do.
  struct Retiring {
    uint32_t spi_in = 0;
    absl::Time at;
  };
  std::vector<Retiring> retiring_;

  absl::Time created_;
  // When a new phase 1 is asked for (action::Reestablish): the original
  // initiator at 85-90% of the lifetime, the responder at 95% (in case
  // the peer, IOS for one, does not do it).
  absl::Time reestablish_at_ = absl::InfiniteFuture();
  absl::Time last_heard_, next_keepalive_ = absl::InfiniteFuture();
  absl::Time last_outbound_ = absl::InfinitePast();
  absl::Time next_dpd_check_ = absl::InfinitePast();
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_IKEV1_SA_H_
