// Optional configuration files for daemons and the CLI.
//
// A configuration file sets flags: one `name = value` per line, `#` starts a
// comment, values may be double-quoted. `--config=FILE` on the command line
// names it; flags given on the command line override the file (the file's
// settings are placed before the command line, and the last setting wins).
#ifndef VPNFLEET_COMMON_CONFIG_CONFIG_FILE_H_
#define VPNFLEET_COMMON_CONFIG_CONFIG_FILE_H_

#include "absl/strings/string_view.h"
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace vpnfleet::config {

// Parses configuration text into `--name=value` arguments. Errors name the
// line: "line 3: expected 'name = value'".
absl::StatusOr<std::vector<std::string>> ParseConfigText(absl::string_view text);

absl::StatusOr<std::vector<std::string>> ReadConfigFile(const std::string& path);

// Returns argv with the settings of the file named by --config (if any)
// inserted after argv[0]. The returned strings own their storage.
absl::StatusOr<std::vector<std::string>> ExpandArgs(int argc, char** argv);

}  // namespace vpnfleet::config

#endif  // VPNFLEET_COMMON_CONFIG_CONFIG_FILE_H_
