#include <memory>

#include "absl/strings/str_cat.h"
#include "common/random/rng.h"
#include "common/testing/testdata.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/controller/ios/ios_writer.h"
#include "services/controller/model/inventory.h"
#include "services/controller/model/pair_keys.h"
#include "services/controller/store/sqlite_store.h"
#include "services/controller/templates/desired.h"
#include "services/controller/templates/renderer.h"
#include "services/controller/templates/template_outline.h"
#include "services/controller/validate/fleet_validator.h"

namespace vpnfleet::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace ike = vpnfleet::ike::v1;

v1::Device MakeDevice(const std::string& name, const std::string& wan, const std::string& role,
                      const std::string& lan) {
  v1::Device d;
  d.set_name(name);
  d.set_kind(v1::DEVICE_KIND_VPNFLEET);
  d.set_wan_address(wan);
  d.set_role(role);
  d.set_site(name);
  auto* p = d.add_inner_prefixes();
  p->set_address(lan);
  p->set_length(24);
  return d;
}

v1::Template HubAndSpoke(v1::PeerAuth auth, const char* file = "deploy/templates/hub-and-spoke.mustache") {
  v1::Template t;
  t.set_name("hub-and-spoke");
  t.set_output(v1::TEMPLATE_OUTPUT_POLICY);
  t.set_body(vpnfleet::testing::ReadTestData(file));
  t.mutable_topology()->set_kind(v1::TOPOLOGY_KIND_HUB_AND_SPOKE);
  t.mutable_topology()->set_auth(auth);
  for (auto [name, def] : std::vector<std::pair<std::string, std::string>>{
           {"trustpoint", "fleet"}, {"scep_url", "http://198.51.100.10:18080/scep"},
           {"ike_encryption", "aes-gcm-256"}, {"ike_hash", "sha384"}, {"dh_group", "19"},
           {"signature", "ecdsa-sig"}, {"ike_lifetime", "86400"}, {"dpd_seconds", "10"},
           {"esp_transform", "esp-gcm 256"}, {"sa_lifetime", "3600"}, {"wan_interface", "wan0"},
           {"auto_enroll", "70"}}) {
    auto* v = t.add_variables();
    v->set_name(name);
    v->set_default_value(def);
  }
  return t;
}

class FleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(inv_.Load().ok());
    ASSERT_TRUE(inv_.PutDevice(MakeDevice("hub", "198.51.100.1", "hub", "10.0.0.0"), false).ok());
    ASSERT_TRUE(inv_.PutDevice(MakeDevice("spoke1", "198.51.100.2", "spoke", "10.1.0.0"), false).ok());
    ASSERT_TRUE(inv_.PutDevice(MakeDevice("spoke2", "198.51.100.3", "spoke", "10.2.0.0"), false).ok());
  }

  void UseTemplate(const v1::Template& t) {
    ASSERT_TRUE(inv_.PutTemplate(t).ok());
    for (const char* d : {"hub", "spoke1", "spoke2"}) {
      v1::DataSet ds;
      ds.set_name(absl::StrCat(d, "-vpn"));
      ds.set_template_(t.name());
      ds.set_device(d);
      ASSERT_TRUE(inv_.PutDataSet(ds).ok());
    }
  }

  std::map<std::string, DesiredPolicy> RenderAll() {
    auto fleet = RenderFleet(inv_.Take(), {}, [this](const std::string& a, const std::string& b) {
      return keys_.Get(a, b);
    });
    EXPECT_TRUE(keys_.Flush().ok());
    return fleet;
  }

  std::vector<v1::Diagnostic> Validate(const std::map<std::string, DesiredPolicy>& fleet) {
    std::map<std::string, const ike::IkeConfig*> policies;
    for (const auto& [name, d] : fleet) policies[name] = &d.policy;
    return ValidateFleet(inv_.Take(), policies);
  }

  FakeClock clock_;
  SeededRng rng_{7};
  std::unique_ptr<SqliteStore> store_ = *SqliteStore::Open(":memory:");
  Inventory inv_{&clock_, store_.get()};
  SecretBox box_ = *SecretBox::FromKey(std::string(32, 'k'), &rng_);
  PairKeys keys_{store_.get(), &box_, &rng_, &clock_};
};

std::string Text(const std::vector<v1::Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) {
    absl::StrAppend(&out, d.severity() == v1::Diagnostic::SEVERITY_ERROR ? "E " : "W ", d.device(), " | ",
                    d.entry(), " | ", d.field(), " | ", d.message(), "\n");
  }
  return out;
}

