#include "common/store/versioned_table.h"

#include "gtest/gtest.h"

namespace vpnfleet::store {
namespace {

TEST(VersionedTable, PutGetListDeleteAndRevisions) {
  VersionedTable<std::string> t("device");
  EXPECT_EQ(*t.Put("b", "2", false), 1u);
  EXPECT_EQ(*t.Put("a", "1", false), 2u);
  EXPECT_EQ(t.Put("a", "x", /*create_only=*/true).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(t.revision(), 2u);  // a failed change is no revision
  EXPECT_EQ(*t.Get("a"), "1");
  EXPECT_EQ(t.List(), (std::vector<std::string>{"1", "2"}));  // key order
  EXPECT_EQ(t.List([](const std::string& v) { return v == "2"; }),
            (std::vector<std::string>{"2"}));
  EXPECT_EQ(*t.Delete("a"), 3u);
  EXPECT_EQ(t.Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(t.Delete("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(t.size(), 1u);
}

TEST(VersionedTable, ModifyIsAllOrNothing) {
  VersionedTable<std::string> t("sa");
  ASSERT_TRUE(t.Put("k", "old", false).ok());
  auto failed = t.Modify("k", [](std::string& v) {
    v = "half-done";
    return absl::InvalidArgumentError("no");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(*t.Get("k"), "old");
  ASSERT_TRUE(t.Modify("k", [](std::string& v) {
                 v = "new";
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(*t.Get("k"), "new");
  EXPECT_EQ(t.Modify("missing", [](std::string&) { return absl::OkStatus(); }).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(VersionedTable, EraseHookSeesEveryReleasedRecord) {
  std::vector<std::string> erased;
  {
    VersionedTable<std::string> t("sa", [&](std::string& v) { erased.push_back(v); });
    ASSERT_TRUE(t.Put("a", "first", false).ok());
    ASSERT_TRUE(t.Put("a", "second", false).ok());   // replaces "first"
    ASSERT_TRUE(t.Put("b", "third", false).ok());
    ASSERT_TRUE(t.Delete("b").ok());                 // deletes "third"
  }                                                  // destroys "second"
  EXPECT_EQ(erased, (std::vector<std::string>{"first", "third", "second"}));
}

}  // namespace
}  // namespace vpnfleet::store
