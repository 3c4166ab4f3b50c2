// SA proposals (RFC 7296 §3.3): built from the configuration's ISAKMP
// policies and transform sets, chosen by a responder, checked by an
// initiator, and named back in the API's vocabulary for `show` commands.
#ifndef VPNFLEET_SERVICES_IKE_SA_PROPOSALS_H_
#define VPNFLEET_SERVICES_IKE_SA_PROPOSALS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ike/codec/ikev2_message.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

// Protocol IDs of proposals (§3.3.1).
inline constexpr uint8_t kProtocolIke = 1;
inline constexpr uint8_t kProtocolAh = 2;
inline constexpr uint8_t kProtocolEsp = 3;

// Transform types (§3.3.2).
inline constexpr uint8_t kTransformEncr = 1;
inline constexpr uint8_t kTransformPrf = 2;
inline constexpr uint8_t kTransformInteg = 3;
inline constexpr uint8_t kTransformDh = 4;
inline constexpr uint8_t kTransformEsn = 5;

// What an IKE SA negotiated.
struct IkeSuite {
  uint16_t encr = 0, key_bits = 0, integ = 0, prf = 0, dh = 0;
};

// What a CHILD SA negotiated; dh is the PFS group (0: none).
struct ChildSuite {
  uint8_t protocol = kProtocolEsp;
  uint16_t encr = 0, key_bits = 0, integ = 0, dh = 0;
  bool esn = false;
};

// `crypto isakmp policy N` as one IKEv2 proposal (number 1, no SPI).
absl::StatusOr<v2::Proposal> IkeProposalOf(const vpnfleet::ike::v1::IsakmpPolicy& policy);
// A transform set (ESP only) as one proposal, offering no-ESN and ESN, with
// the PFS group as a DH transform when `pfs_group` is not 0.
absl::StatusOr<v2::Proposal> EspProposalOf(const vpnfleet::ike::v1::TransformSet& set,
                                           uint16_t pfs_group);

// Numbers proposals 1..n and sets every SPI to `spi`.
std::vector<v2::Proposal> Numbered(std::vector<v2::Proposal> proposals, const std::string& spi);

// The responder's choice: the first of `ours` (our preference, as IOS tries
// policies by priority) that some offered proposal of the same protocol
// covers, one transform of each type. The result carries the offer's
// number and SPI. With `ignore_dh`, DH transforms are left out of both sides
// (the CHILD SA of IKE_AUTH, §1.2). `prefer_group` picks that DH group when
// both sides allow it (the group of the KE payload already sent).
std::optional<v2::Proposal> ChooseProposal(const std::vector<v2::Proposal>& offered,
                                           const std::vector<v2::Proposal>& ours, bool ignore_dh,
                                           uint16_t prefer_group = 0);

// The initiator's check of the answer: exactly one proposal, one transform
// per type, and all of them from one of the proposals we sent.
absl::Status CheckChosen(const v2::Proposal& chosen, const std::vector<v2::Proposal>& sent,
                         bool ignore_dh);

absl::StatusOr<IkeSuite> IkeSuiteOf(const v2::Proposal& chosen);
absl::StatusOr<ChildSuite> ChildSuiteOf(const v2::Proposal& chosen);

// Whether `group` appears as a DH transform in any of `proposals`.
bool OffersGroup(const std::vector<v2::Proposal>& proposals, uint16_t group);

// IKEv2 IDs → the API's enums (UNSPECIFIED when there is no match).
vpnfleet::common::v1::EncryptionAlgorithm EncryptionOf(uint16_t encr, uint16_t key_bits);
vpnfleet::common::v1::IntegrityAlgorithm IntegrityOf(uint16_t integ);
vpnfleet::common::v1::PrfAlgorithm PrfOf(uint16_t prf);

// ESP key material sizes for a suite: (encryption key with salt, integrity key).
std::pair<size_t, size_t> EspKeySizes(const ChildSuite& suite);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_PROPOSALS_H_