TEST_F(FleetTest, HubAndSpokeWithCertificatesRendersMirroredEntries) {
  UseTemplate(HubAndSpoke(v1::PEER_AUTH_CERTIFICATE));
  auto fleet = RenderAll();
  ASSERT_EQ(fleet.size(), 3u);
  for (const auto& [name, d] : fleet) ASSERT_TRUE(d.ok()) << name << "\n" << Text(d.diagnostics) << d.text;

  const ike::IkeConfig& hub = fleet["hub"].policy;
  ASSERT_EQ(hub.crypto_maps_size(), 1);
  ASSERT_EQ(hub.crypto_maps(0).entries_size(), 2);  // one per spoke
  EXPECT_EQ(hub.crypto_maps(0).entries(0).peers(0), "198.51.100.2");
  EXPECT_EQ(hub.crypto_maps(0).interfaces(0), "wan0");
  EXPECT_EQ(hub.isakmp_policies(0).authentication(), ike::AUTH_METHOD_ECDSA_SIG);
  EXPECT_EQ(hub.isakmp_policies(0).version(), ike::IKE_VERSION_2);
  ASSERT_EQ(hub.trustpoints_size(), 1);
  EXPECT_EQ(hub.pre_shared_keys_size(), 0);
  // The hub's ACL to spoke1 covers its own LAN and spoke2's.
  const auto& acl = hub.access_lists(0);
  EXPECT_EQ(acl.name(), "VPN-SPOKE1");
  ASSERT_EQ(acl.entries_size(), 2);
  EXPECT_EQ(acl.entries(1).match().source().address(), "10.2.0.0");
  EXPECT_EQ(acl.entries(1).match().destination().address(), "10.1.0.0");

  const ike::IkeConfig& spoke = fleet["spoke1"].policy;
  ASSERT_EQ(spoke.crypto_maps(0).entries_size(), 1);  // spokes meet the hub only
  EXPECT_EQ(spoke.access_lists(0).entries_size(), 2);

  EXPECT_TRUE(Validate(fleet).empty()) << Text(Validate(fleet));
}

TEST_F(FleetTest, PreSharedKeysArePerPairSameOnBothEndsAndSealedAtRest) {
  UseTemplate(HubAndSpoke(v1::PEER_AUTH_PRE_SHARED_KEY));
  auto fleet = RenderAll();
  for (const auto& [name, d] : fleet) ASSERT_TRUE(d.ok()) << Text(d.diagnostics);
  const auto& hub = fleet["hub"].policy;
  ASSERT_EQ(hub.pre_shared_keys_size(), 2);
  const std::string hub_to_1 = hub.pre_shared_keys(0).key();
  EXPECT_EQ(hub_to_1.size(), 32u);
  EXPECT_EQ(fleet["spoke1"].policy.pre_shared_keys(0).key(), hub_to_1);
  EXPECT_NE(fleet["spoke2"].policy.pre_shared_keys(0).key(), hub_to_1);
  EXPECT_EQ(hub.isakmp_policies(0).authentication(), ike::AUTH_METHOD_PRE_SHARE);
  EXPECT_TRUE(Validate(fleet).empty()) << Text(Validate(fleet));

  // The stored record is not the key, and a second render gives the same key.
  auto stored = store_->List(PairKeys::kKind);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  for (const auto& r : *stored) EXPECT_EQ(r.value.find(hub_to_1), std::string::npos);
  EXPECT_EQ(RenderAll()["hub"].policy.pre_shared_keys(0).key(), hub_to_1);

  // Keys never show up in the readable form.
  EXPECT_EQ(ios::WriteIosConfig(hub).find(hub_to_1), std::string::npos);
}

TEST_F(FleetTest, UnknownTemplateNamesAreErrors) {
  v1::Template t = HubAndSpoke(v1::PEER_AUTH_CERTIFICATE);
  t.set_body(t.body() + "crypto isakmp nat keepalive {{nat_keepalive_seconds}}\n");
  UseTemplate(t);
  auto fleet = RenderAll();
  EXPECT_FALSE(fleet["hub"].ok());
  EXPECT_THAT(Text(fleet["hub"].diagnostics), HasSubstr("{{nat_keepalive_seconds}} is neither a variable"));
}

TEST_F(FleetTest, RenderedTextErrorsPointAtTheRenderedLine) {
  v1::Template t = HubAndSpoke(v1::PEER_AUTH_CERTIFICATE);
  UseTemplate(t);
  v1::DataSet ds = *inv_.GetDataSet("spoke1-vpn");
  (*ds.mutable_values())["dh_group"] = "7";
  ASSERT_TRUE(inv_.PutDataSet(ds).ok());
  auto fleet = RenderAll();
  EXPECT_FALSE(fleet["spoke1"].ok());
  EXPECT_TRUE(fleet["spoke2"].ok());
  const std::string text = Text(fleet["spoke1"].diagnostics);
  EXPECT_THAT(text, HasSubstr("spoke1-vpn: rendered line"));
  EXPECT_THAT(text, HasSubstr("unknown DH group '7'"));
}

