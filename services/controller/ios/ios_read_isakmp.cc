#include "services/controller/ios/ios_reader.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"

namespace vpnfleet::controller::ios::internal {

void Reader::Isakmp(const Words& w) {
  const std::string entry = "crypto isakmp";
  if (w.size() < 3) return Error(line_, entry, "", "incomplete crypto isakmp command");
  // Only a command that sets something makes the globals exist: `crypto
  // isakmp enable` alone must read back the same after a write.
  auto g = [this] { return result_.config.mutable_globals(); };
  absl::string_view what = w[2];
  if (what == "policy") {
    uint64_t prio;
    if (w.size() != 4 || !ParseUint(w[3], 10000, &prio) || prio == 0) {
      return Error(line_, "crypto isakmp policy", "priority",
                   "crypto isakmp policy takes a priority 1..10000");
    }
    ike::IsakmpPolicy*& p = isakmp_policy_by_priority_[static_cast<uint32_t>(prio)];
    if (p == nullptr) {
      p = result_.config.add_isakmp_policies();
      p->set_priority(static_cast<uint32_t>(prio));
      p->set_version(ike::IKE_VERSION_1);  // IOS: crypto isakmp is IKEv1
    }
    policy_ = p;
    mode_ = Mode::kIsakmpPolicy;
    return;
  }
  if (what == "key") return IsakmpKey(w);
  if (what == "profile") {
    if (w.size() != 4) return Error(line_, "crypto isakmp profile", "", "crypto isakmp profile NAME");
    IsakmpProfile& p = isakmp_profiles_[std::string(w[3])];
    if (p.line == 0) p.line = line_;
    isakmp_profile_ = &p;
    entry_name_ = absl::StrCat("crypto isakmp profile ", w[3]);
    mode_ = Mode::kIsakmpProfile;
    return;
  }
  if (what == "identity") {
    if (w.size() != 4) return Error(line_, entry, "identity", "identity address|hostname|dn");
    if (w[3] == "address") g()->set_identity(ike::ISAKMP_IDENTITY_ADDRESS);
    else if (w[3] == "hostname") g()->set_identity(ike::ISAKMP_IDENTITY_HOSTNAME);
    else if (w[3] == "dn") g()->set_identity(ike::ISAKMP_IDENTITY_DN);
    else Error(line_, entry, "identity", absl::StrCat("unknown identity '", w[3], "'; address, hostname or dn"));
    return;
  }
  if (what == "keepalive") {
    uint64_t secs = 0, retry = 0;
    size_t i = 3;
    if (w.size() < 4 || !ParseUint(w[3], 3600, &secs) || secs < 10) {
      return Error(line_, entry, "keepalive", "keepalive SECONDS (10..3600) [RETRY] [periodic|on-demand]");
    }
    ++i;
    g()->set_keepalive_seconds(static_cast<uint32_t>(secs));
    keepalive_line_ = line_;
    g()->set_keepalive_retry_seconds(0);
    g()->set_keepalive_mode(ike::KEEPALIVE_MODE_UNSPECIFIED);
    if (i < w.size() && ParseUint(w[i], 60, &retry)) {
      if (retry < 2) return Error(line_, entry, "keepalive", "retry interval is 2..60 seconds");
      g()->set_keepalive_retry_seconds(static_cast<uint32_t>(retry));
      ++i;
    }
    if (i < w.size()) {
      if (w[i] == "periodic") g()->set_keepalive_mode(ike::KEEPALIVE_MODE_PERIODIC);
      else if (w[i] == "on-demand") g()->set_keepalive_mode(ike::KEEPALIVE_MODE_ON_DEMAND);
      else return Error(line_, entry, "keepalive", absl::StrCat("unknown keepalive mode '", w[i], "'"));
      ++i;
    }
    if (i != w.size()) Error(line_, entry, "keepalive", "extra words after keepalive");
    return;
  }
  if (what == "nat") {
    uint64_t secs;
    if (w.size() != 5 || w[3] != "keepalive" || !ParseUint(w[4], 3600, &secs) || secs < 5) {
      return Error(line_, entry, "nat keepalive", "nat keepalive SECONDS (5..3600)");
    }
    g()->set_nat_keepalive_seconds(static_cast<uint32_t>(secs));
    return;
  }
  if (what == "invalid-spi-recovery" && w.size() == 3) {
    g()->set_invalid_spi_recovery(true);
    return;
  }
  if (what == "aggressive-mode" && w.size() == 4 && w[3] == "disable") {
    g()->set_aggressive_mode_disabled(true);
    return;
  }
  if (what == "allow-legacy-algorithms" && w.size() == 3) {  // vpnfleet's switch
    g()->set_allow_legacy_algorithms(true);
    return;
  }
  if (what == "enable" && w.size() == 3) {
    return Skip("crypto isakmp enable: IKEv1 answers wherever an ISAKMP policy is configured");
  }
  Error(line_, entry, std::string(what),
        absl::StrCat("unsupported command 'crypto isakmp ", absl::StrJoin(w.begin() + 2, w.end(), " "), "'"));
}

// crypto isakmp key [0] KEY {address IP [MASK] | hostname NAME} [no-xauth]
void Reader::IsakmpKey(const Words& w) {
  const std::string entry = "crypto isakmp key";
  size_t i = 3;
  if (!SkipKeyType(w, i, 2, entry, "key")) return;
  if (w.size() < i + 3) {
    return Error(line_, entry, "", "crypto isakmp key KEY {address IP [MASK] | hostname NAME}");
  }
  ike::PreSharedKey psk;
  psk.set_key(std::string(w[i]));
  const absl::string_view kind = w[i + 1];
  size_t j = i + 3;
  if (kind == "address") {
    absl::string_view mask;
    if (j < w.size() && w[j] != "no-xauth") mask = w[j++];
    auto prefix = PeerPrefix(w[i + 2], mask, entry);
    if (!prefix) return;
    *psk.mutable_address() = std::move(*prefix);
  } else if (kind == "hostname") {
    psk.set_hostname(std::string(w[i + 2]));
  } else {
    return Error(line_, entry, "", absl::StrCat("expected address or hostname, not '", kind, "'"));
  }
  if (j < w.size() && w[j] == "no-xauth") {
    psk.set_no_xauth(true);
    ++j;
  }
  if (j != w.size()) return Error(line_, entry, "", "extra words after the peer");
  // The same peer again replaces the key, as on IOS.
  ike::PreSharedKey*& existing = psk_by_peer_[PeerKey(psk)];
  if (existing == nullptr) existing = result_.config.add_pre_shared_keys();
  *existing = std::move(psk);
}

// Two keys are for the same peer when they name it alike.
std::string Reader::PeerKey(const ike::PreSharedKey& psk) {
  return absl::StrCat(static_cast<int>(psk.peer_case()), " ", psk.hostname(), " ", psk.address().address(), "/",
                      psk.address().length());
}

void Reader::PolicySub(const Words& w, absl::string_view text) {
  ike::IsakmpPolicy* p = policy_;
  const std::string entry = absl::StrCat("crypto isakmp policy ", p->priority());
  const std::string field(w[0]);
  const std::string args = absl::StrJoin(w.begin() + 1, w.end(), " ");
  if (w[0] == "encryption" || w[0] == "encr") {  // `encr`: IOS 15's abbreviation
    auto e = IsakmpEncryption(args);
    if (!e) return Error(line_, entry, field, absl::StrCat("unknown encryption '", args, "'"));
    p->set_encryption(*e);
  } else if (w[0] == "hash") {
    auto h = IsakmpHash(args);
    if (!h) return Error(line_, entry, field, absl::StrCat("unknown hash '", args, "'"));
    p->set_hash(*h);
  } else if (w[0] == "integrity") {
    return Error(line_, entry, field,
                 "IKEv1 takes its integrity from the hash; IKEv2 algorithms go in a crypto ikev2 proposal");
  } else if (w[0] == "authentication") {
    auto a = IsakmpAuthentication(args);
    if (!a) return Error(line_, entry, field, absl::StrCat("unknown authentication '", args, "'"));
    p->set_authentication(*a);
  } else if (w[0] == "group") {
    auto g = DhGroupNumber(args);
    if (!g) return Error(line_, entry, field, UnknownGroup(args));
    p->set_group(*g);
  } else if (w[0] == "lifetime") {
    uint64_t n;
    if (!ParseUint(args, 86400, &n) || n < 60) {
      return Error(line_, entry, field, "lifetime is 60..86400 seconds");
    }
    p->set_lifetime_seconds(static_cast<uint32_t>(n));
  } else if (w[0] == "version") {
    return Error(line_, entry, field,
                 "crypto isakmp policy is IKEv1 on IOS; write IKEv2 as crypto ikev2 proposal, policy, "
                 "keyring and profile, and set ikev2-profile on the crypto map entry");
  } else {
    Error(line_, entry, field, absl::StrCat("unknown command '", text, "'"));
  }
}

}  // namespace vpnfleet::controller::ios::internal
