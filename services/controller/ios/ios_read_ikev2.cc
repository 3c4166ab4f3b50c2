// IKEv2 as IOS 15 writes it (FlexVPN's building blocks):
//
//   crypto ikev2 proposal NAME         encryption / integrity / prf / group,
//                                      several algorithms a line
//   crypto ikev2 policy NAME           proposal NAME ... (in preference order)
//   crypto ikev2 keyring NAME          peer NAME / address / identity /
//                                      pre-shared-key
//   crypto ikev2 profile NAME          authentication local|remote, keyring
//                                      local, identity local, lifetime, dpd
//   crypto map NAME SEQ ipsec-isakmp / set ikev2-profile NAME
//
// Our policy holds IKEv2 as `isakmp_policies` of version 2, one algorithm of
// each kind apiece, so a proposal becomes the product of its algorithms in
// the order written; the profile's method and lifetime go on each of them
// and its keyring's keys join the pre-shared keys. What our policy cannot
// hold (two profiles authenticating differently, a local key unlike the
// remote one) is refused with its line; what it does not need is named in a
// warning with the reason. Only what a crypto map entry uses counts: IOS
// negotiates IKEv2 for an entry only through its profile.
#include "services/controller/ios/ios_reader.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"

namespace vpnfleet::controller::ios::internal {
namespace {

bool IsCombinedMode(c::EncryptionAlgorithm e) {
  return e == c::ENCRYPTION_AES_GCM_128 || e == c::ENCRYPTION_AES_GCM_256 ||
         e == c::ENCRYPTION_CHACHA20_POLY1305;
}

template <typename T>
void AddOnce(std::vector<T>& v, T x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

void Reader::Ikev2(const Words& w) {
  if (w.size() < 3) return Error(line_, "crypto ikev2", "", "incomplete crypto ikev2 command");
  const absl::string_view what = w[2];
  const std::string head = absl::StrCat("crypto ikev2 ", what);
  if (what == "proposal" || what == "policy" || what == "keyring" || what == "profile") {
    if (w.size() != 4) return Error(line_, head, "", absl::StrCat(head, " NAME"));
    const std::string name(w[3]);
    entry_name_ = absl::StrCat(head, " ", name);
    if (what == "proposal") {
      Ikev2Proposal& p = ikev2_proposals_[name];
      if (p.line == 0) p.line = line_;
      ikev2_proposal_ = &p;
      mode_ = Mode::kIkev2Proposal;
    } else if (what == "policy") {
      if (ikev2_policy_line_ == 0) ikev2_policy_line_ = line_;
      mode_ = Mode::kIkev2Policy;
    } else if (what == "keyring") {
      Keyring& k = ikev2_keyrings_[name];
      if (k.line == 0) k.line = line_;
      ikev2_keyring_ = &k;
      mode_ = Mode::kIkev2Keyring;
    } else {
      Ikev2Profile& p = ikev2_profiles_[name];
      if (p.line == 0) p.line = line_;
      ikev2_profile_ = &p;
      mode_ = Mode::kIkev2Profile;
    }
    return;
  }
  if (what == "dpd") return Ikev2Dpd(w, 3, line_, head);
  if (what == "nat") {
    uint64_t secs;
    if (w.size() != 5 || w[3] != "keepalive" || !ParseUint(w[4], 3600, &secs) || secs < 5) {
      return Error(line_, head, "nat keepalive", "nat keepalive SECONDS (5..3600)");
    }
    result_.config.mutable_globals()->set_nat_keepalive_seconds(static_cast<uint32_t>(secs));
    return;
  }
  if (what == "fragmentation") {
    // vpnfleet fragments (RFC 7383) whenever the peer announces support.
    if (w.size() > 3) Warn(line_, head, "mtu", "the fragment size follows the path, not a set MTU; not carried");
    return;
  }
  if (what == "cookie-challenge" || what == "limit" || what == "diagnose" || what == "http-url" ||
      what == "window") {
    return Warn(line_, head, "",
                "not carried: vpnfleet sends cookies and limits half-open SAs by its own load "
                "thresholds, and its message window is 1");
  }
  Error(line_, head, "", absl::StrCat("unsupported command 'crypto ikev2 ",
                                      absl::StrJoin(w.begin() + 2, w.end(), " "), "'"));
}

// dpd INTERVAL RETRY {on-demand|periodic}, in a profile or global; our
// policy keeps one DPD setting for every peer, as `crypto isakmp keepalive`.
void Reader::Ikev2Dpd(const Words& w, size_t first, uint32_t line, absl::string_view entry) {
  uint64_t secs = 0, retry = 0;
  if (w.size() != first + 3 || !ParseUint(w[first], 3600, &secs) || secs < 10 ||
      !ParseUint(w[first + 1], 60, &retry) || retry < 2 ||
      (w[first + 2] != "on-demand" && w[first + 2] != "periodic")) {
    return Error(line, entry, "dpd", "dpd INTERVAL (10..3600) RETRY (2..60) on-demand|periodic");
  }
  const ike::KeepaliveMode mode =
      w[first + 2] == "periodic" ? ike::KEEPALIVE_MODE_PERIODIC : ike::KEEPALIVE_MODE_ON_DEMAND;
  auto* g = result_.config.mutable_globals();
  if (g->keepalive_seconds() != 0 &&
      (g->keepalive_seconds() != secs || g->keepalive_retry_seconds() != retry ||
       g->keepalive_mode() != mode)) {
    return Error(line, entry, "dpd",
                 absl::StrCat("vpnfleet keeps one DPD setting for every peer; ", g->keepalive_seconds(),
                              " s was set before (crypto isakmp keepalive or another dpd)"));
  }
  if (g->keepalive_seconds() != 0) {
    line_ = line;
    return Skip(SameKeepalive());
  }
  g->set_keepalive_seconds(static_cast<uint32_t>(secs));
  g->set_keepalive_retry_seconds(static_cast<uint32_t>(retry));
  g->set_keepalive_mode(mode);
  keepalive_line_ = line;
}

void Reader::Ikev2ProposalSub(const Words& w, absl::string_view text) {
  Ikev2Proposal& p = *ikev2_proposal_;
  const std::string field(w[0]);
  if (w.size() < 2) return Error(line_, entry_name_, field, absl::StrCat(field, " needs algorithms"));
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[0] == "encryption") {
      auto e = Ikev2Encryption(w[i]);
      if (!e) return Error(line_, entry_name_, field, absl::StrCat("unknown encryption '", w[i], "'"));
      AddOnce(p.encryption, *e);
    } else if (w[0] == "integrity") {
      auto a = Ikev2Integrity(w[i]);
      if (!a) return Error(line_, entry_name_, field, absl::StrCat("unknown integrity '", w[i], "'"));
      AddOnce(p.integrity, *a);
    } else if (w[0] == "prf") {
      auto f = Ikev2Prf(w[i]);
      if (!f) return Error(line_, entry_name_, field, absl::StrCat("unknown prf '", w[i], "'"));
      AddOnce(p.prf, *f);
    } else if (w[0] == "group") {
      auto g = DhGroupNumber(w[i]);
      if (!g) return Error(line_, entry_name_, field, UnknownGroup(w[i]));
      AddOnce(p.groups, *g);
    } else {
      return Error(line_, entry_name_, field, absl::StrCat("unknown command '", text, "'"));
    }
  }
}

void Reader::Ikev2PolicySub(const Words& w, absl::string_view text) {
  if (w[0] == "proposal" && w.size() == 2) {
    ikev2_policy_proposals_.push_back({std::string(w[1]), line_});
    return;
  }
  if (w[0] == "description") return Skip(kSkipDescription);
  if (w[0] == "match" && w.size() == 3 && w[1] == "fvrf" && w[2] == "any") return Skip(kSkipFvrfAny);
  if (w[0] == "match" && w.size() >= 2 && w[1] == "fvrf") {
    return Error(line_, entry_name_, "match fvrf", "VRFs are not supported: only 'match fvrf any'");
  }
  if (w[0] == "match" && w.size() == 4 && w[1] == "address" && w[2] == "local") {
    return Warn(line_, entry_name_, "match address local",
                "not carried: vpnfleet offers its IKEv2 proposals on every local address");
  }
  Error(line_, entry_name_, std::string(w[0]), absl::StrCat("unknown command '", text, "'"));
}

// A keyring's peers, each ` peer NAME` up to its ` !`:
//   address IP [MASK] | hostname NAME | identity address IP | identity fqdn NAME
//   pre-shared-key [local|remote] [0] KEY
void Reader::Ikev2KeyringSub(const Words& w, absl::string_view text) {
  Keyring& k = *ikev2_keyring_;
  if (w[0] == "peer") {
    if (w.size() != 2) return Error(line_, entry_name_, "peer", "peer NAME");
    k.peers.push_back({std::string(w[1]), line_, {}, false});
    mode_ = Mode::kIkev2Peer;
    return;
  }
  if (w[0] == "description") return Skip(kSkipDescription);
  if (mode_ != Mode::kIkev2Peer || k.peers.empty()) {
    return Error(line_, entry_name_, std::string(w[0]), absl::StrCat("unknown command '", text, "'"));
  }
  KeyringPeer& peer = k.peers.back();
  const std::string entry = absl::StrCat(entry_name_, " peer ", peer.name);
  auto set_address = [&](absl::string_view ip, absl::string_view mask) {
    if (auto prefix = PeerPrefix(ip, mask, entry)) *peer.psk.mutable_address() = std::move(*prefix);
  };
  if (w[0] == "address" && (w.size() == 2 || w.size() == 3)) {
    if (peer.psk.peer_case() == ike::PreSharedKey::kHostname) {
      Warn(line_, entry, "address", "the key is looked up by this address; the hostname given before is not carried");
    }
    return set_address(w[1], w.size() == 3 ? w[2] : absl::string_view());
  }
  const bool fqdn = (w[0] == "hostname" && w.size() == 2) ||
                    (w[0] == "identity" && w.size() >= 3 && w[1] == "fqdn");
  if (fqdn) {
    const absl::string_view name = w.back();
    if (w[0] == "identity" && !(w.size() == 3 || (w.size() == 4 && w[2] == "domain"))) {
      return Error(line_, entry, "identity", "identity fqdn [domain] NAME");
    }
    if (peer.psk.peer_case() == ike::PreSharedKey::kAddress) {
      return Warn(line_, entry, std::string(w[0]),
                  "the key is looked up by the peer's address given before; the name is not carried");
    }
    peer.psk.set_hostname(std::string(name));
    return;
  }
  if (w[0] == "identity" && w.size() == 3 && w[1] == "address") {
    if (peer.psk.peer_case() == ike::PreSharedKey::kAddress) {
      if (peer.psk.address().address() != w[2]) {
        Warn(line_, entry, "identity address", "the key is looked up by the peer's address given before; not carried");
      }
      return;
    }
    return set_address(w[2], {});
  }
  if (w[0] == "identity") {
    return Error(line_, entry, "identity",
                 "only address and fqdn identities select a key (email and key-id are not supported)");
  }
  if (w[0] == "pre-shared-key") {
    size_t i = 1;
    absl::string_view side;
    if (i < w.size() && (w[i] == "local" || w[i] == "remote")) side = w[i++];
    if (!SkipKeyType(w, i, 1, entry, "pre-shared-key")) return;
    if (i + 1 != w.size()) return Error(line_, entry, "pre-shared-key", "pre-shared-key [local|remote] [0] KEY");
    const std::string key(w[i]);
    if (peer.has_key && peer.psk.key() != key) {
      return Error(line_, entry, "pre-shared-key",
                   absl::StrCat("vpnfleet uses one key both ways; this ", side.empty() ? "" : side,
                                side.empty() ? "" : " ", "key differs from the one given before"));
    }
    if (peer.has_key) {
      return Skip(absl::StrCat("the same key as line ", peer.key_line, ": vpnfleet uses one key both ways"));
    }
    peer.psk.set_key(key);
    peer.has_key = true;
    peer.key_line = line_;
    return;
  }
  Error(line_, entry, std::string(w[0]), absl::StrCat("unknown command '", text, "'"));
}

void Reader::Ikev2ProfileSub(const Words& w, absl::string_view text) {
  Ikev2Profile& p = *ikev2_profile_;
  const std::string& entry = entry_name_;
  const std::string field(w[0]);
  if (w[0] == "description") return Skip(kSkipDescription);
  if (w[0] == "match" && w.size() == 4 && w[1] == "identity" && w[2] == "remote" && w[3] == "any") {
    return Skip("match identity remote any: what vpnfleet does, any peer that authenticates");
  }
  if (w[0] == "match" && w.size() >= 3 && w[1] == "identity" && w[2] == "remote") {
    if (!p.match_warned) {
      Warn(line_, entry, "match identity remote",
           "not carried: vpnfleet accepts the peers of the crypto map entries and of the keyring "
           "(by address or FQDN), whatever this profile's match lines say");
      p.match_warned = true;
      return;
    }
    return Skip(kSkipMatchWarned);
  }
  if (w[0] == "match" && w.size() == 4 && w[1] == "address" && w[2] == "local") {
    return Warn(line_, entry, "match address local", "not carried: vpnfleet answers on every local address");
  }
  if (w[0] == "match" && w.size() == 3 && w[1] == "fvrf" && w[2] == "any") return Skip(kSkipFvrfAny);
  if (w[0] == "match") {
    return Error(line_, entry, "match",
                 absl::StrCat("'", text, "' is not supported (certificate maps, VRFs)"));
  }
  if (w[0] == "identity" && w.size() >= 3 && w[1] == "local") {
    if (w[2] == "address" && w.size() == 4 && net::ParseAddress(w[3]).ok()) {
      p.identity = ike::ISAKMP_IDENTITY_ADDRESS;
    } else if (w[2] == "fqdn" && w.size() == 4) {
      p.identity = ike::ISAKMP_IDENTITY_HOSTNAME;
      p.fqdn = std::string(w[3]);
    } else if (w[2] == "dn" && w.size() == 3) {
      p.identity = ike::ISAKMP_IDENTITY_DN;
    } else {
      return Error(line_, entry, "identity local", "identity local address IP | fqdn NAME | dn");
    }
    p.identity_line = line_;
    return;
  }
  if (w[0] == "authentication" && w.size() == 3 && (w[1] == "local" || w[1] == "remote")) {
    auto a = IsakmpAuthentication(w[2]);
    if (!a || *a == ike::AUTH_METHOD_RSA_ENCR) {
      return Error(line_, entry, "authentication",
                   absl::StrCat("'", w[2], "' is not an IKEv2 method here: pre-share, rsa-sig or ecdsa-sig"));
    }
    p.authentication.push_back({*a, line_});
    return;
  }
  if (w[0] == "authentication") {
    return Error(line_, entry, "authentication",
                 "authentication local|remote pre-share|rsa-sig|ecdsa-sig (keys in a keyring; no EAP)");
  }
  if (w[0] == "keyring" && ((w.size() == 3 && w[1] == "local") || w.size() == 2)) {
    p.keyring = {std::string(w.back()), line_};
    return;
  }
  if (w[0] == "pki" && w.size() >= 3 && w.size() <= 4 && w[1] == "trustpoint") {
    p.trustpoints.push_back({std::string(w[2]), line_});
    return;
  }
  if (w[0] == "lifetime") {
    uint64_t n;
    if (w.size() != 2 || !ParseUint(w[1], 86400, &n) || n < 120) {
      return Error(line_, entry, "lifetime", "lifetime is 120..86400 seconds");
    }
    p.lifetime_seconds = static_cast<uint32_t>(n);
    p.lifetime_line = line_;
    return;
  }
  if (w[0] == "dpd") return Ikev2Dpd(w, 1, line_, entry);
  if (w[0] == "nat" && w.size() == 3 && w[1] == "keepalive") {
    uint64_t secs;
    if (!ParseUint(w[2], 3600, &secs) || secs < 5) {
      return Error(line_, entry, "nat keepalive", "nat keepalive SECONDS (5..3600)");
    }
    result_.config.mutable_globals()->set_nat_keepalive_seconds(static_cast<uint32_t>(secs));
    return;
  }
  Error(line_, entry, field,
        absl::StrCat("'", text, "' is not supported (virtual templates, AAA, config-exchange, "
                                "redirects and inside VRFs are not)"));
}

void Reader::FinishIkev2() {
  if (ikev2_profile_uses_.empty()) {
    uint32_t line = ikev2_policy_line_;
    for (const auto& [name, p] : ikev2_proposals_) line = line ? std::min(line, p.line) : p.line;
    for (const auto& [name, k] : ikev2_keyrings_) line = line ? std::min(line, k.line) : k.line;
    for (const auto& [name, p] : ikev2_profiles_) line = line ? std::min(line, p.line) : p.line;
    if (line != 0) {
      Warn(line, "crypto ikev2", "",
           "no crypto map entry sets an IKEv2 profile (set ikev2-profile): the IKEv2 sections are left out");
    }
    return;
  }
  // The profiles in use: one method, one lifetime, one identity for all.
  std::optional<std::pair<ike::AuthMethod, uint32_t>> auth;
  uint32_t lifetime = 0;
  std::set<std::string> seen, keyrings;
  for (const ProfileUse& use : ikev2_profile_uses_) {
    auto it = ikev2_profiles_.find(use.profile.name);
    if (it == ikev2_profiles_.end()) {
      Error(use.profile.line, "crypto map", "set ikev2-profile",
            absl::StrCat("crypto ikev2 profile ", use.profile.name, " is not defined"));
      continue;
    }
    if (!seen.insert(use.profile.name).second) continue;
    const Ikev2Profile& p = it->second;
    const std::string entry = absl::StrCat("crypto ikev2 profile ", use.profile.name);
    if (p.authentication.empty()) {
      Error(p.line, entry, "authentication", "authentication local and remote are required");
    }
    for (const auto& [method, line] : p.authentication) {
      if (!auth) {
        auth = {method, line};
      } else if (method != auth->first) {
        Error(line, entry, "authentication",
              absl::StrCat("vpnfleet authenticates every IKEv2 peer, both ways, with one method: ",
                           IsakmpAuthenticationWord(method), " here, ",
                           IsakmpAuthenticationWord(auth->first), " on line ", auth->second));
      } else if (line != auth->second) {
        result_.skipped.push_back({line, line, absl::StrCat("the same method as line ", auth->second,
                                                            ": vpnfleet authenticates every IKEv2 peer, "
                                                            "both ways, with one method")});
      }
    }
    if (p.lifetime_seconds != 0) {
      if (lifetime != 0 && lifetime != p.lifetime_seconds) {
        Error(p.lifetime_line, entry, "lifetime",
              absl::StrCat("vpnfleet keeps one IKEv2 lifetime; another profile in use says ", lifetime));
      }
      lifetime = p.lifetime_seconds;
    }
    if (!p.keyring.name.empty()) {
      if (ikev2_keyrings_.count(p.keyring.name) == 0) {
        Error(p.keyring.line, entry, "keyring",
              absl::StrCat("crypto ikev2 keyring ", p.keyring.name, " is not defined"));
      } else {
        keyrings.insert(p.keyring.name);
      }
    }
    for (const Named& tp : p.trustpoints) {
      if (!TrustpointDefined(tp.name)) {
        Error(tp.line, entry, "pki trustpoint", absl::StrCat("crypto pki trustpoint ", tp.name, " is not defined"));
      }
    }
    if (p.identity) ApplyIdentity(*p.identity, p.fqdn, p.identity_line, entry);
  }
  for (const auto& [name, k] : ikev2_keyrings_) {
    if (keyrings.count(name) == 0) {
      Warn(k.line, absl::StrCat("crypto ikev2 keyring ", name), "",
           "no profile in use names this keyring: its keys are left out");
    }
  }
  // The keyrings' keys join `crypto isakmp key`'s: one key per peer.
  for (const std::string& name : keyrings) {
    for (const KeyringPeer& peer : ikev2_keyrings_[name].peers) {
      AddKeyringKey(peer, absl::StrCat("crypto ikev2 keyring ", name, " peer ", peer.name));
    }
  }
  // The proposals, in the order the policies name them.
  if (ikev2_policy_proposals_.empty()) {
    Error(ikev2_profile_uses_.front().profile.line, "crypto ikev2 policy", "proposal",
          ikev2_proposals_.empty()
              ? "no crypto ikev2 proposal: IOS's default proposal differs between releases; write one "
                "and name it in a crypto ikev2 policy"
              : "a crypto ikev2 proposal counts only when a crypto ikev2 policy names it");
    return;
  }
  uint32_t priority = 0;
  for (const auto& p : result_.config.isakmp_policies()) priority = std::max(priority, p.priority());
  std::set<std::string> offered;
  for (const Named& ref : ikev2_policy_proposals_) {
    if (!offered.insert(ref.name).second) continue;
    auto it = ikev2_proposals_.find(ref.name);
    const std::string entry = absl::StrCat("crypto ikev2 proposal ", ref.name);
    if (it == ikev2_proposals_.end()) {
      Error(ref.line, "crypto ikev2 policy", "proposal", absl::StrCat(entry, " is not defined"));
      continue;
    }
    const Ikev2Proposal& p = it->second;
    const bool aead = !p.encryption.empty() && IsCombinedMode(p.encryption[0]);
    if (p.encryption.empty() || p.groups.empty()) {
      Error(p.line, entry, p.encryption.empty() ? "encryption" : "group", "is required");
      continue;
    }
    if (std::any_of(p.encryption.begin(), p.encryption.end(),
                    [&](auto e) { return IsCombinedMode(e) != aead; })) {
      Error(p.line, entry, "encryption", "a proposal is all combined-mode (GCM) ciphers or none");
      continue;
    }
    if (aead && !p.integrity.empty()) {
      Error(p.line, entry, "integrity", "a combined-mode cipher takes no integrity algorithm");
      continue;
    }
    if (aead ? p.prf.empty() : p.integrity.empty()) {
      Error(p.line, entry, aead ? "prf" : "integrity", aead ? "a combined-mode proposal needs a prf"
                                                            : "is required");
      continue;
    }
    const std::vector<c::IntegrityAlgorithm> integrities =
        aead ? std::vector<c::IntegrityAlgorithm>{c::INTEGRITY_UNSPECIFIED} : p.integrity;
    for (c::EncryptionAlgorithm e : p.encryption) {
      for (c::IntegrityAlgorithm i : integrities) {
        const std::vector<c::PrfAlgorithm> prfs =
            p.prf.empty() ? std::vector<c::PrfAlgorithm>{PrfOfIntegrity(i)} : p.prf;
        for (c::PrfAlgorithm f : prfs) {
          for (c::DhGroup g : p.groups) {
            if (priority >= 10000) {
              return Error(p.line, entry, "", "more than 10,000 ISAKMP and IKEv2 algorithm combinations");
            }
            ike::IsakmpPolicy* out = result_.config.add_isakmp_policies();
            out->set_priority(++priority);
            out->set_version(ike::IKE_VERSION_2);
            out->set_encryption(e);
            out->set_integrity(i);
            out->set_hash(f);
            out->set_group(g);
            if (auth) out->set_authentication(auth->first);
            out->set_lifetime_seconds(lifetime);
          }
        }
      }
    }
  }
}

bool Reader::SkipKeyType(const Words& w, size_t& i, size_t words_after, const std::string& entry,
                         absl::string_view field) {
  if (i + words_after >= w.size() || (w[i] != "0" && w[i] != "6" && w[i] != "7")) return true;
  if (w[i] != "0") {
    Error(line_, entry, field,
          absl::StrCat("type ", w[i], " keys are encrypted with the router's master key; "
                       "give the key in clear text (type 0)"));
    return false;
  }
  ++i;
  return true;
}

std::optional<c::IpPrefix> Reader::PeerPrefix(absl::string_view ip, absl::string_view mask,
                                              const std::string& entry) {
  int len = -1;
  if (size_t slash = ip.find('/'); slash != absl::string_view::npos) {
    uint64_t n;
    if (!mask.empty() || !ParseUint(ip.substr(slash + 1), 128, &n)) {
      Error(line_, entry, "address", absl::StrCat("'", ip, "' is not an address/length"));
      return std::nullopt;
    }
    len = static_cast<int>(n);
    ip = ip.substr(0, slash);
  }
  auto a = net::ParseAddress(ip);
  if (!a.ok()) {
    Error(line_, entry, "address", absl::StrCat("'", ip, "' is not an IP address"));
    return std::nullopt;
  }
  if (len > a->bit_length()) {
    Error(line_, entry, "address", "the prefix length is longer than the address");
    return std::nullopt;
  }
  if (len < 0) len = a->bit_length();
  if (!mask.empty()) {
    auto m = NetmaskLength(mask);
    if (!m || a->family != net::Family::kV4) {
      Error(line_, entry, "address", absl::StrCat("'", mask, "' is not a netmask"));
      return std::nullopt;
    }
    len = *m;
  }
  c::IpPrefix prefix;
  prefix.set_address(std::string(ip));
  prefix.set_length(static_cast<uint32_t>(len));
  if (!net::ParsePrefix(prefix).ok()) {
    Error(line_, entry, "address", absl::StrCat(ip, "/", len, " has host bits set"));
    return std::nullopt;
  }
  return prefix;
}

bool Reader::TrustpointDefined(absl::string_view name) const {
  const auto& all = result_.config.trustpoints();
  return std::any_of(all.begin(), all.end(), [&](const auto& t) { return t.name() == name; });
}

// A profile's local identity becomes the one our policy sends, for IKEv1 and
// IKEv2 alike; `fqdn` (IKEv2's `identity local fqdn NAME`) must be the
// hostname, which is what an FQDN identity carries.
void Reader::ApplyIdentity(ike::IsakmpIdentity identity, const std::string& fqdn, uint32_t line,
                           const std::string& entry) {
  auto* g = result_.config.mutable_globals();
  if (g->identity() != ike::ISAKMP_IDENTITY_UNSPECIFIED && g->identity() != identity) {
    return Error(line, entry, "identity",
                 "vpnfleet sends one kind of identity for IKEv1 and IKEv2; crypto isakmp identity or "
                 "another profile says otherwise");
  }
  g->set_identity(identity);
  if (fqdn.empty()) return;
  if (g->hostname().empty()) {
    g->set_hostname(fqdn);
  } else if (!absl::EqualsIgnoreCase(g->hostname(), fqdn)) {
    Error(line, entry, "identity",
          absl::StrCat("vpnfleet sends the hostname (", g->hostname(), ") as its FQDN identity, not ", fqdn));
  }
}

// One key per peer across `crypto isakmp key` and every keyring in use.
void Reader::AddKeyringKey(const KeyringPeer& peer, const std::string& entry) {
  if (peer.psk.peer_case() == ike::PreSharedKey::PEER_NOT_SET || !peer.has_key) {
    return Error(peer.line, entry, "", "a peer needs an address (or identity fqdn) and a pre-shared-key");
  }
  ike::PreSharedKey*& known = psk_by_peer_[PeerKey(peer.psk)];
  if (known != nullptr) {
    if (known->key() != peer.psk.key()) {
      Error(peer.line, entry, "pre-shared-key",
            "vpnfleet keeps one key per peer for IKEv1 and IKEv2; another key for this peer was given before");
    }
    return;
  }
  known = result_.config.add_pre_shared_keys();
  *known = peer.psk;
}

}  // namespace vpnfleet::controller::ios::internal
