// Fuzz target: any text through the IOS reader, and whatever it reads
// through the writer and back. The reader must not crash; its skipped
// ranges are in order, within the text and apart from the diagnosed lines;
// what it accepted without errors must write and read back to the same
// policy.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>

#include "absl/strings/string_view.h"

#include "google/protobuf/util/message_differencer.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/ios/ios_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpnfleet::controller::ios;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult first = ParseIosConfig(text, "fuzz");
  const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  std::set<uint32_t> diagnosed;
  for (const auto& d : first.diagnostics) diagnosed.insert(d.line());
  uint32_t after = 0;
  for (const auto& s : first.skipped) {
    if (s.first_line <= after || s.last_line < s.first_line || s.last_line > lines || s.reason.empty()) {
      __builtin_trap();
    }
    auto d = diagnosed.lower_bound(s.first_line);
    if (d != diagnosed.end() && *d <= s.last_line) __builtin_trap();
    after = s.last_line;
  }
  if (!first.ok()) return 0;
  const std::string written = WriteIosConfig(first.config, WriteOptions{true});
  ParseResult second = ParseIosConfig(written);
  if (!second.ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(first.config, second.config)) {
    __builtin_trap();
  }
  return 0;
}
