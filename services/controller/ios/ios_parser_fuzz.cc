// Fuzz target: any text through the IOS reader, and whatever it reads
// through the writer and back. The reader must not crash; what it accepted
// without errors must write and read back to the same policy.
#include <cstddef>
#include <cstdint>
#include "absl/strings/string_view.h"

#include "google/protobuf/util/message_differencer.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/ios/ios_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vpnfleet::controller::ios;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult first = ParseIosConfig(text, "fuzz");
  if (!first.ok()) return 0;
  const std::string written = WriteIosConfig(first.config, WriteOptions{true});
  ParseResult second = ParseIosConfig(written);
  if (!second.ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(first.config, second.config)) {
    __builtin_trap();
  }
  return 0;
}
