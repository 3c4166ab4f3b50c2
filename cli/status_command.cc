#include "cli/status_command.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/grpc_probe.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace vpnfleet::cli {

ServiceReport ProbeService(const ServiceTarget& target, std::chrono::milliseconds timeout) {
  ServiceReport r{target, "UNREACHABLE", "", 0, {}};
  auto channel = Dial(target.target);
  auto start = std::chrono::steady_clock::now();
  auto health = CheckHealth(channel, target.api, timeout);
  r.latency_ms = std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start).count();
  if (!health.ok()) {
    r.error = std::string(health.status().message());
    return r;
  }
  r.health = *health;
  auto apis = ListServices(channel, timeout);
  if (apis.ok()) {
    r.apis = *apis;
  } else {
    r.error = absl::StrCat("reflection: ", apis.status().message());
  }
  return r;
}

void PrintStatusText(const std::vector<ServiceReport>& reports, std::ostream& out) {
  int target_width = 6;
  for (const auto& r : reports) {
    target_width = std::max(target_width, static_cast<int>(r.service.target.size()));
  }
  char line[1024];
  std::snprintf(line, sizeof line, "%-11s %-*s %-15s %9s  %s\n", "Service", target_width,
                "Target", "Health", "Latency", "APIs");
  out << line;
  for (const auto& r : reports) {
    std::vector<std::string> own;
    for (const auto& api : r.apis) {
      if (api.rfind("vpnfleet.", 0) == 0) own.push_back(api);
    }
    std::string detail = r.error.empty() ? absl::StrJoin(own, ",") : r.error;
    std::snprintf(line, sizeof line, "%-11s %-*s %-15s %7.1fms  %s\n", r.service.name.c_str(),
                  target_width, r.service.target.c_str(), r.health.c_str(), r.latency_ms,
                  detail.c_str());
    out << line;
  }
}

void PrintStatusJson(const std::vector<ServiceReport>& reports, std::ostream& out) {
  google::protobuf::Struct root;
  auto* list = (*root.mutable_fields())["services"].mutable_list_value();
  bool all = true;
  for (const auto& r : reports) {
    google::protobuf::Struct s;
    auto& f = *s.mutable_fields();
    f["name"].set_string_value(r.service.name);
    f["api"].set_string_value(r.service.api);
    f["target"].set_string_value(r.service.target);
    f["health"].set_string_value(r.health);
    f["serving"].set_bool_value(r.health == "SERVING");
    f["latency_ms"].set_number_value(r.latency_ms);
    if (!r.error.empty()) f["error"].set_string_value(r.error);
    auto* apis = f["apis"].mutable_list_value();
    for (const auto& a : r.apis) apis->add_values()->set_string_value(a);
    *list->add_values()->mutable_struct_value() = std::move(s);
    all = all && r.health == "SERVING";
  }
  (*root.mutable_fields())["all_serving"].set_bool_value(all);
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(root, &json, options);
  out << json;
  if (json.empty() || json.back() != '\n') out << '\n';
}

int RunStatus(const std::vector<ServiceTarget>& targets, bool json,
              std::chrono::milliseconds timeout, std::ostream& out) {
  std::vector<ServiceReport> reports;
  bool all = true;
  for (const auto& t : targets) {
    reports.push_back(ProbeService(t, timeout));
    all = all && reports.back().health == "SERVING";
  }
  if (json) {
    PrintStatusJson(reports, out);
  } else {
    PrintStatusText(reports, out);
  }
  return all ? 0 : 1;
}

}  // namespace vpnfleet::cli
