// Where a test finds files checked in next to its code. CMake's tests get
// VPNFLEET_SOURCE_DIR (the source root); Bazel runs tests from the runfiles
// root, where the same relative path holds the files named in `data`.
#ifndef VPNFLEET_COMMON_TESTING_TESTDATA_H_
#define VPNFLEET_COMMON_TESTING_TESTDATA_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace vpnfleet::testing {

inline std::string TestDataPath(const std::string& relative) {
  const char* root = std::getenv("VPNFLEET_SOURCE_DIR");
  return root != nullptr && *root != '\0' ? std::string(root) + "/" + relative : relative;
}

// The file's contents, or "" if it cannot be read (the test then fails on
// what it expected to find).
inline std::string ReadTestData(const std::string& relative) {
  std::ifstream in(TestDataPath(relative), std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vpnfleet::testing

#endif  // VPNFLEET_COMMON_TESTING_TESTDATA_H_
