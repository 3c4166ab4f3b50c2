#include "services/controller/ios/ios_parser.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"
#include "services/controller/ios/ios_reader.h"

namespace vpnfleet::controller::ios {
namespace internal {

bool ParseUint(absl::string_view s, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(s, &v) || v > max) return false;
  *out = v;
  return true;
}

// 0.0.0.255 → 24. Only contiguous wildcards: a crypto ACL becomes a traffic
// selector, which is a prefix (or a range), never a bit pattern.
std::optional<int> WildcardLength(absl::string_view wildcard) {
  auto a = net::ParseAddress(wildcard);
  if (!a.ok() || a->family != net::Family::kV4) return std::nullopt;
  uint32_t w = (uint32_t{a->bytes[0]} << 24) | (uint32_t{a->bytes[1]} << 16) |
               (uint32_t{a->bytes[2]} << 8) | a->bytes[3];
  uint32_t mask = ~w;
  // A valid mask is ones then zeros: mask | (mask - 1) overflows to all ones
  // exactly then (or mask is 0).
  if (mask != 0 && (mask | (mask - 1)) != 0xffffffffu) return std::nullopt;
  int len = 0;
  while (len < 32 && (mask & (0x80000000u >> len))) ++len;
  return len;
}

// 255.255.255.0 → 24 (for `crypto isakmp key ... address IP MASK`).
std::optional<int> NetmaskLength(absl::string_view netmask) {
  auto a = net::ParseAddress(netmask);
  if (!a.ok() || a->family != net::Family::kV4) return std::nullopt;
  uint32_t m = (uint32_t{a->bytes[0]} << 24) | (uint32_t{a->bytes[1]} << 16) |
               (uint32_t{a->bytes[2]} << 8) | a->bytes[3];
  if (m != 0 && (m | (m - 1)) != 0xffffffffu) return std::nullopt;
  int len = 0;
  while (len < 32 && (m & (0x80000000u >> len))) ++len;
  return len;
}

std::string UnknownGroup(absl::string_view word) {
  return absl::StrCat("unknown DH group '", word,
                      "'; groups are 1, 2, 5, 14, 15, 16, 19, 20, 21, 24 and 31");
}

ParseResult Reader::Run(absl::string_view text) {
  if (text.size() > kMaxConfigBytes) {
    Error(0, "", "", absl::StrCat("configuration is ", text.size(), " bytes; at most ",
                                  kMaxConfigBytes, " are read"));
    return std::move(result_);
  }
  uint32_t number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    Line(number, raw);
  }
  if (!any_ios_ && !absl::StripAsciiWhitespace(text).empty()) {
    Error(1, "", "", "this is not an IOS configuration: no crypto, interface, access-list or other "
                     "IOS command in it");
    result_.skipped.clear();
    return std::move(result_);
  }
  Finish();
  MergeSkipped();
  return std::move(result_);
}

// Skip and Finish leave one range per line, not all in order: sorted, and
// neighbours (blank lines between them aside) with one reason joined.
void Reader::MergeSkipped() {
  auto& s = result_.skipped;
  std::stable_sort(s.begin(), s.end(),
                   [](const SkippedLines& a, const SkippedLines& b) { return a.first_line < b.first_line; });
  std::vector<SkippedLines> merged;
  size_t at = 0;  // index into nonblank_lines_ of the last merged line
  for (SkippedLines& one : s) {
    while (at < nonblank_lines_.size() && nonblank_lines_[at] < one.first_line) ++at;
    const bool next_of_last = !merged.empty() && at > 0 && nonblank_lines_[at - 1] == merged.back().last_line;
    if (next_of_last && merged.back().reason == one.reason) {
      merged.back().last_line = one.first_line;
    } else {
      merged.push_back(std::move(one));
    }
  }
  s = std::move(merged);
  nonblank_lines_.clear();
}

// ------------------------------------------------------------ plumbing --
void Reader::Diag(v1::Diagnostic::Severity sev, uint32_t line, absl::string_view entry,
                  absl::string_view field, std::string message) {
  v1::Diagnostic d;
  d.set_severity(sev);
  d.set_device(std::string(device_));
  d.set_entry(std::string(entry));
  d.set_field(std::string(field));
  d.set_line(line);
  d.set_message(std::move(message));
  result_.diagnostics.push_back(std::move(d));
}