// A template nested 8,000 deep took the mustache parser 10.8 s and 638 MiB:
// it is refused before the parser sees it, as are partials and delimiter
// changes.
TEST(TemplateLimits, OutlineRefusesWhatCouldExhaustTheController) {
  v1::Template t;
  t.set_name("deep");
  std::string body;
  for (int i = 0; i < 8000; ++i) body += "{{#peers}}";
  for (int i = 0; i < 8000; ++i) body += "{{/peers}}";
  t.set_body(body);
  auto st = CheckTemplateSyntax(t);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("nested deeper than 16"));
  for (const char* bad : {"{{>other}}", "{{=<% %>=}}", "{{#a}}x", "{{/a}}", "{{#a}}{{/b}}", "{{x"}) {
    t.set_body(bad);
    EXPECT_FALSE(CheckTemplateSyntax(t).ok()) << bad;
  }
  t.set_body(std::string(kMaxTemplateBytes + 1, 'x'));
  EXPECT_THAT(std::string(CheckTemplateSyntax(t).message()), HasSubstr("at most 1048576"));
}

TEST(TemplateLimits, RenderBoundMultipliesNestedLists) {
  auto outline = Outline("ab{{#peers}}{{name}}\n{{#selectors}}xyz{{/selectors}}{{/peers}}{{^x}}12345{{/x}}");
  ASSERT_TRUE(outline.ok()) << outline.status();
  auto repeat = [](const std::string& n) -> uint64_t { return n == "peers" ? 10 : n == "selectors" ? 4 : 1; };
  // 2 + 10 * (8 + 1 + 4 * 3) + 5
  auto bytes = [](const std::string& n) -> uint64_t { return n == "name" ? 8 : 1000; };
  EXPECT_EQ(RenderBound(*outline, repeat, bytes), 2u + 10u * (8u + 1u + 12u) + 5u);
}

// Sections nested over the peers multiply; the bound stops the render.
TEST_F(FleetTest, ATemplateThatWouldRenderTooMuchIsRefusedForItsDevice) {
  v1::Template t = HubAndSpoke(v1::PEER_AUTH_CERTIFICATE);
  std::string open, close;
  for (int i = 0; i < 16; ++i) {
    open += "{{#peers}}";
    close += "{{/peers}}";
  }
  t.set_body(t.body() + open + std::string(2000, 'x') + close);
  UseTemplate(t);
  auto fleet = RenderAll();
  EXPECT_FALSE(fleet["hub"].ok());
  EXPECT_THAT(Text(fleet["hub"].diagnostics), HasSubstr("at most 67108864 are rendered"));
}

TEST_F(FleetTest, ValidationFindsWhatWouldNotComeUp) {
  UseTemplate(HubAndSpoke(v1::PEER_AUTH_PRE_SHARED_KEY));
  auto fleet = RenderAll();
  // A spoke whose ACL no longer mirrors the hub's, a different IKE group, no
  // key for the hub, and a peer outside the fleet.
  auto& s1 = fleet["spoke1"].policy;
  s1.mutable_access_lists(0)->mutable_entries(0)->mutable_match()->mutable_source()->set_address("10.9.0.0");
  s1.mutable_isakmp_policies(0)->set_group(vpnfleet::common::v1::DH_GROUP_MODP_1024);
  auto& s2 = fleet["spoke2"].policy;
  s2.clear_pre_shared_keys();
  s2.mutable_crypto_maps(0)->mutable_entries(0)->add_peers("192.0.2.77");
  const std::string text = Text(Validate(fleet));
  EXPECT_THAT(text, HasSubstr("E spoke1 | crypto map FLEET 10 | match address | access list VPN-HUB is not "
                              "the mirror image of hub's crypto map FLEET 10"));
  EXPECT_THAT(text, HasSubstr("E spoke1 | crypto ikev2 proposal |  | no IKE policy in common with hub"));
  EXPECT_THAT(text, HasSubstr("W spoke1 | crypto ikev2 proposal 1 | group | group 2 is a legacy DH group"));
  EXPECT_THAT(text, HasSubstr("E spoke2 | crypto ikev2 keyring | address | no pre-shared key for peer hub"));
  EXPECT_THAT(text, HasSubstr("E spoke2 | crypto map FLEET 10 | set peer | 192.0.2.77 is not the WAN address"));
}

