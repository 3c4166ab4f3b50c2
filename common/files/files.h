// Whole files in and out. Writes are atomic (temporary file, fsync,
// rename) with an exact mode, so a crash leaves the old file or the new one
// and a key file is never readable by others, not even for a moment.
#ifndef VPNFLEET_COMMON_FILES_FILES_H_
#define VPNFLEET_COMMON_FILES_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vpnfleet::files {

// `mode` exactly (0600 for keys), whatever the umask.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view data, int mode = 0644);
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace vpnfleet::files

#endif  // VPNFLEET_COMMON_FILES_FILES_H_
