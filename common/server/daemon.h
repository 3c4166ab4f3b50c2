// The common life of a vpnfleet daemon: flags and config file, logging,
// service host, SIGTERM/SIGINT handling, a ready file for supervisors.
//
//   int main(int argc, char** argv) {
//     return vpnfleet::server::RunDaemon(argc, argv, {"ike", 7403, 9403},
//         [](vpnfleet::server::DaemonContext& ctx) { ...; return OkStatus(); });
//   }
#ifndef VPNFLEET_COMMON_SERVER_DAEMON_H_
#define VPNFLEET_COMMON_SERVER_DAEMON_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/server/service_host.h"

namespace vpnfleet::server {

struct DaemonSpec {
  std::string name;         // short name: "ike", "dataplane", "pki", "controller"
  int default_grpc_port;    // on 127.0.0.1
  int default_metrics_port; // on 127.0.0.1
  // The daemon supplies its own TLS files when none are given (the PKI, which
  // can issue itself a certificate): its TCP listener is on by default.
  bool makes_own_tls = false;
};

// What the setup function of a daemon gets: the host to register services on,
// and a place to keep objects that must live until shutdown.
struct DaemonContext {
  ServiceHost* host;
  std::vector<std::shared_ptr<void>> keep_alive;
};

using SetupFn = std::function<absl::Status(DaemonContext&)>;

// Parses flags (after merging --config), runs `setup`, starts serving and
// blocks until SIGTERM or SIGINT. Returns the process exit code.
int RunDaemon(int argc, char** argv, const DaemonSpec& spec, SetupFn setup);

// Blocks SIGTERM/SIGINT in the calling thread and every thread created after;
// WaitForTerminationSignal then takes them synchronously.
void BlockTerminationSignals();
int WaitForTerminationSignal();


}  // namespace vpnfleet::server

#endif  // VPNFLEET_COMMON_SERVER_DAEMON_H_
