#include "services/controller/ios/ios_diff.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vpnfleet::controller::ios {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kRunning[] = R"(Building configuration...

Current configuration : 900 bytes
!
hostname R1
!
crypto isakmp policy 10
 encr aes 256
 authentication pre-share
 group 14
crypto isakmp key old-key address 198.51.100.2
crypto isakmp key gone-key address 198.51.100.3
!
crypto ipsec transform-set T esp-aes 256 esp-sha256-hmac
 mode tunnel
crypto ipsec transform-set OLD esp-3des esp-md5-hmac
!
crypto map VPN 10 ipsec-isakmp
 set peer 198.51.100.2
 set transform-set T
 match address A
crypto map VPN 20 ipsec-isakmp
 set peer 198.51.100.3
 set transform-set OLD
 match address B
!
interface GigabitEthernet0/0
 ip address 198.51.100.1 255.255.255.0
 crypto map VPN
!
interface GigabitEthernet0/1
 ip address 10.1.0.1 255.255.255.0
 ip access-group MGMT in
!
ip access-list extended A
 permit ip 10.1.0.0 0.0.0.255 10.2.0.0 0.0.0.255
ip access-list extended B
 permit ip 10.1.0.0 0.0.0.255 10.3.0.0 0.0.0.255
ip access-list extended MGMT
 permit tcp any any eq 22
access-list 101 permit ip any any
!
crypto pki trustpoint CA
 enrollment url http://ca.example/scep
!
ip route 0.0.0.0 0.0.0.0 198.51.100.254
end
)";

TEST(IosDiff, ItemsAreReadAsIosPrintsThem) {
  auto items = ReadIosItems(kRunning);
  ASSERT_GE(items.size(), 10u);
  EXPECT_EQ(items[0].line, "hostname R1");
  EXPECT_EQ(items[1].line, "crypto isakmp policy 10");
  EXPECT_THAT(items[1].subs, ElementsAre("encr aes 256", "authentication pre-share", "group 14"));
  EXPECT_EQ(IosItemKey("crypto isakmp key 6 abc address 192.0.2.1 255.255.255.255 no-xauth"),
            "crypto isakmp key @address 192.0.2.1 255.255.255.255");
  EXPECT_EQ(IosItemKey("crypto map VPN 10 ipsec-isakmp"), "crypto map VPN 10");
  EXPECT_EQ(IosItemKey("crypto ipsec transform-set T esp-gcm 256"), "crypto ipsec transform-set T");
  EXPECT_EQ(IosItemKey("access-list 101 permit ip any any"), "access-list 101");
}

TEST(IosDiff, TheSameConfigurationNeedsNothing) {
  EXPECT_THAT(IosDiffCommands(kRunning, kRunning), IsEmpty());
}

TEST(IosDiff, ChangesOnlyTheCryptoPolicyInASafeOrder) {
  // The desired policy: entry 20 and its transform set, key and ACL go; the
  // key of entry 10's peer changes, its transform set changes transforms,
  // a new entry 30 comes with a new ACL.
  constexpr char kDesired[] = R"(crypto isakmp policy 10
 encr aes 256
 authentication pre-share
 group 14
crypto isakmp key new-key address 198.51.100.2
crypto ipsec transform-set T esp-gcm 256
 mode tunnel
crypto map VPN 10 ipsec-isakmp
 set peer 198.51.100.2
 set transform-set T
 match address A
crypto map VPN 30 ipsec-isakmp
 set peer 198.51.100.4
 set transform-set T
 match address C
interface GigabitEthernet0/0
 crypto map VPN
ip access-list extended A
 permit ip 10.1.0.0 0.0.0.255 10.2.0.0 0.0.0.255
ip access-list extended C
 permit ip 10.1.0.0 0.0.0.255 10.4.0.0 0.0.0.255
)";
  EXPECT_THAT(IosDiffCommands(kRunning, kDesired),
              ElementsAre("no crypto map VPN 20",                                 // entries first
                          "crypto isakmp key new-key address 198.51.100.2",       // replaces the key
                          "crypto ipsec transform-set T esp-gcm 256", "exit",  // mode stays
                          "crypto map VPN 30 ipsec-isakmp", " set peer 198.51.100.4", " set transform-set T",
                          " match address C", "exit",
                          "ip access-list extended C", " permit ip 10.1.0.0 0.0.0.255 10.4.0.0 0.0.0.255",
                          "exit",
                          // then what nothing uses; MGMT, 101, the trustpoint and routing stay
                          "no crypto isakmp key gone-key address 198.51.100.3",
                          "no crypto ipsec transform-set OLD", "no ip access-list extended B"));
}

