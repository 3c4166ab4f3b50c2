#include "services/controller/model/inventory.h"
#include "services/controller/model/inventory_follower.h"

#include <filesystem>
#include <unistd.h>

#include "gmock/gmock.h"
#include "services/controller/store/sqlite_store.h"
#include "services/controller/store/test_stores.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::controller {
namespace {

using ::testing::HasSubstr;

template <typename T>
T Parse(const std::string& text) {
  T m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

constexpr char kHub[] = R"pb(name: "hub" kind: DEVICE_KIND_VPNFLEET wan_address: "198.51.100.1"
  management_endpoint: "10.255.0.1:7403" site: "dc" role: "hub" labels { key: "region" value: "eu" }
  inner_prefixes { address: "10.1.0.0" length: 24 })pb";
constexpr char kTemplate[] = R"pb(name: "hub-and-spoke" output: TEMPLATE_OUTPUT_POLICY
  body: "crypto map {{map}} ..." variables { name: "map" required: true }
  variables { name: "peer" })pb";

// The inventory's tests run on both stores: SQLite, and a real etcd started
// on loopback (one for the suite, a key prefix per test).
class InventoryTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  static void SetUpTestSuite() { TestStores::StartEtcd(); }
  static void TearDownTestSuite() { TestStores::StopEtcd(); }
  void SetUp() override {
    if (TestStores::Skip(GetParam())) GTEST_SKIP() << "etcd is not installed";
  }

  FakeClock clock_;
  std::unique_ptr<Store> store_ = TestStores::Open(GetParam(), "inventory-test");
  Inventory inv_{&clock_, store_.get()};
};

INSTANTIATE_TEST_SUITE_P(Backends, InventoryTest, StoreBackends(), StoreBackendName);

TEST_P(InventoryTest, DevicesAreValidatedAndVersioned) {
  auto hub = inv_.PutDevice(Parse<v1::Device>(kHub), false);
  ASSERT_TRUE(hub.ok()) << hub.status();
  EXPECT_EQ(hub->revision().number(), 1u);
  EXPECT_EQ(inv_.PutDevice(Parse<v1::Device>(kHub), /*create_only=*/true).status().code(),
            absl::StatusCode::kAlreadyExists);

  v1::Device bad = Parse<v1::Device>(kHub);
  bad.set_name("Hub_1");
  EXPECT_THAT(std::string(inv_.PutDevice(bad, false).status().message()), HasSubstr("name:"));
  bad = Parse<v1::Device>(kHub);
  bad.set_wan_address("wan");
  EXPECT_THAT(std::string(inv_.PutDevice(bad, false).status().message()),
              HasSubstr("device hub: wan_address"));
  bad = Parse<v1::Device>(kHub);
  bad.set_management_endpoint("host-without-port");
  EXPECT_FALSE(inv_.PutDevice(bad, false).ok());
  bad = Parse<v1::Device>(kHub);
  *bad.add_inner_prefixes() = Parse<vpnfleet::common::v1::IpPrefix>(R"pb(address: "10.1.0.128" length: 25)pb");
  EXPECT_THAT(std::string(inv_.PutDevice(bad, false).status().message()), HasSubstr("overlaps"));

  v1::Device twin = Parse<v1::Device>(kHub);
  twin.set_name("spoke1");
  EXPECT_THAT(std::string(inv_.PutDevice(twin, false).status().message()),
              HasSubstr("already the WAN address of hub"));
  EXPECT_EQ(inv_.revision(), 1u);  // rejected changes are no revisions
}

TEST_P(InventoryTest, ListFiltersBySiteRoleAndLabels) {
  ASSERT_TRUE(inv_.PutDevice(Parse<v1::Device>(kHub), false).ok());
  v1::Device spoke = Parse<v1::Device>(R"pb(name: "spoke1" kind: DEVICE_KIND_IOS
      wan_address: "198.51.100.2" role: "spoke" labels { key: "region" value: "us" })pb");
  ASSERT_TRUE(inv_.PutDevice(spoke, false).ok());
  EXPECT_EQ(inv_.ListDevices({}).size(), 2u);
  EXPECT_EQ(inv_.ListDevices(Parse<v1::ListDevicesRequest>(R"pb(role: "spoke")pb")).size(), 1u);
  auto eu = inv_.ListDevices(Parse<v1::ListDevicesRequest>(R"pb(labels { key: "region" value: "eu" })pb"));
  ASSERT_EQ(eu.size(), 1u);
  EXPECT_EQ(eu[0].name(), "hub");
}

