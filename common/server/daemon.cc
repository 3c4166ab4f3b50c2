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
#include "common/security/authz_policy.h"
#include "common/security/tls.h"

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
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (then intermediates) the TCP gRPC listener presents; re-read when "
          "it changes. Default $VPNFLEET_TLS_CERT.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert. Default $VPNFLEET_TLS_KEY.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM bundle of the CAs whose client certificates are accepted. Default $VPNFLEET_TLS_CA.");
ABSL_FLAG(std::string, tls_crl, "",
          "PEM CRL of that CA, re-read when it changes; revoked clients are refused. "
          "Default $VPNFLEET_TLS_CRL.");
ABSL_FLAG(bool, tls12, false, "Also accept TLS 1.2 (default: TLS 1.3 only).");
ABSL_FLAG(bool, insecure, false,
          "Serve gRPC on TCP in PLAINTEXT with every caller admin. For labs only; logged.");
ABSL_FLAG(std::string, authz_policy, "",
          "Authorization policy file (identity/allow lines); default: the built-in policy "
          "(README, 'Who may call what').");
ABSL_FLAG(std::vector<std::string>, socket_allow, {},
          "Who besides root and this daemon's user may connect to the Unix socket: "
          "uid:N,gid:N,user:NAME,group:NAME (checked with SO_PEERCRED).");
ABSL_FLAG(std::string, audit_log, "",
          "Append one JSON line per mutating or refused RPC to this file (default: the "
          "service log).");

namespace vpnfleet::server {
namespace {

std::string Resolve(const std::string& flag, const std::string& fallback) {
  if (flag == "none") return "";
  return flag.empty() ? fallback : flag;
}

std::string FlagOrEnv(const std::string& flag, const char* env) {
  if (!flag.empty()) return flag;
  const char* v = getenv(env);
  return v != nullptr ? v : "";
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

  // Before anything touches OpenSSL.
  security::RestrictTlsVersions(absl::GetFlag(FLAGS_tls12));
  security::RouteGrpcLogs();

  HostOptions options;
  options.name = spec.name;
  options.tls.files.cert = FlagOrEnv(absl::GetFlag(FLAGS_tls_cert), "VPNFLEET_TLS_CERT");
  options.tls.files.key = FlagOrEnv(absl::GetFlag(FLAGS_tls_key), "VPNFLEET_TLS_KEY");
  options.tls.files.ca = FlagOrEnv(absl::GetFlag(FLAGS_tls_ca), "VPNFLEET_TLS_CA");
  options.tls.files.crl = FlagOrEnv(absl::GetFlag(FLAGS_tls_crl), "VPNFLEET_TLS_CRL");
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.socket_allow = absl::GetFlag(FLAGS_socket_allow);
  options.audit_log = absl::GetFlag(FLAGS_audit_log);
  if (const std::string path = absl::GetFlag(FLAGS_authz_policy); !path.empty()) {
    auto text = files::ReadFile(path);
    auto policy = text.ok() ? security::AuthzPolicy::Parse(*text) : text.status();
    if (!policy.ok()) {
      fprintf(stderr, "%s: --authz_policy %s: %s\n", program.c_str(), path.c_str(),
              std::string(policy.status().message()).c_str());
      return 2;
    }
    options.policy = *std::move(policy);
  }
  // TCP serves only with TLS (or the operator's explicit --insecure); without
  // either, the default TCP listener stays off and the Unix socket serves.
  const bool tcp_possible = options.insecure || options.tls.files.configured() ||
                            spec.makes_own_tls;
  const std::string listen_flag = absl::GetFlag(FLAGS_grpc_listen);
  if (!tcp_possible && !listen_flag.empty() && listen_flag != "none") {
    fprintf(stderr,
            "%s: --grpc_listen=%s needs mutual TLS (--tls_cert, --tls_key, --tls_ca) or, in a "
            "lab, --insecure\n",
            program.c_str(), listen_flag.c_str());
    return 2;
  }
  options.grpc_listen = Resolve(listen_flag, tcp_possible
                                                 ? absl::StrCat("127.0.0.1:", spec.default_grpc_port)
                                                 : "");
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
