#include "common/config/config_file.h"

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vpnfleet::config {
namespace {

using ::testing::ElementsAre;

TEST(ParseConfigText, NameValueLinesWithCommentsAndQuotes) {
  auto args = ParseConfigText(
      "# daemon settings\n"
      "grpc_listen = 0.0.0.0:7403\n"
      "\n"
      "log_format=json   # trailing comment\n"
      "ready_file = \"/tmp/with # hash\"\n");
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_THAT(*args, ElementsAre("--grpc_listen=0.0.0.0:7403", "--log_format=json",
                                 "--ready_file=/tmp/with # hash"));
}

TEST(ParseConfigText, ErrorsNameTheLine) {
  auto missing = ParseConfigText("log_format = json\nthis is wrong\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("line 2"));
  EXPECT_FALSE(ParseConfigText("bad name = 1\n").ok());
  EXPECT_FALSE(ParseConfigText("x = \"open\n").ok());
  EXPECT_FALSE(ParseConfigText("config = other.conf\n").ok());
}

TEST(ExpandArgs, FileSettingsComeBeforeTheCommandLine) {
  std::string path = ::testing::TempDir() + "/expand.conf";
  {
    std::ofstream out(path);
    out << "log_level = debug\ngrpc_listen = 127.0.0.1:1\n";
  }
  std::string a0 = "prog", a1 = "--config=" + path, a2 = "--grpc_listen=127.0.0.1:2";
  char* argv[] = {a0.data(), a1.data(), a2.data()};
  auto args = ExpandArgs(3, argv);
  ASSERT_TRUE(args.ok()) << args.status();
  // The last --grpc_listen wins in absl, so the command line overrides the file.
  EXPECT_THAT(*args, ElementsAre("prog", "--log_level=debug", "--grpc_listen=127.0.0.1:1",
                                 a1, "--grpc_listen=127.0.0.1:2"));
  std::remove(path.c_str());
}

TEST(ExpandArgs, MissingFileIsAnError) {
  std::string a0 = "prog", a1 = "--config", a2 = "/nonexistent/vpnfleet.conf";
  char* argv[] = {a0.data(), a1.data(), a2.data()};
  EXPECT_EQ(ExpandArgs(3, argv).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vpnfleet::config
