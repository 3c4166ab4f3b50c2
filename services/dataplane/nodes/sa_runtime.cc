#include "services/dataplane/nodes/sa_runtime.h"

namespace vpnfleet::dataplane {

const char* DropReasonName(DropReason r) {
  switch (r) {
    case DropReason::kNoRoom: return "no_room";
    case DropReason::kSeqExhausted: return "seq_exhausted";
    case DropReason::kCryptoError: return "crypto_error";
    case DropReason::kMalformed: return "malformed";
    case DropReason::kWrongSpi: return "wrong_spi";
    case DropReason::kReplayed: return "replayed";
    case DropReason::kTooOld: return "too_old";
    case DropReason::kIntegrity: return "integrity";
    case DropReason::kBadTrailer: return "bad_trailer";
    case DropReason::kDummy: return "dummy";
    case DropReason::kBadProtocol: return "bad_protocol";
    case DropReason::kCount: break;
  }
  return "unknown";
}

}  // namespace vpnfleet::dataplane
