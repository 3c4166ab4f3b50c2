#include "services/controller/store/test_stores.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "common/random/rng.h"
#include "services/controller/etcd/etcd_client.h"
#include "services/controller/store/etcd_store.h"
#include "services/controller/store/sqlite_store.h"

namespace vpnfleet::controller {

LocalEtcd* TestStores::etcd_ = nullptr;

std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param == StoreBackend::kSqlite ? "Sqlite" : "Etcd";
}

void TestStores::StartEtcd() {
  if (!EtcdInstalled()) return;
  auto started = LocalEtcd::Start(1);
  ASSERT_TRUE(started.ok()) << started.status();
  etcd_ = started->release();
}

void TestStores::StopEtcd() {
  delete etcd_;
  etcd_ = nullptr;
}

std::unique_ptr<Store> TestStores::Open(StoreBackend backend, const std::string& tag) {
  if (backend == StoreBackend::kEtcd && etcd_ != nullptr) {
    static std::atomic<int> next{0};
    EtcdClientOptions o;
    o.endpoints = *ParseEtcdEndpoints(etcd_->endpoints());
    auto client = EtcdClient::Connect(o);
    EXPECT_TRUE(client.ok()) << client.status();
    if (client.ok()) {
      auto store = EtcdStore::Open(std::shared_ptr<EtcdClient>(std::move(*client)),
                                   absl::StrCat("/", tag, "-", ++next, "/"), SystemRng::Get());
      EXPECT_TRUE(store.ok()) << store.status();
      if (store.ok()) return std::move(*store);
    }
  }
  // SQLite, and the stand-in for a test that SetUp skips.
  return *SqliteStore::Open(":memory:");
}

}  // namespace vpnfleet::controller
