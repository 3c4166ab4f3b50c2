// Fuzz target for the HTTP front's request head parser and query decoder:
// whatever arrives, a head is parsed or refused with a 4xx status, a body
// length is never over the limit, and nothing crashes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/pki/http/http_front.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  vpnfleet::pki::HttpHead head;
  vpnfleet::pki::HttpHeadError error;
  constexpr size_t kMaxBody = 4096;
  if (vpnfleet::pki::ParseHttpHead(input, kMaxBody, &head, &error)) {
    if (head.content_length > kMaxBody || head.path.empty() || head.path[0] != '/') __builtin_trap();
    (void)vpnfleet::pki::QueryValue(head.query, "operation");
    (void)vpnfleet::pki::QueryValue(head.query, "message");
  } else if (error.status < 400 || error.status > 499 || error.why.empty()) {
    __builtin_trap();
  }
  return 0;
}
