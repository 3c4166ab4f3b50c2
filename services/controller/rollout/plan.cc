#include "services/controller/rollout/plan.h"

#include "common/secrets/ike_config_secrets.h"

#include <openssl/sha.h>

#include <set>

#include "absl/strings/escaping.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/controller/ios/ios_writer.h"
#include "services/controller/templates/desired.h"

namespace vpnfleet::controller {
namespace {

namespace ike = vpnfleet::ike::v1;

// Each line with its section header in front, and a sub-section's lines
// (a keyring's peer, a pubkey chain's key) with its header too: the
// `pre-shared-key <hidden>` of one peer is not another's.
std::vector<std::string> Qualified(const std::string& text) {
  std::vector<std::string> out;
  std::string section, sub;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const absl::string_view bare = absl::StripLeadingAsciiWhitespace(line);
    if (bare.empty() || bare == "!") continue;
    if (absl::StartsWith(line, "  ")) {
      out.push_back(absl::StrCat(section, ":", sub, ":", line.substr(1)));
    } else if (line[0] == ' ') {
      sub = std::string(line);
      out.push_back(absl::StrCat(section, ":", line));
    } else {
      section = std::string(line);
      sub.clear();
      out.push_back(section);
    }
  }
  return out;
}

// Both sides as the device reports them: keys as key_set flags.
ike::IkeConfig Comparable(const ike::IkeConfig& c) {
  ike::IkeConfig copy = c;
  copy.clear_revision();
  secrets::RedactIkeConfig(&copy);
  return copy;
}

}  // namespace

std::vector<std::string> DiffPolicies(const ike::IkeConfig& current, const ike::IkeConfig& desired) {
  const std::vector<std::string> before = Qualified(ios::WriteIosConfig(Comparable(current)));
  const std::vector<std::string> after = Qualified(ios::WriteIosConfig(Comparable(desired)));
  const std::multiset<std::string> b(before.begin(), before.end()), a(after.begin(), after.end());
  std::vector<std::string> out;
  for (const auto& l : before) {
    if (!a.count(l)) out.push_back("- " + l);
  }
  for (const auto& l : after) {
    if (!b.count(l)) out.push_back("+ " + l);
  }
  return out;
}

std::string PolicyFingerprint(const ike::IkeConfig& config) {
  ike::IkeConfig copy = config;
  copy.clear_revision();
  std::string bytes;
  // Deterministic serialization: equal policies give equal bytes.
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&coded);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  std::fill(bytes.begin(), bytes.end(), '\0');
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), sizeof digest));
}

v1::DevicePlan PlanDevice(const std::string& device, uint64_t desired_revision, const ike::IkeConfig& desired,
                          const ike::IkeConfig& current, const std::optional<v1::AppliedPolicy>& applied) {
  v1::DevicePlan plan;
  plan.set_device(device);
  plan.set_desired_revision(desired_revision);
  if (applied) plan.set_current_revision(applied->desired_revision());
  for (auto& line : DiffPolicies(current, desired)) plan.add_changes(std::move(line));
  const bool empty = current.isakmp_policies().empty() && current.crypto_maps().empty() &&
                     current.transform_sets().empty() && current.access_lists().empty();
  if (plan.changes_size() == 0 && applied &&
      PolicyFingerprint(applied->config()) != PolicyFingerprint(desired)) {
    plan.add_changes("~ pre-shared or manual keys change");
  }
  if (plan.changes_size() == 0 && !applied && !desired.pre_shared_keys().empty()) {
    // The device runs the same lines, but the controller never gave it these
    // keys: they may differ.
    plan.add_changes("~ pre-shared keys not applied by this controller yet");
  }
  if (plan.changes_size() == 0) {
    plan.set_change(v1::DEVICE_CHANGE_NONE);
  } else {
    plan.set_change(empty ? v1::DEVICE_CHANGE_CREATE : v1::DEVICE_CHANGE_UPDATE);
  }
  return plan;
}

}  // namespace vpnfleet::controller
