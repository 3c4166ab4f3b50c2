// The one place where absl::Status becomes grpc::Status (the server edge).
#ifndef VPNFLEET_COMMON_STATUS_GRPC_STATUS_H_
#define VPNFLEET_COMMON_STATUS_GRPC_STATUS_H_

#include "absl/strings/string_view.h"
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace vpnfleet {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// The answer of an RPC whose capability has not been built yet: always
// UNIMPLEMENTED, naming what is missing, never made-up data.
grpc::Status NotYetImplemented(absl::string_view what);

}  // namespace vpnfleet

#endif  // VPNFLEET_COMMON_STATUS_GRPC_STATUS_H_
