#include "common/net/ip.h"

#include "gtest/gtest.h"

namespace vpnfleet::net {
namespace {

vpnfleet::common::v1::IpPrefix P(const std::string& a, uint32_t len) {
  vpnfleet::common::v1::IpPrefix p;
  p.set_address(a);
  p.set_length(len);
  return p;
}

TEST(ParseAddress, V4AndV6) {
  auto v4 = ParseAddress("192.0.2.1");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family, Family::kV4);
  EXPECT_EQ(v4->ToString(), "192.0.2.1");
  auto v6 = ParseAddress("2001:db8::1");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family, Family::kV6);
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
  EXPECT_FALSE(ParseAddress("router1.example").ok());
  EXPECT_FALSE(ParseAddress("10.1.1").ok());
  EXPECT_FALSE(ParseAddress("").ok());
}

TEST(ParsePrefix, RejectsHostBitsAndLongLengths) {
  EXPECT_TRUE(ParsePrefix(P("10.1.0.0", 24)).ok());
  auto host_bits = ParsePrefix(P("10.1.0.1", 24));
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(host_bits.status().message().find("10.1.0.0/24"), std::string::npos);
  EXPECT_FALSE(ParsePrefix(P("10.1.0.0", 33)).ok());
  EXPECT_TRUE(ParsePrefix(P("2001:db8::", 32)).ok());
  EXPECT_FALSE(ParsePrefix(P("2001:db8::1", 64)).ok());
  EXPECT_TRUE(ParsePrefix(P("0.0.0.0", 0)).ok());
}

TEST(IpPrefix, Contains) {
  auto p = ParseCidr("192.168.11.0/24");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Contains(*ParseAddress("192.168.11.200")));
  EXPECT_FALSE(p->Contains(*ParseAddress("192.168.12.1")));
  EXPECT_FALSE(p->Contains(*ParseAddress("::1")));
  auto odd = ParseCidr("10.0.0.0/9");
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->Contains(*ParseAddress("10.127.255.255")));
  EXPECT_FALSE(odd->Contains(*ParseAddress("10.128.0.0")));
}

TEST(ParseCidr, BareAddressIsAHost) {
  auto p = ParseCidr("198.51.100.7");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->length, 32);
  EXPECT_FALSE(ParseCidr("10.0.0.0/x").ok());
}

}  // namespace
}  // namespace vpnfleet::net
