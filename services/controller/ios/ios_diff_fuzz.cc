// Fuzz target: any two texts as a router's running configuration and a
// configlet through IosDiffCommands. It may not crash, and no command may
// hold a line break (the pusher types each as one line: a break inside
// would type a second command nobody asked for).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "services/controller/ios/ios_diff.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut = in.find('\0');
  const absl::string_view running = in.substr(0, cut);
  const absl::string_view desired = cut == absl::string_view::npos ? in : in.substr(cut + 1);
  for (const std::string& c : vpnfleet::controller::ios::IosDiffCommands(running, desired)) {
    if (c.find('\n') != std::string::npos) __builtin_trap();
  }
  for (const auto& item : vpnfleet::controller::ios::ReadIosItems(running)) {
    if (item.line.empty() || item.line.find('\n') != std::string::npos) __builtin_trap();
  }
  return 0;
}