TEST_P(InventoryTest, DataSetsMustFitTheirTemplateAndDevice) {
  ASSERT_TRUE(inv_.PutDevice(Parse<v1::Device>(kHub), false).ok());
  ASSERT_TRUE(inv_.PutTemplate(Parse<v1::Template>(kTemplate)).ok());
  auto missing = inv_.PutDataSet(Parse<v1::DataSet>(
      R"pb(name: "hub" template: "hub-and-spoke" device: "hub" values { key: "peer" value: "x" })pb"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("required variable 'map'"));
  auto unknown = inv_.PutDataSet(Parse<v1::DataSet>(
      R"pb(name: "hub" template: "hub-and-spoke" device: "hub" values { key: "map" value: "M" }
           values { key: "colour" value: "red" })pb"));
  EXPECT_THAT(std::string(unknown.status().message()), HasSubstr("declares no variable 'colour'"));
  auto no_device = inv_.PutDataSet(Parse<v1::DataSet>(
      R"pb(name: "x" template: "hub-and-spoke" device: "ghost" values { key: "map" value: "M" })pb"));
  EXPECT_EQ(no_device.status().code(), absl::StatusCode::kFailedPrecondition);
  auto ok = inv_.PutDataSet(Parse<v1::DataSet>(
      R"pb(name: "hub" template: "hub-and-spoke" device: "hub" values { key: "map" value: "M" })pb"));
  ASSERT_TRUE(ok.ok()) << ok.status();

  // Nothing a data set uses can go away under it.
  EXPECT_THAT(std::string(inv_.DeleteDevice("hub").message()), HasSubstr("used by data set(s) hub"));
  EXPECT_THAT(std::string(inv_.DeleteTemplate("hub-and-spoke").message()), HasSubstr("used by"));
  v1::Template narrower = Parse<v1::Template>(kTemplate);
  narrower.mutable_variables()->DeleteSubrange(0, 1);
  EXPECT_THAT(std::string(inv_.PutTemplate(narrower).status().message()),
              HasSubstr("no longer declares"));

  ASSERT_TRUE(inv_.DeleteDataSet("hub").ok());
  EXPECT_TRUE(inv_.DeleteTemplate("hub-and-spoke").ok());
  EXPECT_TRUE(inv_.DeleteDevice("hub").ok());
  EXPECT_EQ(inv_.DeleteDevice("hub").code(), absl::StatusCode::kNotFound);
}

// Who uses a device or a template is kept as data sets come, move and go,
// and is rebuilt by Load; errors name a few users, not all of them.
TEST_P(InventoryTest, DataSetUsersAreIndexed) {
  ASSERT_TRUE(inv_.PutTemplate(Parse<v1::Template>(kTemplate)).ok());
  ASSERT_TRUE(inv_.PutDevice(Parse<v1::Device>(kHub), false).ok());
  v1::Device spoke = Parse<v1::Device>(R"pb(name: "spoke" kind: DEVICE_KIND_IOS wan_address: "198.51.100.2")pb");
  ASSERT_TRUE(inv_.PutDevice(spoke, false).ok());
  for (int i = 0; i < 12; ++i) {
    v1::DataSet ds = Parse<v1::DataSet>(
        R"pb(template: "hub-and-spoke" device: "hub" values { key: "map" value: "M" })pb");
    ds.set_name("ds" + std::to_string(10 + i));
    ASSERT_TRUE(inv_.PutDataSet(ds).ok());
  }
  EXPECT_THAT(std::string(inv_.DeleteDevice("hub").message()),
              HasSubstr("used by data set(s) ds10, ds11, ds12, ds13, ds14, ds15, ds16, ds17, ds18, "
                        "ds19 and 2 more"));
  v1::ListDataSetsRequest by_device;
  by_device.set_device("hub");
  EXPECT_EQ(inv_.ListDataSets(by_device).size(), 12u);
  // Moving every data set to the spoke frees the hub, not the template.
  for (int i = 0; i < 12; ++i) {
    v1::DataSet ds = *inv_.GetDataSet("ds" + std::to_string(10 + i));
    ds.set_device("spoke");
    ASSERT_TRUE(inv_.PutDataSet(ds).ok());
  }
  EXPECT_TRUE(inv_.ListDataSets(by_device).empty());
  by_device.set_device("spoke");
  EXPECT_EQ(inv_.ListDataSets(by_device).size(), 12u);
  by_device.set_template_("other");
  EXPECT_TRUE(inv_.ListDataSets(by_device).empty());
  EXPECT_TRUE(inv_.DeleteDevice("hub").ok());
  EXPECT_FALSE(inv_.DeleteDevice("spoke").ok());
  // A fresh controller on the same store rebuilds the index.
  Inventory again(&clock_, store_.get());
  ASSERT_TRUE(again.Load().ok());
  EXPECT_THAT(std::string(again.DeleteTemplate("hub-and-spoke").message()), HasSubstr("and 2 more"));
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(again.DeleteDataSet("ds" + std::to_string(10 + i)).ok());
  EXPECT_TRUE(again.DeleteTemplate("hub-and-spoke").ok());
  EXPECT_TRUE(again.DeleteDevice("spoke").ok());
}

TEST_P(InventoryTest, TemplatesAreValidated) {
  v1::Template t = Parse<v1::Template>(kTemplate);
  t.clear_body();
  EXPECT_THAT(std::string(inv_.PutTemplate(t).status().message()), HasSubstr("body: is empty"));
  t = Parse<v1::Template>(kTemplate);
  t.add_variables()->set_name("map");
  EXPECT_THAT(std::string(inv_.PutTemplate(t).status().message()), HasSubstr("'map' twice"));
  t = Parse<v1::Template>(kTemplate);
  t.add_variables()->set_name("9lives");
  EXPECT_FALSE(inv_.PutTemplate(t).ok());
}

// Every accepted change is a revision in the store, and a new controller on
// the same database sees exactly what the old one committed.
TEST_P(InventoryTest, AWanAddressIsFreedWhenItsDeviceMovesOrGoes) {
  ASSERT_TRUE(inv_.PutDevice(Parse<v1::Device>(kHub), false).ok());
  v1::Device spoke = Parse<v1::Device>(R"pb(name: "spoke1" kind: DEVICE_KIND_IOS wan_address: "198.51.100.1")pb");
  EXPECT_EQ(inv_.PutDevice(spoke, false).status().code(), absl::StatusCode::kAlreadyExists);
  v1::Device hub = Parse<v1::Device>(kHub);
  hub.set_wan_address("198.51.100.9");  // the hub moves: its old address is free
  ASSERT_TRUE(inv_.PutDevice(hub, false).ok());
  ASSERT_TRUE(inv_.PutDevice(spoke, false).ok());
  hub.set_name("hub2");  // the hub's new address is taken
  EXPECT_THAT(std::string(inv_.PutDevice(hub, false).status().message()), HasSubstr("WAN address of hub"));
  ASSERT_TRUE(inv_.DeleteDevice("hub").ok());  // and freed when it goes
  EXPECT_TRUE(inv_.PutDevice(hub, false).ok());
  // Putting a device again with its own address is no conflict.
  EXPECT_TRUE(inv_.PutDevice(spoke, false).ok());
}

TEST_P(InventoryTest, ListingStartsAfterThePageTokenAndStopsAtTheLimit) {
  for (int i = 0; i < 5; ++i) {
    v1::Device d = Parse<v1::Device>(kHub);
    d.set_name("d" + std::to_string(i));
    d.set_wan_address("198.51.100." + std::to_string(10 + i));
    d.clear_inner_prefixes();
    d.set_role(i % 2 == 0 ? "even" : "odd");
    ASSERT_TRUE(inv_.PutDevice(d, false).ok());
  }
  v1::ListDevicesRequest f;
  f.set_page_token("d1");
  auto after = inv_.ListDevices(f, 2);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].name(), "d2");
  EXPECT_EQ(after[1].name(), "d3");
  f.set_role("even");  // the limit counts matches, not devices looked at
  auto even = inv_.ListDevices(f, 2);
  ASSERT_EQ(even.size(), 2u);
  EXPECT_EQ(even[0].name(), "d2");
  EXPECT_EQ(even[1].name(), "d4");
}

