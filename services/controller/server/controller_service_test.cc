#include "services/controller/server/controller_service.h"

#include "gtest/gtest.h"

namespace vpnfleet::controller {
namespace {

TEST(ControllerService, DevicesRoundTripAndErrorsMapToCodes) {
  FakeClock clock;
  Inventory inventory(&clock);
  prometheus::Registry registry;
  ControllerServiceImpl service(&inventory, registry);

  v1::PutDeviceRequest put;
  put.mutable_device()->set_name("hub");
  put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
  put.mutable_device()->set_wan_address("198.51.100.1");
  v1::Device stored;
  ASSERT_TRUE(service.PutDevice(nullptr, &put, &stored).ok());
  EXPECT_EQ(stored.revision().number(), 1u);

  v1::GetDeviceRequest get;
  get.set_name("hub");
  v1::Device got;
  ASSERT_TRUE(service.GetDevice(nullptr, &get, &got).ok());
  EXPECT_EQ(got.wan_address(), "198.51.100.1");
  get.set_name("nobody");
  EXPECT_EQ(service.GetDevice(nullptr, &get, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  put.mutable_device()->set_wan_address("not-an-address");
  EXPECT_EQ(service.PutDevice(nullptr, &put, &stored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::RolloutPlan plan;
  EXPECT_EQ(service.PlanRollout(nullptr, nullptr, &plan).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  v1::RenderTemplateResponse rendered;
  EXPECT_EQ(service.RenderTemplate(nullptr, nullptr, &rendered).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace vpnfleet::controller
