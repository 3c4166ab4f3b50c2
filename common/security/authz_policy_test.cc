#include "common/security/authz_policy.h"

#include "gtest/gtest.h"

namespace vpnfleet::security {
namespace {

TEST(GlobMatchTest, StarsMatchAnyRun) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("spiffe://*/admin/*", "spiffe://vpnfleet/admin/alice"));
  EXPECT_FALSE(GlobMatch("spiffe://*/admin/*", "spiffe://vpnfleet/viewer/alice"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  EXPECT_FALSE(GlobMatch("exact", "exactly"));
  EXPECT_TRUE(GlobMatch("*/Get*", "vpnfleet.ike.v1.IkeService/GetConfig"));
  // Backtracking stays bounded on a hostile pattern.
  EXPECT_FALSE(GlobMatch(std::string(200, '*') + "b", std::string(500, 'a')));
}

TEST(AuthzPolicyTest, DefaultPolicyRoles) {
  const AuthzPolicy& p = AuthzPolicy::Default();
  EXPECT_EQ(p.RoleOf("spiffe://vpnfleet/admin/alice"), "admin");
  EXPECT_EQ(p.RoleOf("spiffe://vpnfleet/viewer/bob"), "viewer");
  EXPECT_EQ(p.RoleOf("spiffe://vpnfleet/controller/core"), "controller");
  EXPECT_EQ(p.RoleOf("spiffe://vpnfleet/edge/hub"), "edge");
  EXPECT_EQ(p.RoleOf("unix:uid=0"), "admin");
  EXPECT_EQ(p.RoleOf("CN=edge1,O=Example"), "");  // a certificate the policy does not name
  EXPECT_EQ(p.RoleOf(""), "");
}

TEST(AuthzPolicyTest, DefaultPolicyGrants) {
  const AuthzPolicy& p = AuthzPolicy::Default();
  const std::string replace = "vpnfleet.ike.v1.IkeService/ReplaceConfig";
  EXPECT_TRUE(p.Allows("admin", replace, Access::kWrite));
  EXPECT_TRUE(p.Allows("operator", replace, Access::kWrite));
  EXPECT_TRUE(p.Allows("controller", replace, Access::kWrite));
  EXPECT_FALSE(p.Allows("viewer", replace, Access::kWrite));
  EXPECT_FALSE(p.Allows("edge", replace, Access::kWrite));
  EXPECT_TRUE(p.Allows("viewer", "vpnfleet.ike.v1.IkeService/GetConfig", Access::kRead));
  // Secrets and trust decisions are not a viewer's or operator's.
  EXPECT_FALSE(p.Allows("viewer", "vpnfleet.controller.v1.ControllerService/RenderTemplate",
                        Access::kSecret));
  EXPECT_FALSE(p.Allows("operator", "vpnfleet.pki.v1.PkiService/RevokeCertificate", Access::kAdmin));
  EXPECT_TRUE(p.Allows("admin", "vpnfleet.pki.v1.PkiService/RevokeCertificate", Access::kAdmin));
  // The controller may ask the PKI for challenges but not revoke.
  EXPECT_TRUE(p.Allows("controller", "vpnfleet.pki.v1.PkiService/IssueChallenge", Access::kSecret));
  EXPECT_FALSE(p.Allows("controller", "vpnfleet.pki.v1.PkiService/RevokeCertificate", Access::kAdmin));
  EXPECT_TRUE(p.Allows("edge", "vpnfleet.dataplane.v1.DataplaneService/AddSa", Access::kWrite));
  EXPECT_FALSE(p.Allows("edge", "vpnfleet.controller.v1.ControllerService/PutDevice", Access::kWrite));
  // A method that declares no access is admin's alone.
  EXPECT_FALSE(p.Allows("operator", "vpnfleet.x.v1.X/Y", Access::kUnspecified));
  EXPECT_TRUE(p.Allows("admin", "vpnfleet.x.v1.X/Y", Access::kUnspecified));
  EXPECT_FALSE(p.Allows("", replace, Access::kWrite));
  EXPECT_FALSE(p.Allows("nobody", replace, Access::kWrite));
}

TEST(AuthzPolicyTest, FirstIdentityLineWins) {
  auto p = AuthzPolicy::Parse(
      "identity spiffe://corp/admin/mallory viewer   # demoted\n"
      "identity spiffe://*/admin/* admin\n"
      "allow viewer read\nallow admin *\n");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->RoleOf("spiffe://corp/admin/mallory"), "viewer");
  EXPECT_EQ(p->RoleOf("spiffe://corp/admin/alice"), "admin");
}

TEST(AuthzPolicyTest, RefusesBadLinesNamingThem) {
  for (const char* text : {"identity only-two\n", "allow viewer\n", "allow viewer reed\n",
                           "permit viewer read\n", "identity x role!\n", "allow r\xff read\n"}) {
    auto p = AuthzPolicy::Parse(text);
    EXPECT_FALSE(p.ok()) << text;
    EXPECT_NE(p.status().message().find("line 1"), std::string::npos) << p.status();
  }
  EXPECT_FALSE(AuthzPolicy::Parse(std::string(2 << 20, '#')).ok());
}

TEST(AuthzPolicyTest, CommentsAndBlankLinesAreIgnored) {
  auto p = AuthzPolicy::Parse("\n# nothing\n   \n\tallow a read # trailing\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->rule_count(), 1u);
  EXPECT_TRUE(p->Allows("a", "x/y", Access::kRead));
  EXPECT_FALSE(p->Allows("a", "x/y", Access::kWrite));
}

}  // namespace
}  // namespace vpnfleet::security