TEST(InventoryDurability, ReloadsWhatWasCommitted) {
  const std::string path = ::testing::TempDir() + "/inventory-" + std::to_string(getpid()) + ".db";
  std::filesystem::remove(path);
  FakeClock clock;
  {
    auto store = SqliteStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    Inventory inv(&clock, store->get());
    ASSERT_TRUE(inv.Load().ok());
    ASSERT_TRUE(inv.PutDevice(Parse<v1::Device>(kHub), false).ok());
    ASSERT_TRUE(inv.PutTemplate(Parse<v1::Template>(kTemplate)).ok());
    v1::DataSet ds;
    ds.set_name("hub-vpn");
    ds.set_template_("hub-and-spoke");
    ds.set_device("hub");
    (*ds.mutable_values())["map"] = "VPN";
    ASSERT_TRUE(inv.PutDataSet(ds).ok());
    ASSERT_TRUE(inv.DeleteDataSet("hub-vpn").ok());
    ASSERT_TRUE(inv.PutDataSet(ds).ok());
    EXPECT_EQ(inv.revision(), 5u);
  }
  auto store = SqliteStore::Open(path);
  ASSERT_TRUE(store.ok());
  Inventory inv(&clock, store->get());
  ASSERT_TRUE(inv.Load().ok());
  EXPECT_EQ(inv.revision(), 5u);
  auto hub = inv.GetDevice("hub");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->revision().number(), 1u);
  v1::Device twin = Parse<v1::Device>(kHub);  // the WAN addresses are known again
  twin.set_name("twin");
  twin.clear_inner_prefixes();
  EXPECT_EQ(inv.PutDevice(twin, false).status().code(), absl::StatusCode::kAlreadyExists);
  auto ds = inv.GetDataSet("hub-vpn");
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(ds->revision().number(), 5u);
  auto history = (*store)->History(0, 100);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 5u);
  EXPECT_TRUE((*history)[3].deleted);
  EXPECT_EQ((*history)[3].name, "hub-vpn");
  std::filesystem::remove(path);
}