void Reader::Error(uint32_t line, absl::string_view entry, absl::string_view field, std::string message) {
  Diag(v1::Diagnostic::SEVERITY_ERROR, line, entry, field, std::move(message));
}

void Reader::Warn(uint32_t line, absl::string_view entry, absl::string_view field, std::string message) {
  Diag(v1::Diagnostic::SEVERITY_WARNING, line, entry, field, std::move(message));
}

void Reader::Skip(absl::string_view reason) {
  result_.skipped.push_back({line_, line_, std::string(reason)});
}

void Reader::SkipBlock(std::string reason) {
  Skip(reason);
  block_reason_ = std::move(reason);
}

std::string Reader::SameKeepalive() const {
  return absl::StrCat("the same DPD setting as line ", keepalive_line_, ": vpnfleet keeps one for every peer");
}

bool Reader::Diagnosed() const {
  return !result_.diagnostics.empty() && result_.diagnostics.back().line() == line_;
}

bool Reader::IsTopLevel(const Words& w) {
  if (w[0] == "crypto" || w[0] == "access-list" || w[0] == "interface" || w[0] == "hostname" ||
      w[0] == "end") {
    return true;
  }
  return w.size() >= 2 && w[0] == "ip" && w[1] == "access-list";
}

void Reader::Line(uint32_t number, absl::string_view raw) {
  line_ = number;
  const bool indented = !raw.empty() && (raw[0] == ' ' || raw[0] == '\t');
  absl::string_view text = absl::StripAsciiWhitespace(raw);
  if (text.empty()) return;
  nonblank_lines_.push_back(number);
  if (!indented) block_reason_.clear();
  if (text[0] == '!') any_ios_ = true;
  if (!indented && !any_ios_) {
    // Global commands of every IOS configuration, beside ours.
    static constexpr absl::string_view kIosGlobals[] = {
        "version", "service", "boot-start-marker", "logging", "enable", "username", "aaa",
        "router", "line", "no", "snmp-server", "ntp", "banner", "control-plane", "license",
        "redundancy", "archive", "clock", "ipv6", "vrf", "building", "current", "class-map",
        "policy-map"};
    if (std::find(std::begin(kIosGlobals), std::end(kIosGlobals), text.substr(0, text.find(' '))) !=
        std::end(kIosGlobals)) {
      any_ios_ = true;
    }
  }
  if (text[0] == '!') {
    // ` !` closes a keyring's peer, not the keyring: IOS writes one after
    // each peer.
    mode_ = indented && mode_ == Mode::kIkev2Peer ? Mode::kIkev2Keyring : Mode::kNone;
    Skip(kSkipSeparator);
    return;
  }
  // Words part at whatever StripAsciiWhitespace strips: a key that ends in a
  // form feed must not lose it only when it ends the line.
  Words w = absl::StrSplit(text, absl::ByAnyChar(kBlanks), absl::SkipEmpty());
  if (w[0] == "exit") {
    mode_ = Mode::kNone;
    Skip(kSkipSeparator);
    return;
  }
  // `interface X` / ` crypto map NAME`: the one crypto command that is a
  // sub-command.
  const bool interface_map = mode_ == Mode::kInterface && indented && w.size() == 3 &&
                             w[0] == "crypto" && w[1] == "map";
  if (IsTopLevel(w) && !interface_map) {
    mode_ = Mode::kNone;
    TopLevel(w, text);
    // A crypto command refused or not carried takes the lines under it
    // (`crypto ipsec profile`'s set commands) along.
    if (mode_ == Mode::kNone && block_reason_.empty() && w[0] == "crypto" && Diagnosed()) {
      block_reason_ = absl::StrCat("part of the command on line ", line_, ", which has a diagnostic");
    }
    return;
  }
  if (mode_ == Mode::kNone) {  // not a crypto section: not ours
    Skip(indented && !block_reason_.empty() ? absl::string_view(block_reason_) : kSkipNotCrypto);
    return;
  }
  if (!indented && mode_ != Mode::kInterface && !IsSubCommand(w)) {
    // An unindented command we do not know ends the section (`router ospf
    // 1` after a crypto map without a `!`).
    mode_ = Mode::kNone;
    Skip(kSkipNotCrypto);
    return;
  }
  SubCommand(w, text);
}

