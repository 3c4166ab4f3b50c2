// `vpnfleet status`: is every service up, and what does it serve?
#ifndef VPNFLEET_CLI_STATUS_COMMAND_H_
#define VPNFLEET_CLI_STATUS_COMMAND_H_

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace vpnfleet::cli {

struct ServiceTarget {
  std::string name;          // "ike"
  std::string api;           // "vpnfleet.ike.v1.IkeService"
  std::string target;        // where to dial
};

struct ServiceReport {
  ServiceTarget service;
  std::string health;        // SERVING, NOT_SERVING, ... or UNREACHABLE
  std::string error;         // why, when not SERVING
  double latency_ms = 0;
  std::vector<std::string> apis;  // from reflection
};

ServiceReport ProbeService(const ServiceTarget& target, std::chrono::milliseconds timeout);

void PrintStatusText(const std::vector<ServiceReport>& reports, std::ostream& out);
void PrintStatusJson(const std::vector<ServiceReport>& reports, std::ostream& out);

// 0 when every service is SERVING, 1 otherwise.
int RunStatus(const std::vector<ServiceTarget>& targets, bool json,
              std::chrono::milliseconds timeout, std::ostream& out);

}  // namespace vpnfleet::cli

#endif  // VPNFLEET_CLI_STATUS_COMMAND_H_
