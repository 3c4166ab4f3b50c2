#include "services/ike/config/config_store.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "common/testing/testdata.h"
#include "services/ike/auth/rsa_encryption.h"

namespace vpnfleet::ike {
namespace {

using ::testing::HasSubstr;
namespace v1 = vpnfleet::ike::v1;

template <typename T>
T Parse(const std::string& text) {
  T m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

google::protobuf::RepeatedPtrField<v1::ConfigEdit> Edits(const std::string& text) {
  return Parse<v1::EditConfigRequest>(text).edits();
}

constexpr char kBase[] = R"pb(
  edits { put_transform_set { name: "GCM" esp_encryption: ENCRYPTION_AES_GCM_128 } }
  edits { put_access_list { name: "A" entries { sequence: 10 action: ACL_ACTION_PERMIT
      match { source { address: "10.1.0.0" length: 24 } destination { address: "10.2.0.0" length: 24 } } } } }
  edits { put_crypto_map { name: "VPN" entries { sequence: 10 match_address: "A"
      peers: "198.51.100.2" transform_sets: "GCM" } } }
  edits { put_pre_shared_key { address { address: "198.51.100.2" length: 32 } key: "topsecret" } }
)pb";

TEST(ConfigStore, EditsApplyAtomicallyAndBumpTheRevision) {
  FakeClock clock;
  ConfigStore store(&clock);
  auto r = store.Edit(Edits(kBase), 0, false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision, 1u);
  EXPECT_EQ(r->changed_unix_seconds, absl::ToUnixSeconds(clock.Now()));

  // A batch whose second edit breaks a reference changes nothing.
  auto bad = store.Edit(Edits(R"pb(
      edits { put_transform_set { name: "CBC" esp_encryption: ENCRYPTION_AES_CBC_256 esp_integrity: INTEGRITY_HMAC_SHA2_256_128 } }
      edits { delete_access_list: "A" })pb"), 0, false);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("access list 'A' does not exist"));
  v1::IkeConfig now = store.Get();
  EXPECT_EQ(now.revision().number(), 1u);
  EXPECT_EQ(now.transform_sets_size(), 1);
  EXPECT_EQ(now.access_lists_size(), 1);
}

// The engine applies a change before the store keeps it: a refusal (the
// dataplane would not take the policies) is the caller's error, the stored
// revision stays and is applied again; readers are never blocked meanwhile.
TEST(ConfigStore, AChangeTheEngineRefusesIsNotKept) {
  FakeClock clock;
  ConfigStore store(&clock);
  std::vector<uint64_t> applied;  // revisions handed to the engine
  std::vector<bool> had_key;
  bool refuse = false;
  ASSERT_TRUE(store
                  .SetListener([&](const v1::IkeConfig& c) -> absl::Status {
                    applied.push_back(c.revision().number());
                    had_key.push_back(c.pre_shared_keys_size() > 0 &&
                                      !c.pre_shared_keys(0).key().empty());
                    // A reader during the apply does not wait for it.
                    EXPECT_LE(store.Get().revision().number(), c.revision().number());
                    if (refuse && c.revision().number() == 2) {
                      return absl::FailedPreconditionError("the dataplane refused an SPD policy");
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(store.Edit(Edits(kBase), 0, false).ok());
  refuse = true;
  auto r = store.Edit(Edits(R"pb(edits { put_transform_set { name: "CBC"
      esp_encryption: ENCRYPTION_AES_CBC_256 esp_integrity: INTEGRITY_HMAC_SHA2_256_128 } })pb"),
                      0, false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("refused an SPD policy"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("revision 1 stays in force"));
  EXPECT_EQ(store.Get().revision().number(), 1u);
  EXPECT_EQ(store.Get().transform_sets_size(), 1);
  // Empty start, revision 1, the refused 2, then 1 again with its keys.
  EXPECT_EQ(applied, (std::vector<uint64_t>{0, 1, 2, 1}));
  EXPECT_EQ(had_key, (std::vector<bool>{false, true, true, true}));
  // Validation alone never reaches the engine.
  ASSERT_TRUE(store.Edit(Edits(kBase), 0, true).ok());
  EXPECT_EQ(applied.size(), 4u);
}

TEST(ConfigStore, ReadsNeverReturnSecrets) {
  FakeClock clock;
  ConfigStore store(&clock);
  ASSERT_TRUE(store.Edit(Edits(kBase), 0, false).ok());
  v1::IkeConfig c = store.Get();
  ASSERT_EQ(c.pre_shared_keys_size(), 1);
  EXPECT_TRUE(c.pre_shared_keys(0).key().empty());
  EXPECT_TRUE(c.pre_shared_keys(0).key_set());
  EXPECT_EQ(c.DebugString().find("topsecret"), std::string::npos);
}

TEST(ConfigStore, RedactedRoundTripKeepsTheStoredKey) {
  FakeClock clock;
  ConfigStore store(&clock);
  ASSERT_TRUE(store.Edit(Edits(kBase), 0, false).ok());
  v1::IkeConfig read = store.Get();
  read.mutable_crypto_maps(0)->mutable_entries(0)->set_description("to site 2");
  auto r = store.Replace(read, read.revision().number(), false);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision, 2u);
  v1::IkeConfig again = store.Get();
  EXPECT_TRUE(again.pre_shared_keys(0).key_set());  // still has its key
  EXPECT_EQ(again.crypto_maps(0).entries(0).description(), "to site 2");

  // A redacted put for a peer that has no stored key is an empty key.
  auto no_key = store.Edit(Edits(R"pb(edits { put_pre_shared_key {
      hostname: "other.example" key_set: true } })pb"), 0, false);
  ASSERT_FALSE(no_key.ok());
  EXPECT_THAT(std::string(no_key.status().message()), HasSubstr("key: is empty"));
}

TEST(ConfigStore, ExpectedRevisionGuardsConcurrentWriters) {
  FakeClock clock;
  ConfigStore store(&clock);
  ASSERT_TRUE(store.Edit(Edits(kBase), 0, false).ok());
  auto stale = store.Edit(Edits(R"pb(edits { delete_pre_shared_key { address { address: "198.51.100.2" length: 32 } } })pb"),
                          7, false);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  auto fresh = store.Edit(Edits(R"pb(edits { delete_pre_shared_key { address { address: "198.51.100.2" length: 32 } } })pb"),
                          1, false);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(store.Get().pre_shared_keys_size(), 0);
}

TEST(ConfigStore, ValidateOnlyChangesNothingButReportsWarnings) {
  FakeClock clock;
  ConfigStore store(&clock);
  auto r = store.Edit(Edits(R"pb(
      edits { set_globals { allow_legacy_algorithms: true } }
      edits { put_isakmp_policy { priority: 10 encryption: ENCRYPTION_3DES hash: PRF_HMAC_SHA1
                                  group: DH_GROUP_MODP_1024 authentication: AUTH_METHOD_PRE_SHARE } })pb"),
                      0, /*validate_only=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision, 0u);
  EXPECT_EQ(r->warnings.size(), 2u);
  EXPECT_EQ(store.Get().isakmp_policies_size(), 0);
}

TEST(ConfigStore, DeletingWhatDoesNotExistIsNotFound) {
  FakeClock clock;
  ConfigStore store(&clock);
  auto r = store.Edit(Edits(R"pb(edits { delete_crypto_map: "GHOST" })pb"), 0, false);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("edit 1: crypto map GHOST"));
  EXPECT_EQ(store.Edit(Edits(R"pb(edits {})pb"), 0, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// `crypto key pubkey-chain rsa`: a key is put by address or name and
// replaced or deleted by the same; keys are public and read back whole.
TEST(ConfigStore, PubkeyChainKeysArePutReplacedAndDeleted) {
  FakeClock clock;
  ConfigStore store(&clock);
  const std::string der = (*auth::RsaKeyPair::FromPem(
      "t", testing::ReadTestData("services/ike/auth/testdata/rsa-hub.key")))->public_der();
  v1::EditConfigRequest req;
  for (const char* name : {"spoke9.example", ""}) {
    v1::RsaPublicKey* k = req.add_edits()->mutable_put_rsa_public_key();
    k->set_name(name);
    k->set_address("198.51.100.9");
    k->set_key(der);
  }
  ASSERT_TRUE(store.Edit(req.edits(), 0, false).ok());
  ASSERT_TRUE(store.Edit(req.edits(), 0, false).ok()) << "a put replaces";
  v1::IkeConfig c = store.Get();
  ASSERT_EQ(c.rsa_public_keys_size(), 2);
  EXPECT_EQ(c.rsa_public_keys(0).name(), "");  // addressed keys first
  EXPECT_EQ(c.rsa_public_keys(1).key(), der);
  auto del = store.Edit(Edits(R"pb(edits { delete_rsa_public_key { name: "spoke9.example" } })pb"),
                        0, false);
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(store.Get().rsa_public_keys_size(), 1);
  EXPECT_EQ(store.Edit(Edits(R"pb(edits { delete_rsa_public_key { address: "192.0.2.1" } })pb"),
                       0, false).status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigStore, ConfigurationIsKeptInCanonicalOrder) {
  FakeClock clock;
  ConfigStore store(&clock);
  ASSERT_TRUE(store.Edit(Edits(R"pb(
      edits { put_isakmp_policy { priority: 30 encryption: ENCRYPTION_AES_CBC_256 hash: PRF_HMAC_SHA2_256 group: DH_GROUP_MODP_2048 } }
      edits { put_isakmp_policy { priority: 10 encryption: ENCRYPTION_AES_CBC_128 hash: PRF_HMAC_SHA2_256 group: DH_GROUP_MODP_2048 } }
      edits { put_transform_set { name: "b" esp_encryption: ENCRYPTION_AES_GCM_128 } }
      edits { put_transform_set { name: "a" esp_encryption: ENCRYPTION_AES_GCM_256 } })pb"), 0, false).ok());
  v1::IkeConfig c = store.Get();
  EXPECT_EQ(c.isakmp_policies(0).priority(), 10u);
  EXPECT_EQ(c.transform_sets(0).name(), "a");
}

}  // namespace
}  // namespace vpnfleet::ike
