// IKEv1's keyrings and ISAKMP profiles, as IOS 12.4/15 write them:
//
//   crypto keyring NAME
//    pre-shared-key address IP [MASK] key [0] KEY
//    pre-shared-key hostname NAME key [0] KEY
//   crypto isakmp profile NAME
//    keyring NAME / ca trust-point NAME / match identity ... /
//    self-identity address|fqdn / initiate mode aggressive / keepalive N retry R
//   crypto map NAME SEQ ipsec-isakmp / set isakmp-profile NAME
//
// As with IKEv2's profiles, only what a crypto map entry uses counts: the
// keys of its keyrings join the pre-shared keys (one key per peer), its
// self-identity and keepalive become the global ones our policy keeps, and
// `initiate mode aggressive` marks the entries that set it.
#include "services/controller/ios/ios_reader.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/ip.h"

namespace vpnfleet::controller::ios::internal {

// crypto keyring NAME [vrf VRF]
void Reader::KeyringStart(const Words& w) {
  if (w.size() != 3) {
    return Error(line_, "crypto keyring", "",
                 w.size() > 3 && w[3] == "vrf" ? "VRFs are not supported" : "crypto keyring NAME");
  }
  Keyring& k = keyrings_[std::string(w[2])];
  if (k.line == 0) k.line = line_;
  keyring_ = &k;
  entry_name_ = absl::StrCat("crypto keyring ", w[2]);
  mode_ = Mode::kKeyring;
}

void Reader::KeyringSub(const Words& w, absl::string_view text) {
  const std::string& entry = entry_name_;
  if (w[0] == "description") return Skip(kSkipDescription);
  if (w[0] == "local-address") {
    return Warn(line_, entry, "local-address", "not carried: vpnfleet answers on every local address");
  }
  if (w[0] != "pre-shared-key" || w.size() < 5) {
    return Error(line_, entry, std::string(w[0]),
                 absl::StrCat("expected pre-shared-key address IP [MASK] key KEY | hostname NAME key KEY, not '",
                              text, "'"));
  }
  KeyringPeer peer;
  peer.line = line_;
  size_t i = 3;
  if (w[1] == "address") {
    absl::string_view mask;
    if (w[3] != "key") {
      mask = w[3];
      ++i;
    }
    auto prefix = PeerPrefix(w[2], mask, entry);
    if (!prefix) return;
    *peer.psk.mutable_address() = std::move(*prefix);
  } else if (w[1] == "hostname") {
    peer.psk.set_hostname(std::string(w[2]));
  } else {
    return Error(line_, entry, "pre-shared-key", "pre-shared-key address ... | hostname ...");
  }
  if (i >= w.size() || w[i] != "key") return Error(line_, entry, "pre-shared-key", "missing 'key KEY'");
  ++i;
  if (!SkipKeyType(w, i, 1, entry, "key")) return;
  if (i + 1 != w.size()) return Error(line_, entry, "key", "one key after 'key'");
  peer.psk.set_key(std::string(w[i]));
  peer.has_key = true;
  keyring_->peers.push_back(std::move(peer));
}

void Reader::IsakmpProfileSub(const Words& w, absl::string_view text) {
  IsakmpProfile& p = *isakmp_profile_;
  const std::string& entry = entry_name_;
  if (w[0] == "description") return Skip(kSkipDescription);
  if (w[0] == "keyring" && w.size() == 2) {
    p.keyrings.push_back({std::string(w[1]), line_});
    return;
  }
  if (w[0] == "ca" && w.size() == 3 && w[1] == "trust-point") {
    p.trustpoints.push_back({std::string(w[2]), line_});
    return;
  }
  if (w[0] == "match" && w.size() >= 3 && w[1] == "identity") {
    const bool any = w.size() == 4 && w[2] == "address" && w[3] == "0.0.0.0";
    if (w[2] == "group") {
      return Error(line_, entry, "match identity group", "Easy VPN groups (XAUTH, mode config) are not supported");
    }
    if (!any && !p.match_warned) {
      Warn(line_, entry, "match identity",
           "not carried: vpnfleet accepts the peers of the crypto map entries and of the keys "
           "(by address or hostname), whatever this profile's match lines say");
      p.match_warned = true;
      return;
    }
    return Skip(any ? "match identity address 0.0.0.0: what vpnfleet does, any peer that authenticates"
                    : kSkipMatchWarned);
  }
  if (w[0] == "match" && w.size() >= 2 && w[1] == "certificate") {
    return Error(line_, entry, "match certificate", "certificate maps are not supported");
  }
  if (w[0] == "self-identity" && w.size() >= 2) {
    if (w[1] == "address" && w.size() == 2) {
      p.identity = ike::ISAKMP_IDENTITY_ADDRESS;
    } else if (w[1] == "fqdn" && w.size() == 2) {
      p.identity = ike::ISAKMP_IDENTITY_HOSTNAME;
    } else {
      return Error(line_, entry, "self-identity", "self-identity address | fqdn (user-fqdn is not supported)");
    }
    p.identity_line = line_;
    return;
  }
  if (w[0] == "initiate" && w.size() == 3 && w[1] == "mode" && w[2] == "aggressive") {
    p.aggressive = true;
    return;
  }
  if (w[0] == "keepalive") {
    // keepalive SECONDS retry RETRY: IKEv1 DPD, our one global setting.
    uint64_t secs = 0, retry = 0;
    if (w.size() != 4 || w[2] != "retry" || !ParseUint(w[1], 3600, &secs) || secs < 10 ||
        !ParseUint(w[3], 60, &retry) || retry < 2) {
      return Error(line_, entry, "keepalive", "keepalive SECONDS (10..3600) retry RETRY (2..60)");
    }
    auto* g = result_.config.mutable_globals();
    if (g->keepalive_seconds() != 0 &&
        (g->keepalive_seconds() != secs || g->keepalive_retry_seconds() != retry)) {
      return Error(line_, entry, "keepalive", "vpnfleet keeps one DPD setting for every peer; another was set before");
    }
    if (g->keepalive_seconds() != 0) return Skip(SameKeepalive());
    g->set_keepalive_seconds(static_cast<uint32_t>(secs));
    g->set_keepalive_retry_seconds(static_cast<uint32_t>(retry));
    keepalive_line_ = line_;
    return;
  }
  if (w[0] == "local-address") {
    return Warn(line_, entry, "local-address", "not carried: vpnfleet answers on every local address");
  }
  Error(line_, entry, std::string(w[0]),
        absl::StrCat("'", text, "' is not supported (VRFs, XAUTH and mode config, virtual templates, "
                                "ISAKMP authorization are not)"));
}

void Reader::FinishIsakmpProfiles() {
  std::set<std::string> used, keyrings;
  for (const ProfileUse& use : isakmp_profile_uses_) {
    auto it = isakmp_profiles_.find(use.profile.name);
    if (it == isakmp_profiles_.end()) {
      Error(use.profile.line, "crypto map", "set isakmp-profile",
            absl::StrCat("crypto isakmp profile ", use.profile.name, " is not defined"));
      continue;
    }
    const IsakmpProfile& p = it->second;
    // A dynamic map's entries only answer: how to initiate means nothing there.
    use.entry->set_initiate_aggressive(p.aggressive && use.entry->kind() == ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP);
    if (!used.insert(use.profile.name).second) continue;
    const std::string entry = absl::StrCat("crypto isakmp profile ", use.profile.name);
    for (const Named& k : p.keyrings) {
      if (keyrings_.count(k.name) == 0) {
        Error(k.line, entry, "keyring", absl::StrCat("crypto keyring ", k.name, " is not defined"));
      } else {
        keyrings.insert(k.name);
      }
    }
    for (const Named& tp : p.trustpoints) {
      if (!TrustpointDefined(tp.name)) {
        Error(tp.line, entry, "ca trust-point", absl::StrCat("crypto pki trustpoint ", tp.name, " is not defined"));
      }
    }
    if (p.identity) ApplyIdentity(*p.identity, "", p.identity_line, entry);
  }
  for (const auto& [name, p] : isakmp_profiles_) {
    if (used.count(name) == 0) {
      Warn(p.line, absl::StrCat("crypto isakmp profile ", name), "",
           "no crypto map entry sets this profile (set isakmp-profile): left out");
    }
  }
  for (const auto& [name, k] : keyrings_) {
    if (keyrings.count(name) == 0) {
      Warn(k.line, absl::StrCat("crypto keyring ", name), "",
           "no ISAKMP profile in use names this keyring: its keys are left out");
      continue;
    }
    for (const KeyringPeer& peer : k.peers) AddKeyringKey(peer, absl::StrCat("crypto keyring ", name));
  }
}

}  // namespace vpnfleet::controller::ios::internal
