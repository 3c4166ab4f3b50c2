// IKEv1 proposals: `crypto isakmp policy` as phase-1 transforms (RFC 2409
// Appendix A attributes) and transform sets as Quick Mode proposals (IPsec
// DOI attributes, RFC 2407 §4.5), chosen by a responder in our priority
// order and checked by an initiator. Negotiated suites are reported in
// IKEv2's transform IDs (IkeSuite, ChildSuite), which the dataplane and the
// status code already speak.
#ifndef VPNFLEET_SERVICES_IKE_SA_IKEV1_PROPOSALS_H_
#define VPNFLEET_SERVICES_IKE_SA_IKEV1_PROPOSALS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ike/codec/ikev2_message.h"
#include "services/ike/codec/isakmp_message.h"
#include "services/ike/sa/proposals.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike::ikev1 {

// Phase-1 attribute types (RFC 2409 Appendix A).
inline constexpr uint16_t kAttrEncryption = 1;
inline constexpr uint16_t kAttrHash = 2;
inline constexpr uint16_t kAttrAuthMethod = 3;
inline constexpr uint16_t kAttrGroup = 4;
inline constexpr uint16_t kAttrLifeType = 11;
inline constexpr uint16_t kAttrLifeDuration = 12;
inline constexpr uint16_t kAttrKeyLength = 14;
inline constexpr uint16_t kLifeSeconds = 1;
inline constexpr uint16_t kLifeKilobytes = 2;
inline constexpr uint8_t kKeyIke = 1;  // the phase-1 transform ID

// Authentication method values (RFC 2409 Appendix A, RFC 4754).
inline constexpr uint16_t kAuthPsk = 1;
inline constexpr uint16_t kAuthRsaSig = 3;
inline constexpr uint16_t kAuthRsaEncr = 4;
inline constexpr uint16_t kAuthEcdsa256 = 9;
inline constexpr uint16_t kAuthEcdsa384 = 10;
inline constexpr uint16_t kAuthEcdsa521 = 11;
const char* AuthMethodName(uint16_t method);
inline bool IsEcdsaMethod(uint16_t m) { return m >= kAuthEcdsa256 && m <= kAuthEcdsa521; }
inline bool IsSignatureMethod(uint16_t m) { return m == kAuthRsaSig || IsEcdsaMethod(m); }
// The signature method a key signs with: rsa-sig for RSA, RFC 4754's
// method of the curve for ECDSA (`ec_bits` 0 means RSA).
uint16_t SignatureMethodFor(int ec_bits);

// IPsec DOI SA attributes (RFC 2407 §4.5) and their values.
inline constexpr uint16_t kAttrSaLifeType = 1;
inline constexpr uint16_t kAttrSaLifeDuration = 2;
inline constexpr uint16_t kAttrGroupDescription = 3;
inline constexpr uint16_t kAttrEncapsulation = 4;
inline constexpr uint16_t kAttrAuthAlgorithm = 5;
inline constexpr uint16_t kAttrSaKeyLength = 6;
inline constexpr uint16_t kEncapTunnel = 1;
inline constexpr uint16_t kEncapTransport = 2;
inline constexpr uint16_t kEncapUdpTunnel = 3;      // RFC 3947
inline constexpr uint16_t kEncapUdpTransport = 4;
inline constexpr uint16_t kEncapUdpTunnelDraft = 61443;  // draft-ietf-ipsec-nat-t-ike
inline constexpr uint16_t kEncapUdpTransportDraft = 61444;

// One IKEv1 `crypto isakmp policy`, in attribute values.
struct Phase1Policy {
  uint32_t priority = 0;
  uint16_t encr = 7, key_bits = 256, hash = 4, auth = kAuthRsaSig, group = 14;
  uint32_t lifetime_seconds = 86400;
};
// Unset fields take modern defaults (AES-256, SHA-256, group 14, rsa-sig,
// 86,400 s); errors for what IKEv1 cannot carry (AEAD, ChaCha20).
absl::StatusOr<Phase1Policy> Phase1PolicyOf(const vpnfleet::ike::v1::IsakmpPolicy& policy);

// What phase 1 negotiated.
struct Phase1Suite {
  uint16_t encr = 0, key_bits = 0, hash = 0, auth = 0, group = 0;
  uint64_t lifetime_seconds = 86400;
};
// In IKEv2 IDs for status and metrics (AES-CBC 12, PRF from the hash...).
IkeSuite ToIkeSuite(const Phase1Suite& s);

// The initiator's SA: one proposal holding one KEY_IKE transform per
// policy in priority order (how IOS and strongSwan offer).
isakmp::SaPayload Phase1Offer(const std::vector<Phase1Policy>& policies);

// The responder's pick: our policies in priority order against every
// offered transform; the reply SA echoes the chosen transform as offered.
// The lifetime is the shorter of the two (IOS refuses an offer longer
// than its own; strongSwan's 3 h default is shorter than IOS's 24 h).
struct Phase1Choice {
  isakmp::SaPayload reply;
  Phase1Suite suite;
};
std::optional<Phase1Choice> ChoosePhase1(const isakmp::SaPayload& offered,
                                         const std::vector<Phase1Policy>& ours,
                                         bool allow_legacy);
// The initiator's check: one proposal, one transform, matching one we offered.
absl::StatusOr<Phase1Suite> CheckPhase1Reply(const isakmp::SaPayload& reply,
                                             const std::vector<Phase1Policy>& ours);

// A Quick Mode offer from a crypto map entry's ESP proposals (IKEv2 form:
// transform sets with the PFS group): one ISAKMP proposal per transform
// set, numbered in order, each with our SPI, the encapsulation mode (UDP-
// encapsulated behind NAT) and lifetimes in seconds and kilobytes.
struct QuickLifetimes {
  uint64_t seconds = 3600, kilobytes = 4608000;
};
absl::StatusOr<isakmp::SaPayload> QuickOffer(const std::vector<v2::Proposal>& proposals,
                                             uint32_t spi, bool transport, bool udp_encap,
                                             const QuickLifetimes& lifetimes);

struct QuickChoice {
  size_t ours = 0;                // index into our proposals
  isakmp::SaPayload reply;        // the chosen proposal and transform, our SPI in it
  ChildSuite suite;               // in IKEv2 IDs
  uint32_t peer_spi = 0;
  bool transport = false;
  QuickLifetimes lifetimes;       // the shorter of offered and ours
  bool lifetime_shortened = false;  // ours was shorter: send RESPONDER-LIFETIME
};
// The responder's pick among `ours` (preference order) for one crypto map
// line; nullopt when nothing matches (encryption, integrity, PFS group and
// mode all have to).
std::optional<QuickChoice> ChooseQuick(const isakmp::SaPayload& offered,
                                       const std::vector<v2::Proposal>& ours, uint32_t our_spi,
                                       bool transport, const QuickLifetimes& our_lifetimes);
// The initiator's check of the answer against what it offered.
absl::StatusOr<QuickChoice> CheckQuickReply(const isakmp::SaPayload& reply,
                                            const std::vector<v2::Proposal>& ours,
                                            bool transport);

}  // namespace vpnfleet::ike::ikev1

#endif  // VPNFLEET_SERVICES_IKE_SA_IKEV1_PROPOSALS_H_
