#include "services/controller/rollout/rollout_record.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::controller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Rollout Parse(const std::string& text) {
  v1::Rollout r;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &r)) << text;
  return r;
}

// A rollback that failed: the counts, the devices it may have changed, and
// an operator action that names who is stuck where and what to run.
TEST(RolloutRecord, ARollbackThatFailedSaysWhoIsLeftWhereAndWhatToRun) {
  v1::Rollout r = Parse(R"pb(
    id: "r-7" state: ROLLOUT_STATE_ROLLBACK_FAILED desired_revision: 42
    devices { device: "hub" state: DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED running: DEVICE_RUNNING_DESIRED }
    devices { device: "spoke1" state: DEVICE_ROLLOUT_STATE_ROLLED_BACK running: DEVICE_RUNNING_PREVIOUS }
    devices { device: "spoke2" state: DEVICE_ROLLOUT_STATE_ROLLBACK_FAILED running: DEVICE_RUNNING_UNKNOWN }
    devices { device: "spoke3" state: DEVICE_ROLLOUT_STATE_WAITING running: DEVICE_RUNNING_PREVIOUS }
    devices { device: "spoke4" state: DEVICE_ROLLOUT_STATE_FAILED running: DEVICE_RUNNING_PREVIOUS }
  )pb");
  CountDevices(&r);
  EXPECT_EQ(r.devices_total(), 5u);
  EXPECT_EQ(r.devices_rollback_failed(), 2u);
  EXPECT_EQ(r.devices_rolled_back(), 1u);
  EXPECT_EQ(r.devices_failed(), 1u);
  EXPECT_THAT(r.operator_action(), HasSubstr("hub still runs revision 42"));
  EXPECT_THAT(r.operator_action(), HasSubstr("spoke2 did not answer"));
  EXPECT_THAT(r.operator_action(), HasSubstr("vpnfleet rollout rollback r-7"));
  // spoke1 was rolled back, spoke3 never started, spoke4 refused the apply.
  EXPECT_THAT(TouchedDevices(r), ElementsAre(0, 2));
  const v1::Rollout summary = RolloutSummary(r);
  EXPECT_EQ(summary.devices_size(), 0);
  EXPECT_EQ(summary.devices_rollback_failed(), 2u);
  EXPECT_EQ(summary.operator_action(), r.operator_action());

  r.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  CountDevices(&r);
  EXPECT_EQ(r.operator_action(), "");
}

TEST(RolloutRecord, ManyStuckDevicesAreNamedTenAndCounted) {
  v1::Rollout r;
  r.set_id("r-8");
  r.set_state(v1::ROLLOUT_STATE_FAILED);
  for (int i = 0; i < 25; ++i) {
    auto* d = r.add_devices();
    d->set_device("e" + std::to_string(i));
    d->set_state(v1::DEVICE_ROLLOUT_STATE_DONE);
    d->set_running(v1::DEVICE_RUNNING_DESIRED);
  }
  CountDevices(&r);
  EXPECT_THAT(r.operator_action(), HasSubstr("e9 and 15 more run revision"));
}

TEST(RolloutRecord, OnlyAnUnansweredCallLeavesTheOutcomeOpen) {
  EXPECT_TRUE(OutcomeUnknown(absl::DeadlineExceededError("")));
  EXPECT_TRUE(OutcomeUnknown(absl::UnknownError("")));
  EXPECT_FALSE(OutcomeUnknown(absl::InvalidArgumentError("")));
  EXPECT_FALSE(OutcomeUnknown(absl::UnavailableError("")));  // never reached the edge
}

TEST(RolloutRecord, DiagnosticsBoilDownToFiveErrors) {
  std::vector<v1::Diagnostic> ds(7);
  for (size_t i = 0; i < ds.size(); ++i) {
    ds[i].set_severity(i == 0 ? v1::Diagnostic::SEVERITY_WARNING : v1::Diagnostic::SEVERITY_ERROR);
    ds[i].set_device("d" + std::to_string(i));
    ds[i].set_message("bad");
  }
  EXPECT_TRUE(HasErrors(ds));
  const std::string s = DiagnosticSummary(ds);
  EXPECT_THAT(s, HasSubstr("d1: bad; d2: bad"));
  EXPECT_THAT(s, HasSubstr("; and 1 more"));
  EXPECT_EQ(s.find("d0"), std::string::npos);  // warnings are not errors
  EXPECT_FALSE(HasErrors({ds[0]}));
}

}  // namespace
}  // namespace vpnfleet::controller