bool Reader::IsSubCommand(const Words& w) const {
  static const std::map<Mode, std::vector<absl::string_view>> kFirstWords = {
      {Mode::kIsakmpPolicy,
       {"encryption", "encr", "hash", "integrity", "authentication", "group", "lifetime", "version"}},
      {Mode::kIkev2Proposal, {"encryption", "integrity", "prf", "group"}},
      {Mode::kKeyring, {"pre-shared-key", "description", "local-address"}},
      {Mode::kIsakmpProfile,
       {"keyring", "ca", "match", "self-identity", "initiate", "keepalive", "description", "local-address",
        "vrf", "virtual-template", "isakmp", "client", "qos-group", "accounting"}},
      {Mode::kIkev2Policy, {"proposal", "match", "description"}},
      {Mode::kIkev2Keyring, {"peer", "description"}},
      {Mode::kIkev2Peer, {"peer", "description", "address", "hostname", "identity", "pre-shared-key"}},
      {Mode::kIkev2Profile,
       {"match", "identity", "authentication", "keyring", "pki", "lifetime", "dpd", "nat", "description",
        "ivrf", "virtual-template", "aaa", "config-exchange", "redirect"}},
      {Mode::kTransformSet, {"mode"}},
      {Mode::kCryptoMap,
       {"description", "match", "set", "reverse-route", "qos", "no"}},
      {Mode::kAcl, {"permit", "deny", "remark"}},
      {Mode::kPubkeyChain, {"named-key", "addressed-key"}},
      {Mode::kPubkey, {"named-key", "addressed-key", "address", "key-string"}},
      {Mode::kTrustpoint,
       {"enrollment", "fingerprint", "subject-name", "subject-alt-name", "revocation-check",
        "rsakeypair", "eckeypair", "auto-enroll", "serial-number", "ip-address", "usage",
        "password", "crl", "source", "vrf", "fqdn", "ocsp"}},
  };
  auto it = kFirstWords.find(mode_);
  if (it == kFirstWords.end()) return false;
  if (mode_ == Mode::kAcl) {
    uint64_t seq;
    if (ParseUint(w[0], 2147483647, &seq)) return true;
  }
  return std::find(it->second.begin(), it->second.end(), w[0]) != it->second.end();
}

// Rest of the line after `n` words (for description, remark, subject-name).
absl::string_view Reader::After(absl::string_view text, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    size_t sp = text.find_first_of(kBlanks);
    if (sp == absl::string_view::npos) return {};
    text = absl::StripLeadingAsciiWhitespace(text.substr(sp));
  }
  return text;
}

// ---------------------------------------------------------- top level --
void Reader::TopLevel(const Words& w, absl::string_view text) {
  any_ios_ = true;
  if (w[0] == "end") return Skip(kSkipSeparator);
  if (w[0] == "hostname") {
    if (w.size() != 2) return Error(line_, "hostname", "", "hostname takes one name");
    result_.config.mutable_globals()->set_hostname(std::string(w[1]));
    return;
  }
  if (w[0] == "interface") {
    if (w.size() < 2) return Error(line_, "interface", "", "interface needs a name");
    interface_ = absl::StrJoin(w.begin() + 1, w.end(), " ");
    interfaces_.push_back({interface_, line_});
    mode_ = Mode::kInterface;
    return;
  }
  if (w[0] == "access-list") return NumberedAcl(w, text);
  if (w[0] == "ip") return NamedAcl(w);
  // crypto ...
  if (w.size() < 2) return Error(line_, "crypto", "", "incomplete crypto command");
  if (w[1] == "isakmp") return Isakmp(w);
  if (w[1] == "ikev2") return Ikev2(w);
  if (w[1] == "keyring") return KeyringStart(w);
  if (w[1] == "ipsec") return Ipsec(w);
  if (w[1] == "map") return MapEntry(w, /*dynamic=*/false);
  if (w[1] == "dynamic-map") return MapEntry(w, /*dynamic=*/true);
  if ((w[1] == "pki" || w[1] == "ca") && w.size() >= 3 && w[2] == "trustpoint") {
    return TrustpointStart(w);
  }
  if (w[1] == "key" && w.size() == 4 && w[2] == "pubkey-chain" && w[3] == "rsa") {
    mode_ = Mode::kPubkeyChain;
    return;
  }
  if ((w[1] == "pki" || w[1] == "ca") && w.size() >= 4 && w[2] == "certificate" && w[3] == "map") {
    return Error(line_, "crypto pki certificate map", "", "certificate maps are not supported");
  }
  if ((w[1] == "pki" || w[1] == "ca") && w.size() >= 4 && w[2] == "certificate" && w[3] == "chain") {
    // Its ` certificate ...` hex blocks and `quit`s follow, read with it.
    return Warn(line_, absl::StrJoin(w.begin(), w.end(), " "), "",
                "not carried: an edge keeps its trustpoint's certificates in files (vpnfleet pki enroll)");
  }
  if (w[1] == "pki" || w[1] == "ca" || w[1] == "key") {
    return Warn(line_, absl::StrJoin(w.begin(), w.begin() + 2, " "), "",
                "not carried: the device's own CA, keys and certificates are not crypto policy");
  }
  Error(line_, absl::StrJoin(w.begin(), w.begin() + 2, " "), "",
        absl::StrCat("unsupported crypto command '", std::string(text), "'"));
}

