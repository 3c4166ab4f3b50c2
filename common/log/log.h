// Structured logging for every vpnfleet process, on top of spdlog.
//
// A log line is an event name plus key/value fields. In JSON mode each line is
// one object ({"ts":..,"level":..,"service":..,"msg":..,"key":"value"}); in
// text mode it is `ts level service: msg key=value`. Callers never pass
// secrets as fields: there is no escape hatch that prints key material.
#ifndef VPNFLEET_COMMON_LOG_LOG_H_
#define VPNFLEET_COMMON_LOG_LOG_H_

#include "absl/strings/string_view.h"
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace vpnfleet::log {

enum class Format { kText, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

// One key/value pair of a structured log line.
struct Field {
  Field(absl::string_view k, absl::string_view v) : key(k), value(v) {}
  Field(absl::string_view k, const char* v) : key(k), value(v) {}
  Field(absl::string_view k, const std::string& v) : key(k), value(v) {}
  Field(absl::string_view k, int64_t v) : key(k), value(std::to_string(v)) {}
  Field(absl::string_view k, uint64_t v) : key(k), value(std::to_string(v)) {}
  Field(absl::string_view k, int v) : key(k), value(std::to_string(v)) {}
  Field(absl::string_view k, unsigned v) : key(k), value(std::to_string(v)) {}
  Field(absl::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  absl::string_view key;
  std::string value;
};

// Sets up the process-wide logger writing to stderr. Safe to call again (the
// last call wins); before the first call, logging goes to stderr as text.
void Init(absl::string_view service, Format format, Level level);

absl::Status ParseFormat(absl::string_view text, Format* out);
absl::Status ParseLevel(absl::string_view text, Level* out);

void Write(Level level, absl::string_view msg,
           std::initializer_list<Field> fields = {});

// Whether a line of `level` would be written: for callers that would
// otherwise build a debug line's text for nothing.
bool Enabled(Level level);

inline void Debug(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, msg, f);
}
inline void Info(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}

// Formats the message part of a line (everything after the prefix that
// spdlog adds). Exposed for tests.
std::string FormatBody(Format format, absl::string_view msg,
                       std::initializer_list<Field> fields);

// JSON string escaping (RFC 8259 §7), without the surrounding quotes.
std::string JsonEscape(absl::string_view in);

}  // namespace vpnfleet::log

#endif  // VPNFLEET_COMMON_LOG_LOG_H_
