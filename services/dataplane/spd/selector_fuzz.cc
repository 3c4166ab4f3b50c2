// Fuzz target: traffic selectors as API clients send them (any bytes decoded
// as a TrafficSelector). Compiling never crashes, and a compiled selector
// matches the addresses at the bottom of its own prefixes.
#include <cstdint>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"
#include "services/dataplane/spd/classifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  vpnfleet::common::v1::TrafficSelector sel;
  if (!sel.ParseFromArray(data, static_cast<int>(size))) return 0;
  auto compiled = vpnfleet::dataplane::CompileSelector(sel);
  if (!compiled.ok()) return 0;
  vpnfleet::dataplane::FlowKey flow;
  flow.v6 = compiled->v6;
  flow.src = compiled->src;
  flow.dst = compiled->dst;
  flow.protocol = compiled->protocol;
  flow.src_port = compiled->src_port_lo;
  flow.dst_port = compiled->dst_port_lo;
  if (!compiled->Matches(flow)) std::abort();
  return 0;
}