// -------------------------------------------------------- sub-commands --
void Reader::SubCommand(const Words& w, absl::string_view text) {
  switch (mode_) {
    case Mode::kNone:
      return;
    case Mode::kIsakmpPolicy:
      return PolicySub(w, text);
    case Mode::kTransformSet:
      return TransformSetSub(w, text);
    case Mode::kCryptoMap:
      return MapSub(w, text);
    case Mode::kAcl:
      return AclSub(w, text);
    case Mode::kInterface:
      return InterfaceSub(w);
    case Mode::kTrustpoint:
      return TrustpointSub(w, text);
    case Mode::kPubkeyChain:
    case Mode::kPubkey:
    case Mode::kKeyString:
      return PubkeySub(w, text);
    case Mode::kIkev2Proposal:
      return Ikev2ProposalSub(w, text);
    case Mode::kIkev2Policy:
      return Ikev2PolicySub(w, text);
    case Mode::kIkev2Keyring:
    case Mode::kIkev2Peer:
      return Ikev2KeyringSub(w, text);
    case Mode::kIkev2Profile:
      return Ikev2ProfileSub(w, text);
    case Mode::kKeyring:
      return KeyringSub(w, text);
    case Mode::kIsakmpProfile:
      return IsakmpProfileSub(w, text);
  }
}

// ` crypto map NAME` is ours; addresses, descriptions, NAT, ...: not.
void Reader::InterfaceSub(const Words& w) {
  const std::string entry = absl::StrCat("interface ", interface_);
  if (w.size() == 3 && w[0] == "crypto" && w[1] == "map") {
    interface_maps_.push_back({std::string(w[2]), interface_, line_});
    return;
  }
  if (w[0] == "tunnel" && w.size() >= 3 &&
      (w[1] == "protection" || (w[1] == "mode" && w[2] == "ipsec"))) {
    return Error(line_, entry, absl::StrCat("tunnel ", w[1]),
                 "route-based tunnels (a VTI with tunnel protection ipsec profile) are not supported: "
                 "protect the traffic with a crypto map on the outside interface");
  }
  if (w[0] == "crypto") {
    return Error(line_, entry, "crypto", absl::StrCat("unsupported interface command '",
                                                      absl::StrJoin(w, " "), "'"));
  }
  Skip(kSkipInterface);
}

