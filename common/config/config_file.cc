#include "absl/strings/string_view.h"
#include "common/config/config_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vpnfleet::config {
namespace {

bool IsFlagName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseConfigText(absl::string_view text) {
  std::vector<std::string> args;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": expected 'name = value'"));
    }
    absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, eq));
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(eq + 1));
    if (!IsFlagName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_no, ": '", name, "' is not a setting name"));
    }
    if (!value.empty() && value[0] == '"') {
      size_t close = value.find('"', 1);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_no, ": unterminated quoted value"));
      }
      absl::string_view rest = absl::StripAsciiWhitespace(value.substr(close + 1));
      if (!rest.empty() && rest[0] != '#') {
        return absl::InvalidArgumentError(absl::StrCat(
            "line ", line_no, ": unexpected text after the quoted value"));
      }
      value = value.substr(1, close - 1);
    } else {
      size_t hash = value.find('#');
      if (hash != absl::string_view::npos) {
        value = absl::StripAsciiWhitespace(value.substr(0, hash));
      }
    }
    if (name == "config") {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": a config file cannot name another"));
    }
    args.push_back(absl::StrCat("--", name, "=", value));
  }
  return args;
}

absl::StatusOr<std::vector<std::string>> ReadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read config file ", path));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto args = ParseConfigText(buffer.str());
  if (!args.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", args.status().message()));
  }
  return args;
}

absl::StatusOr<std::vector<std::string>> ExpandArgs(int argc, char** argv) {
  std::vector<std::string> out;
  if (argc > 0) out.emplace_back(argv[0]);
  std::string path;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, "--config=")) {
      path = std::string(arg.substr(9));
    } else if ((arg == "--config" || arg == "-config") && i + 1 < argc) {
      path = argv[i + 1];
    }
  }
  if (!path.empty()) {
    auto file_args = ReadConfigFile(path);
    if (!file_args.ok()) return file_args.status();
    out.insert(out.end(), file_args->begin(), file_args->end());
  }
  for (int i = 1; i < argc; ++i) out.emplace_back(argv[i]);
  return out;
}

}  // namespace vpnfleet::config
