#include "common/server/daemon.h"

#include "common/files/files.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/config/config_file.h"
#include "common/log/log.h"

ABSL_FLAG(std::string, config, "",
          "Configuration file of 'name = value' lines (flags override it).");
ABSL_FLAG(std::string, grpc_listen, "",
          "TCP address for gRPC, host:port (port 0 = any free port). "
          "Default 127.0.0.1:<service port>; 'none' disables TCP.");
ABSL_FLAG(std::string, grpc_socket, "",
          "Unix-domain socket for gRPC. Default /run/vpnfleet/<service>.sock; "
          "'none' disables it.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port of the Prometheus /metrics endpoint. "
          "Default 127.0.0.1:<metrics port>; 'none' disables it.");
ABSL_FLAG(std::string, log_format, "text", "Log line format: text or json.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error.");
ABSL_FLAG(std::string, ready_file, "",
          "When set, a JSON file written once serving: pid and bound ports.");
ABSL_FLAG(int, shutdown_grace_seconds, 5,
          "How long in-flight RPCs may run on after SIGTERM.");

namespace vpnfleet::server {
namespace {

std::string Resolve(const std::string& flag, const std::string& fallback) {
  if (flag == "none") return "";
  return flag.empty() ? fallback : flag;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}


int RunDaemon(int argc, char** argv, const DaemonSpec& spec, SetupFn setup) {
  // Before any thread exists, so that every thread inherits the mask.
  BlockTerminationSignals();
  const std::string program = absl::StrCat("vpnfleet-", spec.name);
  absl::SetProgramUsageMessage(
      absl::StrCat(program, ": the vpnfleet ", spec.name, " service.\n",
                   "Usage: ", program, " [--config=FILE] [--flag=value ...]"));

  auto expanded = config::ExpandArgs(argc, argv);
  if (!expanded.ok()) {
    fprintf(stderr, "%s: %s\n", program.c_str(),
            std::string(expanded.status().message()).c_str());
    return 2;
  }
  std::vector<char*> args;
  for (auto& a : *expanded) args.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (rest.size() > 1) {
    fprintf(stderr, "%s: unexpected argument '%s'\n", program.c_str(), rest[1]);
    return 2;
  }

  log::Format format;
  log::Level level;
  if (auto st = log::ParseFormat(absl::GetFlag(FLAGS_log_format), &format); !st.ok()) {
    fprintf(stderr, "%s: %s\n", program.c_str(), std::string(st.message()).c_str());
    return 2;
  }
  if (auto st = log::ParseLevel(absl::GetFlag(FLAGS_log_level), &level); !st.ok()) {
    fprintf(stderr, "%s: %s\n", program.c_str(), std::string(st.message()).c_str());
    return 2;
  }
  log::Init(spec.name, format, level);

  HostOptions options;
  options.name = spec.name;
  options.grpc_listen = Resolve(absl::GetFlag(FLAGS_grpc_listen),
                                absl::StrCat("127.0.0.1:", spec.default_grpc_port));
  options.grpc_socket = Resolve(absl::GetFlag(FLAGS_grpc_socket),
                                absl::StrCat("/run/vpnfleet/", spec.name, ".sock"));
  options.metrics_listen = Resolve(absl::GetFlag(FLAGS_metrics_listen),
                                   absl::StrCat("127.0.0.1:", spec.default_metrics_port));
  options.shutdown_grace =
      std::chrono::seconds(std::max(0, absl::GetFlag(FLAGS_shutdown_grace_seconds)));

  ServiceHost host(options);
  DaemonContext ctx{&host, {}};
  if (auto st = setup(ctx); !st.ok()) {
    log::Error("setup failed", {{"error", st.ToString()}});
    return 1;
  }
  if (auto st = host.Start(); !st.ok()) {
    log::Error("cannot start", {{"error", st.ToString()}});
    return 1;
  }
  const std::string ready_file = absl::GetFlag(FLAGS_ready_file);
  if (!ready_file.empty()) {
    std::string json = absl::StrCat(
        "{\"service\":\"", spec.name, "\",\"pid\":", getpid(),
        ",\"grpc_port\":", host.grpc_port(), ",\"grpc_socket\":\"",
        log::JsonEscape(options.grpc_socket), "\",\"metrics_port\":",
        host.metrics_port(), "}\n");
    if (auto st = files::WriteFileAtomically(ready_file, json); !st.ok()) {
      log::Error("cannot write ready file", {{"error", st.ToString()}});
      host.Shutdown();
      return 1;
    }
  }
  int sig = WaitForTerminationSignal();
  log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  host.Shutdown();
  if (!ready_file.empty()) std::remove(ready_file.c_str());
  return 0;
}

}  // namespace vpnfleet::server
