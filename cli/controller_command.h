// The controller's commands of the `vpnfleet` CLI: inventory (device,
// template, data), import ios, validate, rollout plan/apply/status/rollback,
// device enroll (a SCEP ticket from the controller, then enrollment from this
// machine), and the device views of `show crypto isakmp|ipsec sa --device`.
#ifndef VPNFLEET_CLI_CONTROLLER_COMMAND_H_
#define VPNFLEET_CLI_CONTROLLER_COMMAND_H_

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "cli/pki_command.h"

namespace vpnfleet::cli {

struct ControllerCliOptions {
  bool json = false;
  std::string controller_target;
  std::chrono::milliseconds timeout{3000};
  // device add
  std::string kind = "vpnfleet", wan, endpoint, site, role;
  std::vector<std::string> prefixes, labels;
  // template add
  std::string file, topology, auth, hub_role, template_output = "policy";
  std::vector<std::string> pairs, vars, required, summary;
  // data set / template render
  std::string template_name, device, base_file;
  bool prepend = false;
  // rollout
  int canary = 1, batch = 10, max_unavailable = 0, health_timeout = 60;
  bool auto_rollback = true, watch = false;
  uint64_t expected_revision = 0;
  // device enroll
  std::string pki_dir;
  PkiCliOptions pki;  // key type, polling
};

int RunController(const std::vector<std::string>& args, const ControllerCliOptions& o, std::ostream& out,
                  std::ostream& err);

// `show crypto isakmp sa --device X` / `show crypto ipsec sa --device X`.
int ShowDevice(const std::string& what, const ControllerCliOptions& o, std::ostream& out, std::ostream& err);

// One progress line: [#####-----]  5/10  message.
std::string ProgressBar(uint32_t done, uint32_t total, const std::string& message);

}  // namespace vpnfleet::cli

#endif  // VPNFLEET_CLI_CONTROLLER_COMMAND_H_
