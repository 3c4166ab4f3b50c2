// Notify Message Types (RFC 7296 §3.10.1 and later RFCs) the IKE SA uses.
// Types below 16384 are errors; the rest carry status.
#ifndef VPNFLEET_SERVICES_IKE_SA_NOTIFY_H_
#define VPNFLEET_SERVICES_IKE_SA_NOTIFY_H_

#include <cstdint>

namespace vpnfleet::ike::notify {

inline constexpr uint16_t kUnsupportedCriticalPayload = 1;
inline constexpr uint16_t kInvalidIkeSpi = 4;
inline constexpr uint16_t kInvalidMajorVersion = 5;
inline constexpr uint16_t kInvalidSyntax = 7;
inline constexpr uint16_t kInvalidMessageId = 9;
inline constexpr uint16_t kInvalidSpi = 11;
inline constexpr uint16_t kNoProposalChosen = 14;
inline constexpr uint16_t kInvalidKePayload = 17;
inline constexpr uint16_t kAuthenticationFailed = 24;
inline constexpr uint16_t kSinglePairRequired = 34;
inline constexpr uint16_t kNoAdditionalSas = 35;
inline constexpr uint16_t kInternalAddressFailure = 36;
inline constexpr uint16_t kFailedCpRequired = 37;
inline constexpr uint16_t kTsUnacceptable = 38;
inline constexpr uint16_t kInvalidSelectors = 39;
inline constexpr uint16_t kTemporaryFailure = 43;
inline constexpr uint16_t kChildSaNotFound = 44;

inline constexpr uint16_t kInitialContact = 16384;
inline constexpr uint16_t kNatDetectionSourceIp = 16388;
inline constexpr uint16_t kNatDetectionDestinationIp = 16389;
inline constexpr uint16_t kCookie = 16390;
inline constexpr uint16_t kUseTransportMode = 16391;
inline constexpr uint16_t kRekeySa = 16393;
inline constexpr uint16_t kEspTfcPaddingNotSupported = 16394;
inline constexpr uint16_t kNonFirstFragmentsAlso = 16395;
inline constexpr uint16_t kIkev2FragmentationSupported = 16430;  // RFC 7383
inline constexpr uint16_t kSignatureHashAlgorithms = 16431;  // RFC 7427

inline bool IsError(uint16_t type) { return type < 16384; }
const char* Name(uint16_t type);

}  // namespace vpnfleet::ike::notify

#endif  // VPNFLEET_SERVICES_IKE_SA_NOTIFY_H_
