#include "common/random/rng.h"

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace vpnfleet {
namespace {

TEST(SystemRngTest, SmallDrawsAcrossPoolRefillsNeverRepeat) {
  // 8-octet draws: 300 of them cross the 256-octet pool nine times.
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) seen.insert(SystemRng::Get()->Bytes(8));
  EXPECT_EQ(seen.size(), 300u);
  // Sizes that do not divide the pool, and a large draw beside them.
  std::set<std::string> odd;
  for (int i = 0; i < 100; ++i) odd.insert(SystemRng::Get()->Bytes(7 + i % 13));
  EXPECT_EQ(odd.size(), 100u);
  EXPECT_NE(SystemRng::Get()->Bytes(1000), SystemRng::Get()->Bytes(1000));
}

TEST(SystemRngTest, AForkedChildDoesNotDrawWhatTheParentDraws) {
  SystemRng::Get()->Bytes(4);  // the pool now holds unused octets
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string child = SystemRng::Get()->Bytes(16);
    (void)!write(fds[1], child.data(), child.size());
    _exit(0);
  }
  const std::string parent = SystemRng::Get()->Bytes(16);
  std::string child(16, '\0');
  ASSERT_EQ(read(fds[0], child.data(), child.size()), 16);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_NE(parent, child);
}

}  // namespace
}  // namespace vpnfleet