// A follower's inventory over the leader's store follows every change, the
// indexes included; a broken record is reported and the rest applied.
TEST_P(InventoryTest, AFollowerFollowsTheLeadersCommits) {
  ASSERT_TRUE(inv_.PutDevice(Parse<v1::Device>(kHub), false).ok());  // before the follower starts
  Inventory copy(&clock_, store_.get());
  int changes = 0;
  InventoryFollower follower(&copy, store_.get(), [&] { ++changes; });
  follower.Start();
  auto wait_for = [&](uint64_t revision) {
    for (int i = 0; i < 500 && copy.revision() < revision; ++i) usleep(10'000);
    return copy.revision();
  };
  ASSERT_EQ(wait_for(1), 1u);
  EXPECT_TRUE(follower.ready());
  ASSERT_TRUE(inv_.PutTemplate(Parse<v1::Template>(kTemplate)).ok());
  ASSERT_TRUE(inv_.PutDataSet(Parse<v1::DataSet>(
                  R"pb(name: "hub" template: "hub-and-spoke" device: "hub" values { key: "map" value: "M" })pb"))
                  .ok());
  v1::Device moved = Parse<v1::Device>(kHub);
  moved.set_wan_address("198.51.100.9");
  ASSERT_TRUE(inv_.PutDevice(moved, false).ok());
  ASSERT_EQ(wait_for(4), 4u);
  EXPECT_EQ(copy.GetDevice("hub")->wan_address(), "198.51.100.9");
  EXPECT_EQ(copy.GetDataSet("hub")->values().at("map"), "M");
  // The follower's indexes: the data set holds its device, the old WAN
  // address is free and the new one taken.
  EXPECT_THAT(std::string(copy.DeleteDevice("hub").message()), HasSubstr("used by data set(s) hub"));
  ASSERT_TRUE(inv_.DeleteDataSet("hub").ok());
  ASSERT_EQ(wait_for(5), 5u);
  EXPECT_EQ(copy.GetDataSet("hub").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(copy.Count().data_sets, 0u);

  // A record that does not parse (written behind the inventory's back).
  ASSERT_TRUE(store_->Commit({{Inventory::kDeviceKind, "junk", "\xff\xff"}, {Inventory::kTemplateKind, "t2",
                                Parse<v1::Template>(kTemplate).SerializeAsString()}},
                             true, 0)
                  .ok());
  ASSERT_EQ(wait_for(6), 6u);
  EXPECT_TRUE(copy.GetTemplate("t2").ok());
  EXPECT_EQ(copy.GetDevice("junk").status().code(), absl::StatusCode::kNotFound);
  follower.Stop();
  EXPECT_GE(changes, 3);
  EXPECT_EQ(follower.resyncs(), 1);
}

}  // namespace
}  // namespace vpnfleet::controller
