#include "absl/strings/string_view.h"
#include "common/log/log.h"

#include <atomic>
#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace vpnfleet::log {
namespace {

struct State {
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<Format> format{Format::kText};
  std::atomic<Level> level{Level::kInfo};  // the logger's, for Enabled without the lock
};

State& GetState() {
  static State* state = new State();  // never destroyed: usable at exit
  return *state;
}

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDebug: return spdlog::level::debug;
    case Level::kInfo: return spdlog::level::info;
    case Level::kWarn: return spdlog::level::warn;
    case Level::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> MakeLogger(absl::string_view service,
                                           Format format, Level level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(std::string(service), sink);
  // Timestamps in UTC, RFC 3339 with microseconds.
  if (format == Format::kJson) {
    logger->set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","service":"%n",%v})",
        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %n: %v",
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(ToSpd(level));
  logger->flush_on(spdlog::level::info);
  return logger;
}

bool NeedsQuoting(absl::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20)
      return true;
  }
  return false;
}

}  // namespace

std::string JsonEscape(absl::string_view in) {
  std::string out;
  out.reserve(in.size() + 2);
  for (char c : in) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string FormatBody(Format format, absl::string_view msg,
                       std::initializer_list<Field> fields) {
  std::string out;
  if (format == Format::kJson) {
    absl::StrAppend(&out, "\"msg\":\"", JsonEscape(msg), "\"");
    for (const Field& f : fields) {
      absl::StrAppend(&out, ",\"", JsonEscape(f.key), "\":\"",
                      JsonEscape(f.value), "\"");
    }
    return out;
  }
  out.append(msg.data(), msg.size());
  for (const Field& f : fields) {
    absl::StrAppend(&out, " ", f.key, "=");
    if (NeedsQuoting(f.value)) {
      absl::StrAppend(&out, "\"", JsonEscape(f.value), "\"");
    } else {
      out += f.value;
    }
  }
  return out;
}

void Init(absl::string_view service, Format format, Level level) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.logger = MakeLogger(service, format, level);
  s.format.store(format);
  s.level.store(level);
}

bool Enabled(Level level) { return level >= GetState().level.load(); }

absl::Status ParseFormat(absl::string_view text, Format* out) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "json") {
    *out = Format::kJson;
  } else if (t == "text") {
    *out = Format::kText;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("log format must be text or json, not '", text, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseLevel(absl::string_view text, Level* out) {
  std::string t = absl::AsciiStrToLower(text);
  if (t == "debug") {
    *out = Level::kDebug;
  } else if (t == "info") {
    *out = Level::kInfo;
  } else if (t == "warn" || t == "warning") {
    *out = Level::kWarn;
  } else if (t == "error") {
    *out = Level::kError;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "log level must be debug, info, warn or error, not '", text, "'"));
  }
  return absl::OkStatus();
}

void Write(Level level, absl::string_view msg,
           std::initializer_list<Field> fields) {
  State& s = GetState();
  std::shared_ptr<spdlog::logger> logger;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.logger) s.logger = MakeLogger("vpnfleet", Format::kText, Level::kInfo);
    logger = s.logger;
  }
  if (!logger->should_log(ToSpd(level))) return;
  logger->log(ToSpd(level), "{}", FormatBody(s.format.load(), msg, fields));
}

}  // namespace vpnfleet::log