// Things that can only be checked once everything is read.
void Reader::Finish() {
  // Sets, not walks: an 8 MB file can name 200,000 interfaces and maps.
  std::map<std::string, ike::CryptoMap*> static_maps;
  for (auto& m : *result_.config.mutable_crypto_maps()) {
    if (!m.dynamic()) static_maps.emplace(m.name(), &m);
  }
  std::set<std::pair<std::string, std::string>> attached;  // map, interface
  std::set<std::string> with_map;
  for (const auto& [map_name, iface, line] : interface_maps_) {
    with_map.insert(iface);
    auto m = static_maps.find(map_name);
    const bool found = m != static_maps.end();
    if (found && attached.emplace(map_name, iface).second) m->second->add_interfaces(iface);
    if (!found) {
      Error(line, absl::StrCat("interface ", iface), "crypto map",
            absl::StrCat("crypto map ", map_name, " is not defined"));
    }
  }
  // An interface without a crypto map is not crypto policy; one with a map
  // carries it.
  for (const auto& [iface, line] : interfaces_) {
    if (!with_map.count(iface)) result_.skipped.push_back({line, line, std::string(kSkipInterface)});
  }
  for (const auto& k : result_.config.rsa_public_keys()) {
    if (k.key().empty()) {
      const std::string entry =
          k.name().empty() ? absl::StrCat("addressed-key ", k.address()) : absl::StrCat("named-key ", k.name());
      Error(pubkey_lines_[entry], entry, "key-string", "no key-string ... quit gave the key");
    }
  }
  FinishAcls();
  FinishIsakmpProfiles();
  FinishIkev2();
  FinishReferences();
  ApplyGlobalSaDefaults();
  // An entry that initiates without an IKEv2 profile negotiates IKEv1, as
  // on IOS (our policy's own default would pick IKEv2 when an IKEv2 policy
  // exists). A dynamic map's entries say so too, though a responder answers
  // whichever version comes.
  for (auto& m : *result_.config.mutable_crypto_maps()) {
    for (auto& e : *m.mutable_entries()) {
      const bool isakmp = m.dynamic() || e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP;
      if (isakmp && e.ike_version() == ike::IKE_VERSION_UNSPECIFIED) {
        e.set_ike_version(ike::IKE_VERSION_1);
      }
    }
  }
  // Dynamic maps first, as the writer puts them (IOS needs one defined
  // before an entry names it): what is read back is in the same order.
  // (This moves maps' contents between elements: the name indexes are done
  // with by now.)
  auto* maps = result_.config.mutable_crypto_maps();
  std::stable_partition(maps->begin(), maps->end(), [](const ike::CryptoMap& m) { return m.dynamic(); });
  map_by_name_.clear();
  map_entry_by_sequence_.clear();
}

// Every name an entry uses must be defined: IOS would accept the line and
// negotiate nothing, so a dangling one is an error at import already.
void Reader::FinishReferences() {
  for (const Reference& r : references_) {
    bool found = false;
    const char* what = "";
    const char* field = "";
    switch (r.kind) {
      case Reference::kAcl:
        what = "access list";
        field = "match address";
        found = acl_by_name_.contains(r.name);
        break;
      case Reference::kTransformSet:
        what = "transform set";
        field = "set transform-set";
        found = transform_set_by_name_.contains(r.name);
        break;
      case Reference::kDynamicMap:
        what = "crypto dynamic-map";
        field = "dynamic";
        if (auto m = map_by_name_.find(r.name); m != map_by_name_.end()) found = m->second->dynamic();
        break;
    }
    if (found) continue;
    auto source = acl_source_index_.find(r.name);
    const bool standard = r.kind == Reference::kAcl && source != acl_source_index_.end() &&
                          acl_sources_[source->second].standard;
    if (standard) {
      Error(r.line, r.entry, field,
            absl::StrCat("access list ", r.name, " is a standard access list; a crypto ACL is extended "
                         "(access-list 100-199 or 2000-2699, ip access-list extended)"));
      continue;
    }
    Error(r.line, r.entry, field, absl::StrCat(what, " ", r.name, " is not defined"));
  }
}

// `crypto ipsec security-association ...` for every IKE entry that does not
// set its own (manual entries have no lifetimes to negotiate).
void Reader::ApplyGlobalSaDefaults() {
  const ike::CryptoMapEntry& g = global_sa_;
  for (auto& m : *result_.config.mutable_crypto_maps()) {
    for (auto& e : *m.mutable_entries()) {
      if (!m.dynamic() && e.kind() != ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP) continue;
      if (e.lifetime().seconds() == 0 && g.lifetime().seconds() != 0) {
        e.mutable_lifetime()->set_seconds(g.lifetime().seconds());
      }
      if (e.lifetime().kilobytes() == 0 && g.lifetime().kilobytes() != 0) {
        e.mutable_lifetime()->set_kilobytes(g.lifetime().kilobytes());
      }
      if (e.idle_time_seconds() == 0) e.set_idle_time_seconds(g.idle_time_seconds());
      if (!e.replay().disabled() && e.replay().size() == 0 && g.has_replay()) {
        *e.mutable_replay() = g.replay();
      }
    }
  }
}

}  // namespace internal

bool ParseResult::ok() const {
  for (const auto& d : diagnostics) {
    if (d.severity() == v1::Diagnostic::SEVERITY_ERROR) return false;
  }
  return true;
}

ParseResult ParseIosConfig(absl::string_view text, absl::string_view device) {
  return internal::Reader(device).Run(text);
}

}  // namespace vpnfleet::controller::ios
