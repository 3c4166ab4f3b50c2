// `vpnfleet call METHOD [JSON]`: any RPC of any vpnfleet API by name, the
// request as proto3 JSON (default: empty), each response printed as JSON — what
// grpcurl does, with the CLI's own TLS identity and targets. The service's
// package picks the target (--controller, --pki, --ike, --dataplane).
#ifndef VPNFLEET_CLI_CALL_COMMAND_H_
#define VPNFLEET_CLI_CALL_COMMAND_H_

#include <chrono>
#include <map>
#include <ostream>
#include <string>

namespace vpnfleet::cli {

struct CallOptions {
  std::string method;        // "vpnfleet.ike.v1.IkeService/GetConfig" (a leading '/' is fine)
  std::string request_json;  // empty: an empty request
  std::map<std::string, std::string> targets;  // "ike" -> "unix:/run/vpnfleet/ike.sock"
  std::chrono::milliseconds timeout{3000};
  bool json = false;  // errors as {"code": ..., "message": ...}
};

// 0 on OK, 1 when the call failed (the status code's name is printed), 2 on
// bad usage (unknown method, a request that is not the method's JSON).
int RunCall(const CallOptions& o, std::ostream& out, std::ostream& err);

}  // namespace vpnfleet::cli

#endif  // VPNFLEET_CLI_CALL_COMMAND_H_
