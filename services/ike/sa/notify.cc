#include "services/ike/sa/notify.h"

namespace vpnfleet::ike {

namespace notify {
const char* Name(uint16_t type) {
  switch (type) {
    case kUnsupportedCriticalPayload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case kInvalidIkeSpi: return "INVALID_IKE_SPI";
    case kInvalidMajorVersion: return "INVALID_MAJOR_VERSION";
    case kInvalidSyntax: return "INVALID_SYNTAX";
    case kInvalidMessageId: return "INVALID_MESSAGE_ID";
    case kInvalidSpi: return "INVALID_SPI";
    case kNoProposalChosen: return "NO_PROPOSAL_CHOSEN";
    case kInvalidKePayload: return "INVALID_KE_PAYLOAD";
    case kAuthenticationFailed: return "AUTHENTICATION_FAILED";
    case kSinglePairRequired: return "SINGLE_PAIR_REQUIRED";
    case kNoAdditionalSas: return "NO_ADDITIONAL_SAS";
    case kInternalAddressFailure: return "INTERNAL_ADDRESS_FAILURE";
    case kFailedCpRequired: return "FAILED_CP_REQUIRED";
    case kTsUnacceptable: return "TS_UNACCEPTABLE";
    case kInvalidSelectors: return "INVALID_SELECTORS";
    case kTemporaryFailure: return "TEMPORARY_FAILURE";
    case kChildSaNotFound: return "CHILD_SA_NOT_FOUND";
    case kIkev2FragmentationSupported: return "IKEV2_FRAGMENTATION_SUPPORTED";
    default: return "ERROR";
  }
}
}  // namespace notify
}  // namespace vpnfleet::ike
