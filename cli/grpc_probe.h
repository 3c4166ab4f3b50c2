// What the CLI asks any vpnfleet service: its health (grpc.health.v1) and the
// APIs it serves (server reflection, like `grpcurl list`).
#ifndef VPNFLEET_CLI_GRPC_PROBE_H_
#define VPNFLEET_CLI_GRPC_PROBE_H_

#include <chrono>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/security/tls.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"

namespace vpnfleet::cli {

// How the CLI reaches services on TCP (mutual TLS from --tls_cert/--tls_key/
// --tls_ca or $VPNFLEET_TLS_*, or --insecure). Set once from main; the files
// are checked then, so that an expired or foreign certificate is named
// before any call fails for it.
void SetClientSecurity(const security::ClientSecurity& security);

// "unix:/run/vpnfleet/ike.sock" or "host:port". A TCP target without TLS
// files (and without --insecure) ends the CLI with exit code 2 and says why.
std::shared_ptr<grpc::Channel> Dial(const std::string& target);

// After a call to `target` failed: when it was UNAVAILABLE over TLS, one
// handshake of our own says why in words (another CA, another identity, our
// certificate refused); prints "  (WHY)" to `err`.
void ExplainFailure(const grpc::Status& status, const std::string& target, std::ostream& err);

// A message as `-o json` prints it: proto field names, indented.
std::string Json(const google::protobuf::Message& m);

// "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" or "UNKNOWN".
absl::StatusOr<std::string> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& service,
                                        std::chrono::milliseconds timeout);

absl::StatusOr<std::vector<std::string>> ListServices(
    const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout);

}  // namespace vpnfleet::cli

#endif  // VPNFLEET_CLI_GRPC_PROBE_H_