TEST_F(FleetTest, SummaryPrefixesKeepHubAclsSmall) {
  v1::Template t = HubAndSpoke(v1::PEER_AUTH_PRE_SHARED_KEY);
  auto* summary = t.mutable_topology()->add_summary_prefixes();
  summary->set_address("10.0.0.0");
  summary->set_length(8);
  UseTemplate(t);
  auto fleet = RenderAll();
  const auto& hub_acl = fleet["hub"].policy.access_lists(0);
  ASSERT_EQ(hub_acl.entries_size(), 1);
  EXPECT_EQ(hub_acl.entries(0).match().source().length(), 8u);
  EXPECT_EQ(hub_acl.entries(0).match().destination().address(), "10.1.0.0");
  EXPECT_EQ(fleet["spoke2"].policy.access_lists(0).entries(0).match().destination().length(), 8u);
  EXPECT_TRUE(Validate(fleet).empty()) << Text(Validate(fleet));
}

// The large-fleet template: the hub answers any spoke through a dynamic map
// and never lists them; each spoke has one entry to the hub.
v1::Template DynamicHub() {
  v1::Template t = HubAndSpoke(v1::PEER_AUTH_CERTIFICATE, "deploy/templates/hub-and-spoke-dynamic.mustache");
  auto* summary = t.mutable_topology()->add_summary_prefixes();
  summary->set_address("10.0.0.0");
  summary->set_length(8);
  return t;
}

TEST_F(FleetTest, ADynamicHubAnswersEverySpokeWithoutListingThem) {
  UseTemplate(DynamicHub());
  auto fleet = RenderAll();
  for (const auto& [name, d] : fleet) ASSERT_TRUE(d.ok()) << name << "\n" << Text(d.diagnostics) << d.text;

  const ike::IkeConfig& hub = fleet["hub"].policy;
  EXPECT_THAT(fleet["hub"].text, Not(HasSubstr("198.51.100.2")));  // no spoke named
  ASSERT_EQ(hub.crypto_maps_size(), 2);
  const ike::CryptoMap& dynamic = hub.crypto_maps(0);  // dynamic maps first
  EXPECT_TRUE(dynamic.dynamic());
  EXPECT_EQ(dynamic.name(), "FLEET-SPOKES");
  ASSERT_EQ(dynamic.entries_size(), 1);
  EXPECT_EQ(dynamic.entries(0).match_address(), "VPN-SPOKES");
  EXPECT_EQ(dynamic.entries(0).pfs_group(), vpnfleet::common::v1::DH_GROUP_ECP_256);
  const ike::CryptoMap& fleet_map = hub.crypto_maps(1);
  ASSERT_EQ(fleet_map.entries_size(), 1);
  EXPECT_EQ(fleet_map.entries(0).kind(), ike::CRYPTO_MAP_KIND_DYNAMIC);
  EXPECT_EQ(fleet_map.entries(0).dynamic_map(), "FLEET-SPOKES");
  EXPECT_EQ(fleet_map.interfaces(0), "wan0");
  ASSERT_EQ(hub.access_lists_size(), 1);
  ASSERT_EQ(hub.access_lists(0).entries_size(), 1);
  EXPECT_EQ(hub.access_lists(0).entries(0).match().source().length(), 8u);
  EXPECT_EQ(hub.access_lists(0).entries(0).match().destination().length(), 8u);
  EXPECT_EQ(hub.pre_shared_keys_size(), 0);

  const ike::IkeConfig& spoke = fleet["spoke2"].policy;
  ASSERT_EQ(spoke.crypto_maps_size(), 1);
  ASSERT_EQ(spoke.crypto_maps(0).entries_size(), 1);
  EXPECT_EQ(spoke.crypto_maps(0).entries(0).peers(0), "198.51.100.1");
  ASSERT_EQ(spoke.access_lists(0).entries_size(), 1);
  EXPECT_EQ(spoke.access_lists(0).entries(0).match().source().address(), "10.2.0.0");
  EXPECT_EQ(spoke.access_lists(0).entries(0).match().destination().length(), 8u);
  // Each spoke's entry finds the hub's dynamic map, with a policy in common.
  EXPECT_TRUE(Validate(fleet).empty()) << Text(Validate(fleet));
}

