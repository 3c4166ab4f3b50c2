// For test suites that run on both stores: SQLite in memory, and a real
// etcd (Debian's, on loopback) shared by the suite with a key prefix per
// store. Use from a TestWithParam<StoreBackend> fixture:
//   static void SetUpTestSuite() { TestStores::StartEtcd(); }
//   static void TearDownTestSuite() { TestStores::StopEtcd(); }
//   void SetUp() override { if (TestStores::Skip(GetParam())) GTEST_SKIP() << "etcd is not installed"; }
//   std::unique_ptr<Store> store_ = TestStores::Open(GetParam(), "inventory");
// and INSTANTIATE_TEST_SUITE_P(Backends, Fixture, StoreBackends(), StoreBackendName).
#ifndef VPNFLEET_SERVICES_CONTROLLER_STORE_TEST_STORES_H_
#define VPNFLEET_SERVICES_CONTROLLER_STORE_TEST_STORES_H_

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "services/controller/etcd/local_etcd.h"
#include "services/controller/store/store.h"

namespace vpnfleet::controller {

enum class StoreBackend { kSqlite, kEtcd };

inline auto StoreBackends() { return ::testing::Values(StoreBackend::kSqlite, StoreBackend::kEtcd); }
std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info);

class TestStores {
 public:
  // The suite's etcd, when etcd is installed (a failure to start fails the
  // suite's tests).
  static void StartEtcd();
  static void StopEtcd();
  static LocalEtcd* etcd() { return etcd_; }
  // Whether a test on `backend` must be skipped (no etcd installed).
  static bool Skip(StoreBackend backend) { return backend == StoreBackend::kEtcd && etcd_ == nullptr; }
  // A new, empty store: SQLite in memory, or etcd under /TAG-N/.
  static std::unique_ptr<Store> Open(StoreBackend backend, const std::string& tag);

 private:
  static LocalEtcd* etcd_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_STORE_TEST_STORES_H_
