// Limits on what an API request may hold, checked on every field by
// reflection before a service looks at the request: string and bytes
// lengths, repeated and map sizes, enum values the enum knows (proto3 keeps
// unknown numbers, so `kind: 99` would otherwise be stored), and no NUL in
// a string. The error names the field's path and the limit, never the
// value: an 8,000-character name must not come back in a status message.
#ifndef VPNFLEET_COMMON_API_FIELD_LIMITS_H_
#define VPNFLEET_COMMON_API_FIELD_LIMITS_H_

#include <cstddef>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace vpnfleet::api {

struct FieldLimits {
  size_t max_string_bytes = 1024;  // string and bytes fields
  size_t max_repeated = 100000;    // repeated fields and maps
  // Exceptions by the field's full name ("vpnfleet.controller.v1.Template.body").
  std::map<std::string, size_t> string_bytes;
  std::map<std::string, size_t> repeated;
};

// INVALID_ARGUMENT naming the first field over its limit, OK otherwise.
absl::Status CheckFieldLimits(const google::protobuf::Message& message, const FieldLimits& limits);

}  // namespace vpnfleet::api

#endif  // VPNFLEET_COMMON_API_FIELD_LIMITS_H_
