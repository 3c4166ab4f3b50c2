#include "services/dataplane/spd/policy_table.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

v1::SpdPolicy Policy(const std::string& text) {
  v1::SpdPolicy p;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &p)) << text;
  return p;
}

constexpr char kProtect[] = R"pb(
  direction: DIRECTION_OUTBOUND priority: 10 action: POLICY_ACTION_PROTECT reqid: 1
  selector { source { address: "10.1.0.0" length: 24 } destination { address: "10.2.0.0" length: 24 } }
  tunnel_source: "198.51.100.1" tunnel_destination: "198.51.100.2"
)pb";

TEST(PolicyTable, OrderIsPriorityThenInsertion) {
  PolicyTable spd;
  auto a = spd.Add(Policy(kProtect));
  v1::SpdPolicy bypass = Policy(R"pb(direction: DIRECTION_OUTBOUND priority: 5 action: POLICY_ACTION_BYPASS
      selector { source { address: "10.1.0.0" length: 24 } destination { address: "10.1.0.0" length: 24 } })pb");
  auto b = spd.Add(bypass);
  auto c = spd.Add(Policy(kProtect));  // same priority as a: after it
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto list = spd.List(cv1::DIRECTION_OUTBOUND);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].id(), *b);
  EXPECT_EQ(list[1].id(), *a);
  EXPECT_EQ(list[2].id(), *c);
  EXPECT_TRUE(spd.List(cv1::DIRECTION_INBOUND).empty());
  ASSERT_TRUE(spd.Delete(*a).ok());
  EXPECT_EQ(spd.Delete(*a).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(spd.size(), 2u);
}

TEST(PolicyTable, RejectsMalformedPolicies) {
  PolicyTable spd;
  v1::SpdPolicy no_dir = Policy(kProtect);
  no_dir.clear_direction();
  EXPECT_FALSE(spd.Add(no_dir).ok());
  v1::SpdPolicy no_tunnel = Policy(kProtect);
  no_tunnel.clear_tunnel_destination();
  EXPECT_THAT(std::string(spd.Add(no_tunnel).status().message()),
              ::testing::HasSubstr("tunnel_destination"));
  v1::SpdPolicy bypass_with_sa = Policy(kProtect);
  bypass_with_sa.set_action(v1::POLICY_ACTION_BYPASS);
  EXPECT_FALSE(spd.Add(bypass_with_sa).ok());
  v1::SpdPolicy bad_ports = Policy(kProtect);
  bad_ports.mutable_selector()->mutable_destination_ports()->set_start(90);
  bad_ports.mutable_selector()->mutable_destination_ports()->set_end(80);
  EXPECT_FALSE(spd.Add(bad_ports).ok());
  v1::SpdPolicy start_only = Policy(kProtect);  // end 0 is not "open-ended"
  start_only.mutable_selector()->mutable_source_ports()->set_start(5);
  EXPECT_FALSE(spd.Add(start_only).ok());
  EXPECT_EQ(spd.size(), 0u);
}

}  // namespace
}  // namespace vpnfleet::dataplane
