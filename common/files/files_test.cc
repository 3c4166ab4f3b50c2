#include "common/files/files.h"

#include <sys/stat.h>

#include <cstdlib>

#include "gtest/gtest.h"

namespace vpnfleet::files {
namespace {

TEST(Files, WriteIsAtomicWithTheExactModeAndReadsBack) {
  char dir[] = "/tmp/files_testXXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/key.pem";
  const mode_t old = umask(0);  // a wide umask must not widen the file either way
  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600).ok());
  umask(old);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadFile(path), "secret");
  ASSERT_TRUE(WriteFileAtomically(path, "replaced").ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(*ReadFile(path), "replaced");
  EXPECT_EQ(ReadFile(std::string(dir) + "/missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(WriteFileAtomically("/nonexistent-dir/x", "y").ok());
}

}  // namespace
}  // namespace vpnfleet::files