TEST_F(FleetTest, ADynamicHubRendersTheSameForAnyNumberOfSpokes) {
  UseTemplate(DynamicHub());
  const std::string small = RenderAll()["hub"].text;
  for (int i = 3; i < 3000; ++i) {
    ASSERT_TRUE(inv_.PutDevice(MakeDevice(absl::StrCat("spoke", i), absl::StrCat("198.51.", 100 + i / 250, ".",
                                                                                i % 250 + 1),
                                          "spoke", absl::StrCat("10.", i / 256, ".", i % 256, ".0")),
                               false)
                    .ok());
    v1::DataSet ds;
    ds.set_name(absl::StrCat("spoke", i, "-vpn"));
    ds.set_template_("hub-and-spoke");
    ds.set_device(absl::StrCat("spoke", i));
    ASSERT_TRUE(inv_.PutDataSet(ds).ok());
  }
  auto fleet = RenderAll();
  ASSERT_EQ(fleet.size(), 3000u);
  EXPECT_TRUE(fleet["hub"].ok()) << Text(fleet["hub"].diagnostics);
  EXPECT_EQ(fleet["hub"].text, small);
  EXPECT_TRUE(fleet["spoke2999"].ok()) << Text(fleet["spoke2999"].diagnostics);
}

// A section that cannot render for a device is not counted against it:
// sections nested over the peers, but for spokes only, leave the hub alone.
TEST_F(FleetTest, SectionsThatCannotRenderForADeviceAreNotBounded) {
  v1::Template t = DynamicHub();
  std::string open, close;
  for (int i = 0; i < 16; ++i) {
    open += "{{#peers}}";
    close += "{{/peers}}";
  }
  // 15 levels over the hub's 2 spokes would be 2^15 * 4,000 bytes.
  t.set_body(t.body() + "{{^is_hub}}" + open.substr(10) + std::string(4000, 'x') + close.substr(10) +
             "{{/is_hub}}");
  UseTemplate(t);
  auto fleet = RenderAll();
  EXPECT_TRUE(fleet["hub"].ok()) << Text(fleet["hub"].diagnostics);
  EXPECT_TRUE(fleet["spoke1"].ok()) << Text(fleet["spoke1"].diagnostics);
  t.set_body(DynamicHub().body() + "{{#is_hub}}" + open.substr(10) + std::string(4000, 'x') + close.substr(10) +
             "{{/is_hub}}");
  UseTemplate(t);
  EXPECT_THAT(Text(RenderAll()["hub"].diagnostics), HasSubstr("at most 67108864 are rendered"));
}

TEST(TemplateLimits, PruneDropsSectionsOfKnownNames) {
  auto outline = Outline("a{{#is_hub}}{{#peers}}{{name}}{{/peers}}{{/is_hub}}{{^is_hub}}b{{/is_hub}}"
                         "{{#x}}{{^certificates}}{{psk}}{{/certificates}}{{/x}}");
  ASSERT_TRUE(outline.ok()) << outline.status();
  auto known = [](bool hub) {
    return [hub](const std::string& n) -> std::optional<bool> {
      if (n == "is_hub") return hub;
      if (n == "certificates") return true;
      return std::nullopt;
    };
  };
  const auto hub = Prune(*outline, known(true)), spoke = Prune(*outline, known(false));
  EXPECT_TRUE(Mentions(hub, "peers"));
  EXPECT_FALSE(Mentions(spoke, "peers"));
  EXPECT_FALSE(Mentions(hub, "psk"));  // nested inside an unknown section too
  EXPECT_TRUE(Mentions(hub, "x"));
  auto one = [](const std::string&) -> uint64_t { return 1; };
  EXPECT_EQ(RenderBound(spoke, one, one), 2u);  // "a" and "b"
  EXPECT_TRUE(Mentions(*outline, "psk"));
}

TEST_F(FleetTest, OverlappingPrefixesAcrossDevices) {
  ASSERT_TRUE(inv_.PutDevice(MakeDevice("spoke3", "198.51.100.4", "spoke", "10.1.0.0"), false).ok());
  const std::string text = Text(ValidateFleet(inv_.Take(), {}));
  EXPECT_THAT(text, HasSubstr("| device | inner_prefixes | 10.1.0.0/24 overlaps 10.1.0.0/24 of device"));
}

TEST(Configlet, AppendsBeforeEndOrPrepends) {
  EXPECT_EQ(PlaceConfiglet("crypto map X 10\n", "hostname r\nend\n", v1::CONFIGLET_PLACEMENT_APPEND),
            "hostname r\ncrypto map X 10\nend\n");
  EXPECT_EQ(PlaceConfiglet("crypto map X 10", "hostname r", v1::CONFIGLET_PLACEMENT_PREPEND),
            "crypto map X 10\nhostname r\n");
}

}  // namespace
}  // namespace vpnfleet::controller