TEST(IosDiff, InterfacesLoseOrGainOnlyTheirCryptoMap) {
  constexpr char kDesired[] = R"(crypto map NEW 10 ipsec-isakmp
 set peer 198.51.100.2
 set transform-set T
 match address A
interface GigabitEthernet0/1
 crypto map NEW
)";
  auto cmds = IosDiffCommands(kRunning, kDesired);
  ASSERT_GE(cmds.size(), 6u);
  EXPECT_THAT(std::vector<std::string>(cmds.begin(), cmds.begin() + 5),
              ElementsAre("interface GigabitEthernet0/0", " no crypto map VPN", "exit", "no crypto map VPN 10",
                          "no crypto map VPN 20"));
  auto at = [&](const std::string& c) { return std::find(cmds.begin(), cmds.end(), c) - cmds.begin(); };
  EXPECT_LT(at("interface GigabitEthernet0/1"), at(" crypto map NEW"));
  EXPECT_LT(at("crypto map NEW 10 ipsec-isakmp"), at("interface GigabitEthernet0/1"));
  for (const auto& c : cmds) {
    EXPECT_EQ(c.find("ip address"), std::string::npos) << c;
    EXPECT_EQ(c.find("access-group"), std::string::npos) << c;
    EXPECT_EQ(c.find("trustpoint"), std::string::npos) << c;  // never removed
  }
}

// A trustpoint is only added to: what the router prints beyond our policy
// (defaults, the subject, auto-enroll) stays, a changed URL replaces itself.
TEST(IosDiff, TrustpointsOnlyGainLines) {
  constexpr char kRun[] = "crypto pki trustpoint CA\n enrollment url http://old.example/scep\n"
                          " serial-number none\n subject-name CN=r1\n auto-enroll 70\n";
  EXPECT_THAT(IosDiffCommands(kRun, "crypto pki trustpoint CA\n serial-number none\n"), ElementsAre());
  EXPECT_THAT(IosDiffCommands(kRun, "crypto pki trustpoint CA\n enrollment url http://ca.example/scep\n"
                                    " revocation-check crl\n"),
              ElementsAre("crypto pki trustpoint CA", " enrollment url http://ca.example/scep",
                          " revocation-check crl", "exit"));
}

TEST(IosDiff, AnAclWhoseOrderWouldComeOutWrongIsRebuilt) {
  constexpr char kRun[] = "crypto map M 10 ipsec-isakmp\n match address A\n"
                          "ip access-list extended A\n permit ip host 10.0.0.1 any\n deny ip any any\n";
  constexpr char kAppend[] = "crypto map M 10 ipsec-isakmp\n match address A\n"
                             "ip access-list extended A\n permit ip host 10.0.0.1 any\n deny ip any any\n"
                             " permit ip host 10.0.0.2 any\n";
  EXPECT_THAT(IosDiffCommands(kRun, kAppend),
              ElementsAre("ip access-list extended A", " permit ip host 10.0.0.2 any", "exit"));
  constexpr char kBefore[] = "crypto map M 10 ipsec-isakmp\n match address A\n"
                             "ip access-list extended A\n permit ip host 10.0.0.2 any\n permit ip host 10.0.0.1 any\n"
                             " deny ip any any\n";
  EXPECT_THAT(IosDiffCommands(kRun, kBefore),
              ElementsAre("no ip access-list extended A", "ip access-list extended A",
                          " permit ip host 10.0.0.2 any", " permit ip host 10.0.0.1 any", " deny ip any any",
                          "exit"));
}

TEST(IosDiff, ASubCommandThatGoesIsUndone) {
  constexpr char kRun[] = "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.1\n set peer 192.0.2.2\n set pfs group14\n";
  constexpr char kWant[] = "crypto map M 10 ipsec-isakmp\n set peer 192.0.2.1\n";
  EXPECT_THAT(IosDiffCommands(kRun, kWant),
              ElementsAre("crypto map M 10 ipsec-isakmp", " no set peer 192.0.2.2", " no set pfs group14", "exit"));
}

}  // namespace
}  // namespace vpnfleet::controller::ios
