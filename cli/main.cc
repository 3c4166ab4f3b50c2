// vpnfleet: the command line of the fleet, speaking to every service over
// gRPC. Text output reads like IOS; `-o json` gives JSON for scripts.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "cli/status_command.h"
#include "common/config/config_file.h"

ABSL_FLAG(std::string, config, "", "Configuration file of 'name = value' lines.");
ABSL_FLAG(std::string, output, "text", "Output format: text or json (also -o json).");
ABSL_FLAG(std::string, controller, "", "Controller address (default $VPNFLEET_CONTROLLER or unix:/run/vpnfleet/controller.sock).");
ABSL_FLAG(std::string, pki, "", "PKI service address (default $VPNFLEET_PKI or unix:/run/vpnfleet/pki.sock).");
ABSL_FLAG(std::string, ike, "", "IKE service address (default $VPNFLEET_IKE or unix:/run/vpnfleet/ike.sock).");
ABSL_FLAG(std::string, dataplane, "", "Dataplane address (default $VPNFLEET_DATAPLANE or unix:/run/vpnfleet/dataplane.sock).");
ABSL_FLAG(int, timeout_ms, 3000, "Deadline of each RPC in milliseconds.");

namespace {

constexpr char kUsage[] = R"(vpnfleet: command line of the vpnfleet IPsec fleet.

Usage: vpnfleet [flags] COMMAND

Commands:
  status [SERVICE...]   health and APIs of the services (controller, pki, ike,
                        dataplane); exits 1 unless every one is SERVING

Flags:
  -o, --output text|json      output format
  --controller/--pki/--ike/--dataplane ADDRESS
                              where the services listen: host:port or unix:PATH
  --timeout_ms N              deadline of each RPC
  --config FILE               settings as 'name = value' lines)";

std::string Target(const std::string& flag, const char* env, const std::string& name) {
  if (!flag.empty()) return flag;
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
  return absl::StrCat("unix:/run/vpnfleet/", name, ".sock");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  // `-o json` is what kubectl users type; absl spells it --output=json.
  std::vector<std::string> raw;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-o" || a == "--o") && i + 1 < argc) {
      raw.push_back(absl::StrCat("--output=", argv[++i]));
    } else if (a.rfind("-o=", 0) == 0) {
      raw.push_back(absl::StrCat("--output=", a.substr(3)));
    } else {
      raw.push_back(a);
    }
  }
  std::vector<char*> raw_ptrs;
  for (auto& a : raw) raw_ptrs.push_back(a.data());
  auto expanded = vpnfleet::config::ExpandArgs(static_cast<int>(raw_ptrs.size()), raw_ptrs.data());
  if (!expanded.ok()) {
    std::cerr << "vpnfleet: " << expanded.status().message() << "\n";
    return 2;
  }
  std::vector<char*> args;
  for (auto& a : *expanded) args.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());

  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "text" && output != "json") {
    std::cerr << "vpnfleet: --output must be text or json\n";
    return 2;
  }
  if (rest.size() < 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = rest[1];
  const auto timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms));

  if (command == "status") {
    std::vector<vpnfleet::cli::ServiceTarget> all = {
        {"controller", "vpnfleet.controller.v1.ControllerService",
         Target(absl::GetFlag(FLAGS_controller), "VPNFLEET_CONTROLLER", "controller")},
        {"pki", "vpnfleet.pki.v1.PkiService",
         Target(absl::GetFlag(FLAGS_pki), "VPNFLEET_PKI", "pki")},
        {"ike", "vpnfleet.ike.v1.IkeService",
         Target(absl::GetFlag(FLAGS_ike), "VPNFLEET_IKE", "ike")},
        {"dataplane", "vpnfleet.dataplane.v1.DataplaneService",
         Target(absl::GetFlag(FLAGS_dataplane), "VPNFLEET_DATAPLANE", "dataplane")},
    };
    std::vector<vpnfleet::cli::ServiceTarget> chosen;
    for (size_t i = 2; i < rest.size(); ++i) {
      bool found = false;
      for (const auto& t : all) {
        if (t.name == rest[i]) {
          chosen.push_back(t);
          found = true;
        }
      }
      if (!found) {
        std::cerr << "vpnfleet status: unknown service '" << rest[i]
                  << "' (controller, pki, ike, dataplane)\n";
        return 2;
      }
    }
    if (chosen.empty()) chosen = all;
    return vpnfleet::cli::RunStatus(chosen, output == "json", timeout, std::cout);
  }
  std::cerr << "vpnfleet: unknown command '" << command << "'\n\n" << kUsage << "\n";
  return 2;
}
