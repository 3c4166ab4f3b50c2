#include "services/controller/ios/ios_parser.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
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

namespace vpnfleet::controller::ios {
namespace {

namespace c = vpnfleet::common::v1;
namespace ike = vpnfleet::ike::v1;
using Words = std::vector<absl::string_view>;

enum class Mode {
  kNone,
  kIsakmpPolicy,
  kTransformSet,
  kCryptoMap,
  kAcl,
  kInterface,
  kTrustpoint,
  kPubkeyChain,  // `crypto key pubkey-chain rsa`
  kPubkey,       // ` named-key NAME` / ` addressed-key IP`
  kKeyString,    // `  key-string` ... `  quit`: hex words
};

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

class Parser {
 public:
  explicit Parser(absl::string_view device) : device_(device) {}

  ParseResult Run(absl::string_view text) {
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
    Finish();
    return std::move(result_);
  }

 private:
  // ------------------------------------------------------------ plumbing --
  void Diag(v1::Diagnostic::Severity sev, uint32_t line, absl::string_view entry,
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
  void Error(uint32_t line, absl::string_view entry, absl::string_view field, std::string message) {
    Diag(v1::Diagnostic::SEVERITY_ERROR, line, entry, field, std::move(message));
  }
  void Warn(uint32_t line, absl::string_view entry, absl::string_view field, std::string message) {
    Diag(v1::Diagnostic::SEVERITY_WARNING, line, entry, field, std::move(message));
  }

  static bool IsTopLevel(const Words& w) {
    if (w[0] == "crypto" || w[0] == "access-list" || w[0] == "interface" || w[0] == "hostname" ||
        w[0] == "end") {
      return true;
    }
    return w.size() >= 2 && w[0] == "ip" && w[1] == "access-list";
  }

  void Line(uint32_t number, absl::string_view raw) {
    line_ = number;
    const bool indented = !raw.empty() && (raw[0] == ' ' || raw[0] == '\t');
    absl::string_view text = absl::StripAsciiWhitespace(raw);
    if (text.empty()) return;
    if (text[0] == '!') {
      mode_ = Mode::kNone;
      return;
    }
    Words w = absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (w[0] == "exit") {
      mode_ = Mode::kNone;
      return;
    }
    // `interface X` / ` crypto map NAME`: the one crypto command that is a
    // sub-command.
    const bool interface_map = mode_ == Mode::kInterface && indented && w.size() == 3 &&
                               w[0] == "crypto" && w[1] == "map";
    if (IsTopLevel(w) && !interface_map) {
      mode_ = Mode::kNone;
      TopLevel(w, text);
      return;
    }
    if (mode_ == Mode::kNone) return;  // not a crypto section: not ours
    if (!indented && mode_ != Mode::kInterface && !IsSubCommand(w)) {
      // An unindented command we do not know ends the section (`router ospf
      // 1` after a crypto map without a `!`).
      mode_ = Mode::kNone;
      return;
    }
    SubCommand(w, text);
  }

  bool IsSubCommand(const Words& w) const {
    static const std::map<Mode, std::vector<absl::string_view>> kFirstWords = {
        {Mode::kIsakmpPolicy,
         {"encryption", "hash", "integrity", "authentication", "group", "lifetime", "version"}},
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
  static absl::string_view After(absl::string_view text, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      size_t sp = text.find_first_of(" \t");
      if (sp == absl::string_view::npos) return {};
      text = absl::StripLeadingAsciiWhitespace(text.substr(sp));
    }
    return text;
  }

  // ---------------------------------------------------------- top level --
  void TopLevel(const Words& w, absl::string_view text) {
    if (w[0] == "end") return;
    if (w[0] == "hostname") {
      if (w.size() != 2) return Error(line_, "hostname", "", "hostname takes one name");
      result_.config.mutable_globals()->set_hostname(std::string(w[1]));
      return;
    }
    if (w[0] == "interface") {
      if (w.size() < 2) return Error(line_, "interface", "", "interface needs a name");
      interface_ = absl::StrJoin(w.begin() + 1, w.end(), " ");
      mode_ = Mode::kInterface;
      return;
    }
    if (w[0] == "access-list") return NumberedAcl(w, text);
    if (w[0] == "ip") return NamedAcl(w);
    // crypto ...
    if (w.size() < 2) return Error(line_, "crypto", "", "incomplete crypto command");
    if (w[1] == "isakmp") return Isakmp(w);
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
    if (w[1] == "pki" || w[1] == "ca" || w[1] == "key") {
      return;  // certificates, chains and our own keys live on the device, not in policy
    }
    Error(line_, absl::StrJoin(w.begin(), w.begin() + 2, " "), "",
          absl::StrCat("unsupported crypto command '", std::string(text), "'"));
  }

  void Isakmp(const Words& w) {
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
      ike::IsakmpPolicy* p = nullptr;
      for (auto& existing : *result_.config.mutable_isakmp_policies()) {
        if (existing.priority() == prio) p = &existing;
      }
      if (p == nullptr) {
        p = result_.config.add_isakmp_policies();
        p->set_priority(static_cast<uint32_t>(prio));
      }
      policy_ = p;
      mode_ = Mode::kIsakmpPolicy;
      return;
    }
    if (what == "key") return IsakmpKey(w);
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
    if (what == "enable" && w.size() == 3) return;
    Error(line_, entry, std::string(what),
          absl::StrCat("unsupported command 'crypto isakmp ", absl::StrJoin(w.begin() + 2, w.end(), " "), "'"));
  }

  // crypto isakmp key [0] KEY {address IP [MASK] | hostname NAME} [no-xauth]
  void IsakmpKey(const Words& w) {
    const std::string entry = "crypto isakmp key";
    size_t i = 3;
    if (i < w.size() && (w[i] == "0" || w[i] == "6" || w[i] == "7") && w.size() > i + 2) {
      if (w[i] != "0") {
        return Error(line_, entry, "key",
                     absl::StrCat("type ", w[i], " keys are encrypted with the router's master key; "
                                  "give the key in clear text (type 0)"));
      }
      ++i;
    }
    if (w.size() < i + 3) {
      return Error(line_, entry, "", "crypto isakmp key KEY {address IP [MASK] | hostname NAME}");
    }
    ike::PreSharedKey psk;
    psk.set_key(std::string(w[i]));
    const absl::string_view kind = w[i + 1];
    size_t j = i + 3;
    if (kind == "address") {
      auto a = net::ParseAddress(w[i + 2]);
      if (!a.ok()) return Error(line_, entry, "address", std::string(a.status().message()));
      int len = a->bit_length();
      if (j < w.size() && w[j] != "no-xauth") {
        auto m = NetmaskLength(w[j]);
        if (!m || a->family != net::Family::kV4) {
          return Error(line_, entry, "address", absl::StrCat("'", w[j], "' is not a netmask"));
        }
        len = *m;
        ++j;
      }
      psk.mutable_address()->set_address(std::string(w[i + 2]));
      psk.mutable_address()->set_length(static_cast<uint32_t>(len));
      if (!net::ParsePrefix(psk.address()).ok()) {
        return Error(line_, entry, "address",
                     absl::StrCat(w[i + 2], "/", len, " has host bits set"));
      }
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
    auto* keys = result_.config.mutable_pre_shared_keys();
    for (auto& existing : *keys) {
      if (existing.peer_case() == psk.peer_case() &&
          existing.hostname() == psk.hostname() &&
          existing.address().address() == psk.address().address() &&
          existing.address().length() == psk.address().length()) {
        existing = std::move(psk);
        return;
      }
    }
    *keys->Add() = std::move(psk);
  }

  void Ipsec(const Words& w) {
    if (w.size() >= 4 && w[2] == "transform-set") return TransformSetStart(w);
    if (w.size() >= 3 && w[2] == "security-association") {
      Warn(line_, "crypto ipsec security-association", "",
           "global SA lifetimes and replay settings are not carried over; set them per crypto "
           "map entry");
      return;
    }
    Error(line_, "crypto ipsec", "",
          absl::StrCat("unsupported command 'crypto ipsec ", absl::StrJoin(w.begin() + 2, w.end(), " "), "'"));
  }

  // crypto ipsec transform-set NAME t1 [t2 [t3]]
  void TransformSetStart(const Words& w) {
    const std::string entry = absl::StrCat("crypto ipsec transform-set ", w[3]);
    ike::TransformSet ts;
    ts.set_name(std::string(w[3]));
    if (w.size() == 4) return Error(line_, entry, "transforms", "a transform set needs transforms");
    for (size_t i = 4; i < w.size(); ++i) {
      int bits = 0;
      if (TransformTakesKeySize(w[i]) && i + 1 < w.size()) {
        uint64_t b;
        if (ParseUint(w[i + 1], 65535, &b)) bits = static_cast<int>(b);
      }
      auto t = TransformKeyword(w[i], bits);
      if (!t) {
        return Error(line_, entry, "transforms", absl::StrCat("unknown transform '", w[i],
                                                              bits ? absl::StrCat(" ", bits) : "", "'"));
      }
      if (bits) ++i;
      switch (t->kind) {
        case Transform::Kind::kAh:
          if (ts.ah() != c::INTEGRITY_UNSPECIFIED) return Error(line_, entry, "transforms", "two AH transforms");
          ts.set_ah(t->integrity);
          break;
        case Transform::Kind::kEspCipher:
          if (ts.esp_encryption() != c::ENCRYPTION_UNSPECIFIED) {
            return Error(line_, entry, "transforms", "two ESP ciphers");
          }
          ts.set_esp_encryption(t->cipher);
          break;
        case Transform::Kind::kEspAuth:
          if (ts.esp_integrity() != c::INTEGRITY_UNSPECIFIED) {
            return Error(line_, entry, "transforms", "two ESP authenticators");
          }
          ts.set_esp_integrity(t->integrity);
          break;
        case Transform::Kind::kCompression:
          Warn(line_, entry, "transforms", "comp-lzs (IPComp) is not supported; left out");
          break;
      }
    }
    if (ts.ah() == c::INTEGRITY_UNSPECIFIED &&
        ts.esp_encryption() == c::ENCRYPTION_UNSPECIFIED &&
        ts.esp_integrity() == c::INTEGRITY_UNSPECIFIED) {
      // `comp-lzs` alone (or transforms that were all refused above)
      // leaves nothing that protects traffic.
      return Error(line_, entry, "transforms", "a transform set needs transforms");
    }
    ike::TransformSet* target = nullptr;
    for (auto& existing : *result_.config.mutable_transform_sets()) {
      if (existing.name() == ts.name()) target = &existing;
    }
    if (target == nullptr) target = result_.config.add_transform_sets();
    *target = std::move(ts);
    transform_set_ = target;
    mode_ = Mode::kTransformSet;
  }

  // ---------------------------------------------------------- crypto maps --
  // crypto map NAME SEQ [ipsec-isakmp [dynamic DYN [discover]] | ipsec-manual]
  // crypto dynamic-map NAME SEQ
  void MapEntry(const Words& w, bool dynamic) {
    const std::string head = dynamic ? "crypto dynamic-map" : "crypto map";
    if (w.size() < 4) return Error(line_, head, "", absl::StrCat(head, " NAME SEQUENCE ..."));
    if (!dynamic && (w[3] == "local-address" || w[3] == "isakmp" || w[3] == "redundancy")) {
      Warn(line_, absl::StrCat(head, " ", w[2]), std::string(w[3]), "ignored");
      return;
    }
    uint64_t seq;
    const std::string entry = absl::StrCat(head, " ", w[2], " ", w[3]);
    if (!ParseUint(w[3], 65535, &seq) || seq == 0) {
      return Error(line_, entry, "sequence", "the sequence number is 1..65535");
    }
    ike::CryptoMapKind kind = dynamic ? ike::CRYPTO_MAP_KIND_UNSPECIFIED : ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP;
    std::string dynamic_map;
    size_t i = 4;
    if (i < w.size() && !dynamic) {
      if (w[i] == "ipsec-isakmp") {
        ++i;
        if (i < w.size() && w[i] == "dynamic") {
          if (i + 1 >= w.size()) return Error(line_, entry, "dynamic", "dynamic needs a map name");
          kind = ike::CRYPTO_MAP_KIND_DYNAMIC;
          dynamic_map = std::string(w[i + 1]);
          i += 2;
          if (i < w.size() && w[i] == "discover") {
            Warn(line_, entry, "discover", "tunnel endpoint discovery is not supported; ignored");
            ++i;
          }
        }
      } else if (w[i] == "ipsec-manual") {
        kind = ike::CRYPTO_MAP_KIND_IPSEC_MANUAL;
        ++i;
      } else if (w[i] == "gdoi" || w[i] == "profile") {
        return Error(line_, entry, std::string(w[i]), absl::StrCat("'", w[i], "' maps are not supported"));
      }
    }
    if (i != w.size()) {
      return Error(line_, entry, "", absl::StrCat("unexpected '", w[i], "'"));
    }
    ike::CryptoMap* map = nullptr;
    for (auto& m : *result_.config.mutable_crypto_maps()) {
      if (m.name() == w[2]) map = &m;
    }
    if (map == nullptr) {
      map = result_.config.add_crypto_maps();
      map->set_name(std::string(w[2]));
      map->set_dynamic(dynamic);
    } else if (map->dynamic() != dynamic) {
      return Error(line_, entry, "", absl::StrCat("'", w[2], "' is already a ",
                                                  map->dynamic() ? "dynamic" : "static", " map"));
    }
    ike::CryptoMapEntry* e = nullptr;
    for (auto& existing : *map->mutable_entries()) {
      if (existing.sequence() == seq) e = &existing;
    }
    if (e == nullptr) {
      e = map->add_entries();
      e->set_sequence(static_cast<uint32_t>(seq));
    }
    e->set_kind(kind);
    e->set_dynamic_map(dynamic_map);
    entry_ = e;
    entry_name_ = entry;
    mode_ = Mode::kCryptoMap;
  }

  void MapSub(const Words& w, absl::string_view text) {
    ike::CryptoMapEntry* e = entry_;
    const std::string& entry = entry_name_;
    if (w[0] == "description") {
      e->set_description(std::string(After(text, 1)));
      return;
    }
    if (w[0] == "qos") return Warn(line_, entry, "qos pre-classify", "ignored");
    if (w[0] == "match") {
      if (w.size() != 3 || w[1] != "address") return Error(line_, entry, "match address", "match address ACL");
      e->set_match_address(std::string(w[2]));
      return;
    }
    if (w[0] == "reverse-route") {
      auto* rr = e->mutable_reverse_route();
      rr->Clear();
      rr->set_enabled(true);
      for (size_t i = 1; i < w.size(); ++i) {
        uint64_t tag;
        if (w[i] == "static") {
          rr->set_static_routes(true);
        } else if (w[i] == "tag" && i + 1 < w.size() && ParseUint(w[i + 1], 0xffffffffu, &tag)) {
          rr->set_tag(static_cast<uint32_t>(tag));
          ++i;
        } else if (w[i] == "remote-peer") {
          rr->set_remote_peer(true);
          if (i + 1 < w.size() && net::ParseAddress(w[i + 1]).ok()) {
            rr->set_next_hop(std::string(w[i + 1]));
            ++i;
            if (i + 1 < w.size() && w[i + 1] == "gateway") ++i;
          }
        } else {
          return Error(line_, entry, "reverse-route", absl::StrCat("unexpected '", w[i], "'"));
        }
      }
      return;
    }
    if (w[0] == "no") {
      return Error(line_, entry, "", "'no' forms are not read from a configuration");
    }
    // set ...
    if (w.size() < 2) return Error(line_, entry, "set", "incomplete set command");
    if (w[1] == "peer") {
      if (w.size() < 3 || w.size() > 4 || (w.size() == 4 && w[3] != "default")) {
        return Error(line_, entry, "set peer", "set peer ADDRESS|HOSTNAME [default]");
      }
      e->add_peers(std::string(w[2]));
      return;
    }
    if (w[1] == "transform-set") {
      if (w.size() < 3) return Error(line_, entry, "set transform-set", "name at least one transform set");
      e->clear_transform_sets();
      for (size_t i = 2; i < w.size(); ++i) e->add_transform_sets(std::string(w[i]));
      return;
    }
    if (w[1] == "pfs") {
      if (w.size() == 2) {
        e->set_pfs_group(c::DH_GROUP_MODP_768);  // IOS: `set pfs` alone is group1
        return;
      }
      std::optional<c::DhGroup> g;
      if (w.size() == 3 && w[2].size() > 5 && w[2].substr(0, 5) == "group") {
        g = DhGroupNumber(w[2].substr(5));
      }
      if (!g) return Error(line_, entry, "set pfs", absl::StrCat("unknown PFS group '", w.size() > 2 ? w[2] : "", "'"));
      e->set_pfs_group(*g);
      return;
    }
    if (w[1] == "security-association") return MapSecurityAssociation(w);
    if (w[1] == "session-key") return SessionKey(w);
    if (w[1] == "ip" || w[1] == "isakmp-profile" || w[1] == "ikev2-profile") {
      return Error(line_, entry, absl::StrCat("set ", w[1]), "not supported");
    }
    Error(line_, entry, absl::StrCat("set ", w[1]), absl::StrCat("unknown command '", text, "'"));
  }

  void MapSecurityAssociation(const Words& w) {
    ike::CryptoMapEntry* e = entry_;
    const std::string& entry = entry_name_;
    const std::string field = "set security-association";
    uint64_t n;
    if (w.size() == 5 && w[2] == "lifetime" && w[3] == "seconds" && ParseUint(w[4], 86400, &n) && n >= 120) {
      e->mutable_lifetime()->set_seconds(n);
      return;
    }
    if (w.size() == 5 && w[2] == "lifetime" && w[3] == "kilobytes") {
      if (w[4] == "disable") {
        e->mutable_lifetime()->set_kilobytes(0);
        return;
      }
      if (ParseUint(w[4], 4294967295u, &n) && n >= 2560) {
        e->mutable_lifetime()->set_kilobytes(n);
        return;
      }
    }
    if (w.size() == 4 && w[2] == "idle-time" && ParseUint(w[3], 86400, &n) && n >= 60) {
      e->set_idle_time_seconds(static_cast<uint32_t>(n));
      return;
    }
    if (w.size() == 5 && w[2] == "idle-time" && w[4] == "default" && ParseUint(w[3], 86400, &n) && n >= 60) {
      e->set_idle_time_seconds(static_cast<uint32_t>(n));
      return;
    }
    if (w.size() == 4 && w[2] == "level" && w[3] == "per-host") {
      e->set_per_host(true);
      return;
    }
    if (w.size() == 4 && w[2] == "replay" && w[3] == "disable") {
      e->mutable_replay()->set_disabled(true);
      return;
    }
    if (w.size() == 5 && w[2] == "replay" && w[3] == "window-size" && ParseUint(w[4], 4096, &n) &&
        n >= 32) {
      e->mutable_replay()->set_size(static_cast<uint32_t>(n));
      return;
    }
    Error(line_, entry, field,
          "expected lifetime seconds 120..86400 | lifetime kilobytes 2560..4294967295|disable | "
          "idle-time 60..86400 | level per-host | replay window-size 32..4096 | replay disable");
  }

  // set session-key {inbound|outbound} esp SPI cipher HEX [authenticator HEX]
  // set session-key {inbound|outbound} esp SPI authenticator HEX
  // set session-key {inbound|outbound} ah SPI HEX
  void SessionKey(const Words& w) {
    const std::string& entry = entry_name_;
    const std::string field = "set session-key";
    if (w.size() < 6) return Error(line_, entry, field, "set session-key inbound|outbound esp|ah SPI ...");
    ike::ManualSessionKey k;
    if (w[2] == "inbound") k.set_direction(c::DIRECTION_INBOUND);
    else if (w[2] == "outbound") k.set_direction(c::DIRECTION_OUTBOUND);
    else return Error(line_, entry, field, "direction is inbound or outbound");
    uint64_t spi;
    if (!ParseUint(w[4], 0xffffffffu, &spi) || spi < 256) {
      return Error(line_, entry, field, "the SPI is 256..4294967295");
    }
    k.set_spi(static_cast<uint32_t>(spi));
    auto hex = [&](absl::string_view h, std::string* out) {
      if (h.size() % 2 != 0 || h.empty()) return false;
      for (char ch : h) {
        if (!absl::ascii_isxdigit(static_cast<unsigned char>(ch))) return false;
      }
      *out = absl::HexStringToBytes(h);
      return true;
    };
    std::string bytes;
    if (w[3] == "ah") {
      k.set_protocol(c::IPSEC_PROTOCOL_AH);
      if (w.size() != 6 || !hex(w[5], &bytes)) return Error(line_, entry, field, "the AH key is hex");
      k.set_authenticator_key(bytes);
    } else if (w[3] == "esp") {
      k.set_protocol(c::IPSEC_PROTOCOL_ESP);
      for (size_t i = 5; i < w.size(); i += 2) {
        if (i + 1 >= w.size() || !hex(w[i + 1], &bytes)) {
          return Error(line_, entry, field, absl::StrCat("'", w[i], "' needs a hex key"));
        }
        if (w[i] == "cipher") k.set_cipher_key(bytes);
        else if (w[i] == "authenticator") k.set_authenticator_key(bytes);
        else return Error(line_, entry, field, absl::StrCat("unexpected '", w[i], "'"));
      }
    } else {
      return Error(line_, entry, field, "protocol is esp or ah");
    }
    *entry_->add_session_keys() = std::move(k);
  }

  // --------------------------------------------------------------- ACLs --
  ike::AccessList* AclNamed(absl::string_view name) {
    for (auto& a : *result_.config.mutable_access_lists()) {
      if (a.name() == name) return &a;
    }
    auto* a = result_.config.add_access_lists();
    a->set_name(std::string(name));
    return a;
  }

  // access-list NUMBER {permit|deny|remark} ...
  void NumberedAcl(const Words& w, absl::string_view text) {
    uint64_t n;
    if (w.size() < 3 || !ParseUint(w[1], 2699, &n)) {
      return Error(line_, "access-list", "", "access-list NUMBER permit|deny|remark ...");
    }
    const std::string entry = absl::StrCat("access-list ", w[1]);
    if (!((n >= 100 && n <= 199) || (n >= 2000 && n <= 2699))) {
      if ((n >= 1 && n <= 99) || (n >= 1300 && n <= 1999)) {
        return Error(line_, entry, "", "a standard access list cannot be a crypto ACL; use an extended "
                                       "one (100-199, 2000-2699)");
      }
      return;  // other kinds of numbered lists (MAC, ...) are not crypto
    }
    if (acl_name_ != entry) pending_remark_.clear();
    // Created by its first permit or deny: a numbered list of remarks alone
    // does not exist on IOS either.
    acl_ = nullptr;
    acl_key_ = std::string(w[1]);
    acl_name_ = entry;
    Words rest(w.begin() + 2, w.end());
    AclLine(rest, After(text, 2), /*numbered=*/true);
  }

  void NamedAcl(const Words& w) {
    // ip access-list {extended|standard} NAME
    if (w.size() != 4) return Error(line_, "ip access-list", "", "ip access-list extended NAME");
    const std::string entry = absl::StrCat("ip access-list ", w[2], " ", w[3]);
    if (w[2] == "standard") {
      return Error(line_, entry, "", "a standard access list cannot be a crypto ACL; use extended");
    }
    if (w[2] != "extended") return;  // logging, resequence, ...: not crypto
    acl_ = AclNamed(w[3]);
    acl_key_ = std::string(w[3]);
    acl_name_ = entry;
    mode_ = Mode::kAcl;
  }

  // Reads ADDRESS [WILDCARD] | any | host A, advancing i.
  bool AclAddress(const Words& w, size_t* i, c::IpPrefix* out, std::string* error) {
    if (*i >= w.size()) {
      *error = "missing address";
      return false;
    }
    if (w[*i] == "any") {
      out->set_address("0.0.0.0");
      out->set_length(0);
      ++*i;
      return true;
    }
    if (w[*i] == "host") {
      if (*i + 1 >= w.size() || !net::ParseAddress(w[*i + 1]).ok()) {
        *error = "host needs an address";
        return false;
      }
      auto a = net::ParseAddress(w[*i + 1]);
      out->set_address(std::string(w[*i + 1]));
      out->set_length(static_cast<uint32_t>(a->bit_length()));
      *i += 2;
      return true;
    }
    auto a = net::ParseAddress(w[*i]);
    if (!a.ok() || a->family != net::Family::kV4) {
      *error = absl::StrCat("'", w[*i], "' is not an IPv4 address, any or host");
      return false;
    }
    if (*i + 1 >= w.size()) {
      *error = absl::StrCat(w[*i], " needs a wildcard mask");
      return false;
    }
    auto len = WildcardLength(w[*i + 1]);
    if (!len) {
      *error = absl::StrCat("'", w[*i + 1], "' is not a contiguous wildcard mask");
      return false;
    }
    out->set_address(std::string(w[*i]));
    out->set_length(static_cast<uint32_t>(*len));
    if (!net::ParsePrefix(*out).ok()) {
      *error = absl::StrCat(w[*i], " ", w[*i + 1], " has bits set outside the wildcard");
      return false;
    }
    *i += 2;
    return true;
  }

  bool AclPorts(const Words& w, size_t* i, c::PortRange* out, std::string* error) {
    if (*i >= w.size()) return true;
    absl::string_view op = w[*i];
    auto port = [&](size_t k, uint32_t* p) {
      if (k >= w.size()) return false;
      auto v = AclPort(w[k]);
      if (!v) return false;
      *p = *v;
      return true;
    };
    uint32_t a = 0, b = 0;
    if (op == "eq") {
      if (!port(*i + 1, &a)) { *error = "eq needs a port"; return false; }
      out->set_start(a);
      out->set_end(a);
      *i += 2;
    } else if (op == "range") {
      if (!port(*i + 1, &a) || !port(*i + 2, &b) || a > b) {
        *error = "range needs two ports, low then high";
        return false;
      }
      out->set_start(a);
      out->set_end(b);
      *i += 3;
    } else if (op == "gt") {
      if (!port(*i + 1, &a) || a >= 65535) { *error = "gt needs a port below 65535"; return false; }
      out->set_start(a + 1);
      out->set_end(65535);
      *i += 2;
    } else if (op == "lt") {
      if (!port(*i + 1, &a) || a == 0) { *error = "lt needs a port above 0"; return false; }
      out->set_start(0);
      out->set_end(a - 1);
      *i += 2;
    } else if (op == "neq") {
      *error = "neq cannot be a traffic selector (it is two ranges); write two lines";
      return false;
    }
    return true;
  }

  void AclLine(const Words& w, absl::string_view rest_text, bool numbered) {
    const std::string& entry = acl_name_;
    size_t i = 0;
    uint64_t seq = 0;
    if (!numbered && ParseUint(w[0], 2147483647, &seq)) {
      ++i;
      if (seq == 0) return Error(line_, entry, "sequence", "sequence numbers start at 1");
    }
    if (i >= w.size()) return Error(line_, entry, "", "permit, deny or remark");
    if (w[i] == "remark") {
      pending_remark_ = std::string(After(rest_text, i + 1));
      return;
    }
    ike::AccessListEntry e;
    if (w[i] == "permit") e.set_action(ike::ACL_ACTION_PERMIT);
    else if (w[i] == "deny") e.set_action(ike::ACL_ACTION_DENY);
    else return Error(line_, entry, "", absl::StrCat("expected permit, deny or remark, not '", w[i], "'"));
    ++i;
    if (i >= w.size()) return Error(line_, entry, "protocol", "missing protocol");
    auto proto = AclProtocol(w[i]);
    if (!proto) return Error(line_, entry, "protocol", absl::StrCat("unknown protocol '", w[i], "'"));
    ++i;
    auto* m = e.mutable_match();
    m->set_protocol(*proto);
    const bool ports = *proto == 6 || *proto == 17;
    std::string error;
    if (!AclAddress(w, &i, m->mutable_source(), &error)) return Error(line_, entry, "source", error);
    if (ports && !AclPorts(w, &i, m->mutable_source_ports(), &error)) {
      return Error(line_, entry, "source port", error);
    }
    if (!AclAddress(w, &i, m->mutable_destination(), &error)) {
      return Error(line_, entry, "destination", error);
    }
    if (ports && !AclPorts(w, &i, m->mutable_destination_ports(), &error)) {
      return Error(line_, entry, "destination port", error);
    }
    if (i < w.size() && (w[i] == "log" || w[i] == "log-input")) ++i;
    if (i != w.size()) {
      return Error(line_, entry, "", absl::StrCat("unexpected '", w[i], "' (options other than "
                                                  "ports and log are not selectors)"));
    }
    if (acl_ == nullptr) acl_ = AclNamed(acl_key_);
    if (seq == 0) {
      uint32_t last = 0;
      for (const auto& x : acl_->entries()) last = std::max(last, x.sequence());
      seq = last + 10;
    } else {
      for (const auto& x : acl_->entries()) {
        if (x.sequence() == seq) {
          return Error(line_, entry, "sequence", absl::StrCat("sequence ", seq, " is used twice"));
        }
      }
    }
    e.set_sequence(static_cast<uint32_t>(seq));
    if (!pending_remark_.empty()) e.set_remark(std::exchange(pending_remark_, {}));
    *acl_->add_entries() = std::move(e);
    std::sort(acl_->mutable_entries()->begin(), acl_->mutable_entries()->end(),
              [](const auto& a, const auto& b) { return a.sequence() < b.sequence(); });
  }

  // ------------------------------------------- crypto key pubkey-chain rsa --
  // A peer's RSA public key for `authentication rsa-encr`:
  //   crypto key pubkey-chain rsa
  //    named-key NAME [encryption] | addressed-key IP [encryption]
  //     address IP                  (named keys)
  //     key-string
  //      HEX HEX ...                (the DER SubjectPublicKeyInfo)
  //     quit
  void PubkeySub(const Words& w, absl::string_view text) {
    const std::string entry = "crypto key pubkey-chain rsa";
    if (mode_ == Mode::kKeyString) {
      if (w[0] == "quit") {
        std::string der;
        if (key_hex_.empty() || key_hex_.size() % 2 != 0 ||
            !std::all_of(key_hex_.begin(), key_hex_.end(),
                         [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); })) {
          Error(key_line_, entry_name_, "key-string", "the key string is not hexadecimal octets");
        } else if (pubkey_ != nullptr) {
          pubkey_->set_key(absl::HexStringToBytes(key_hex_));
        }
        key_hex_.clear();
        mode_ = Mode::kPubkey;
        return;
      }
      for (absl::string_view word : w) absl::StrAppend(&key_hex_, word);
      if (key_hex_.size() > 2 * 4096) {
        Error(key_line_, entry_name_, "key-string", "longer than any RSA key of up to 8192 bits");
        key_hex_.clear();
        mode_ = Mode::kNone;
      }
      return;
    }
    if (w[0] == "named-key" || w[0] == "addressed-key") {
      const bool named = w[0] == "named-key";
      if (w.size() < 2 || w.size() > 3 || (w.size() == 3 && w[2] != "encryption" && w[2] != "signature")) {
        return Error(line_, entry, std::string(w[0]),
                     absl::StrCat(w[0], named ? " NAME" : " IP", " [encryption|signature]"));
      }
      if (!named && !net::ParseAddress(w[1]).ok()) {
        return Error(line_, entry, "addressed-key", absl::StrCat("'", w[1], "' is not an IP address"));
      }
      entry_name_ = absl::StrCat(w[0], " ", w[1]);
      if (w.size() == 3 && w[2] == "signature") {
        // Raw signature keys (rsa-sig without certificates) are not used:
        // signatures are checked against certificates.
        Warn(line_, entry_name_, "usage", "signature keys are not used (rsa-sig takes certificates); skipped");
        pubkey_ = nullptr;  // its lines are read and dropped
        mode_ = Mode::kPubkey;
        return;
      }
      pubkey_ = nullptr;
      for (auto& k : *result_.config.mutable_rsa_public_keys()) {
        if (named ? k.name() == w[1] : (k.name().empty() && k.address() == w[1])) pubkey_ = &k;
      }
      if (pubkey_ == nullptr) {
        pubkey_ = result_.config.add_rsa_public_keys();
        (named ? pubkey_->mutable_name() : pubkey_->mutable_address())->assign(std::string(w[1]));
      }
      mode_ = Mode::kPubkey;
      return;
    }
    if (mode_ == Mode::kPubkey && w[0] == "address" && w.size() == 2) {
      if (pubkey_ == nullptr) return;
      if (pubkey_->name().empty()) {
        return Error(line_, entry_name_, "address", "only a named-key takes an address");
      }
      if (!net::ParseAddress(w[1]).ok()) {
        return Error(line_, entry_name_, "address", absl::StrCat("'", w[1], "' is not an IP address"));
      }
      pubkey_->set_address(std::string(w[1]));
      return;
    }
    if (mode_ == Mode::kPubkey && w[0] == "key-string" && w.size() == 1) {
      key_line_ = line_;
      key_hex_.clear();
      mode_ = Mode::kKeyString;
      return;
    }
    if (w[0] == "quit") return;
    Error(line_, mode_ == Mode::kPubkey ? entry_name_ : entry, std::string(w[0]),
          absl::StrCat("unknown command '", text, "'"));
  }

  // --------------------------------------------------------- trustpoints --
  void TrustpointStart(const Words& w) {
    if (w.size() != 4) return Error(line_, "crypto pki trustpoint", "", "crypto pki trustpoint NAME");
    ike::Trustpoint* tp = nullptr;
    for (auto& t : *result_.config.mutable_trustpoints()) {
      if (t.name() == w[3]) tp = &t;
    }
    if (tp == nullptr) {
      tp = result_.config.add_trustpoints();
      tp->set_name(std::string(w[3]));
    }
    trustpoint_ = tp;
    entry_name_ = absl::StrCat("crypto pki trustpoint ", w[3]);
    mode_ = Mode::kTrustpoint;
  }

  void TrustpointSub(const Words& w, absl::string_view text) {
    ike::Trustpoint* tp = trustpoint_;
    const std::string& entry = entry_name_;
    if (w[0] == "enrollment") {
      if (w.size() == 3 && w[1] == "url") {
        tp->set_enrollment_url(std::string(w[2]));
        return;
      }
      if (w.size() == 3 && w[1] == "mode" && w[2] == "ra") {
        tp->set_enrollment_mode_ra(true);
        return;
      }
      return Warn(line_, entry, "enrollment", "only 'enrollment url' and 'enrollment mode ra' are used");
    }
    if (w[0] == "fingerprint" && w.size() == 2) {
      tp->set_ca_fingerprint_sha256(absl::AsciiStrToLower(w[1]));
      return;
    }
    if (w[0] == "subject-name") {
      tp->set_subject_name(std::string(After(text, 1)));
      return;
    }
    if (w[0] == "subject-alt-name" && w.size() >= 2) {
      tp->add_subject_alt_names(std::string(After(text, 1)));
      return;
    }
    if (w[0] == "revocation-check" && w.size() >= 2) {
      // IOS: up to three methods, tried in order (`ocsp crl none`).
      tp->clear_revocation_check();
      tp->set_revocation_check_crl(false);
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i] == "crl") {
          tp->add_revocation_check(ike::REVOCATION_METHOD_CRL);
          tp->set_revocation_check_crl(true);
        } else if (w[i] == "ocsp") {
          tp->add_revocation_check(ike::REVOCATION_METHOD_OCSP);
        } else if (w[i] == "none") {
          tp->add_revocation_check(ike::REVOCATION_METHOD_NONE);
        } else {
          return Error(line_, entry, "revocation-check",
                       absl::StrCat("unknown method '", w[i], "'; crl, ocsp or none"));
        }
      }
      return;
    }
    if (w[0] == "ocsp" && w.size() == 3 && w[1] == "url") {
      tp->set_ocsp_url(std::string(w[2]));
      return;
    }
    uint64_t n;
    if (w[0] == "rsakeypair" && w.size() >= 2) {
      tp->set_key_type(ike::KEY_TYPE_RSA_2048);
      if (w.size() >= 3 && ParseUint(w[2], 8192, &n)) {
        if (n == 2048) tp->set_key_type(ike::KEY_TYPE_RSA_2048);
        else if (n == 3072) tp->set_key_type(ike::KEY_TYPE_RSA_3072);
        else if (n == 4096) tp->set_key_type(ike::KEY_TYPE_RSA_4096);
        else return Error(line_, entry, "rsakeypair", "RSA keys are 2048, 3072 or 4096 bits");
      }
      return;
    }
    if (w[0] == "eckeypair" && w.size() >= 2) {
      tp->set_key_type(ike::KEY_TYPE_ECDSA_P256);
      if (w.size() >= 3 && ParseUint(w[2], 521, &n)) {
        if (n == 384) tp->set_key_type(ike::KEY_TYPE_ECDSA_P384);
        else if (n != 256) return Error(line_, entry, "eckeypair", "EC keys are 256 or 384 bits");
      }
      return;
    }
    if (w[0] == "auto-enroll") {
      tp->set_auto_enroll_percent(80);
      if (w.size() >= 2 && ParseUint(w[1], 100, &n)) {
        if (n == 0) return Error(line_, entry, "auto-enroll", "the percentage is 1..100");
        tp->set_auto_enroll_percent(static_cast<uint32_t>(n));
      }
      return;
    }
    Warn(line_, entry, std::string(w[0]), "ignored");
  }

  // -------------------------------------------------------- sub-commands --
  void SubCommand(const Words& w, absl::string_view text) {
    switch (mode_) {
      case Mode::kNone:
        return;
      case Mode::kIsakmpPolicy:
        return PolicySub(w, text);
      case Mode::kTransformSet: {
        const std::string entry = absl::StrCat("crypto ipsec transform-set ", transform_set_->name());
        if (w.size() == 2 && w[0] == "mode" && w[1] == "tunnel") {
          transform_set_->set_mode(c::IPSEC_MODE_TUNNEL);
        } else if (w.size() == 2 && w[0] == "mode" && w[1] == "transport") {
          transform_set_->set_mode(c::IPSEC_MODE_TRANSPORT);
        } else {
          Error(line_, entry, std::string(w[0]), absl::StrCat("unknown command '", text, "'"));
        }
        return;
      }
      case Mode::kCryptoMap:
        return MapSub(w, text);
      case Mode::kAcl:
        return AclLine(w, text, /*numbered=*/false);
      case Mode::kInterface:
        if (w.size() == 3 && w[0] == "crypto" && w[1] == "map") {
          interface_maps_.push_back({std::string(w[2]), interface_, line_});
        }
        return;  // addresses, descriptions, ...: not ours
      case Mode::kTrustpoint:
        return TrustpointSub(w, text);
      case Mode::kPubkeyChain:
      case Mode::kPubkey:
      case Mode::kKeyString:
        return PubkeySub(w, text);
    }
  }

  void PolicySub(const Words& w, absl::string_view text) {
    ike::IsakmpPolicy* p = policy_;
    const std::string entry = absl::StrCat("crypto isakmp policy ", p->priority());
    const std::string field(w[0]);
    const std::string args = absl::StrJoin(w.begin() + 1, w.end(), " ");
    if (w[0] == "encryption") {
      auto e = IsakmpEncryption(args);
      if (!e) return Error(line_, entry, field, absl::StrCat("unknown encryption '", args, "'"));
      p->set_encryption(*e);
    } else if (w[0] == "hash") {
      auto h = IsakmpHash(args);
      if (!h) return Error(line_, entry, field, absl::StrCat("unknown hash '", args, "'"));
      p->set_hash(*h);
    } else if (w[0] == "integrity") {
      auto i = IsakmpIntegrity(args);
      if (!i) return Error(line_, entry, field, absl::StrCat("unknown integrity '", args, "'"));
      p->set_integrity(*i);
    } else if (w[0] == "authentication") {
      auto a = IsakmpAuthentication(args);
      if (!a) return Error(line_, entry, field, absl::StrCat("unknown authentication '", args, "'"));
      p->set_authentication(*a);
    } else if (w[0] == "group") {
      auto g = DhGroupNumber(args);
      if (!g) return Error(line_, entry, field, absl::StrCat("unknown DH group '", args, "'"));
      p->set_group(*g);
    } else if (w[0] == "lifetime") {
      uint64_t n;
      if (!ParseUint(args, 86400, &n) || n < 60) {
        return Error(line_, entry, field, "lifetime is 60..86400 seconds");
      }
      p->set_lifetime_seconds(static_cast<uint32_t>(n));
    } else if (w[0] == "version") {
      if (args == "1") p->set_version(ike::IKE_VERSION_1);
      else if (args == "2") p->set_version(ike::IKE_VERSION_2);
      else return Error(line_, entry, field, "version is 1 or 2");
    } else {
      Error(line_, entry, field, absl::StrCat("unknown command '", text, "'"));
    }
  }

  // Things that can only be checked once everything is read.
  void Finish() {
    for (const auto& [map_name, iface, line] : interface_maps_) {
      bool found = false;
      for (auto& m : *result_.config.mutable_crypto_maps()) {
        if (m.name() == map_name && !m.dynamic()) {
          found = true;
          if (std::find(m.interfaces().begin(), m.interfaces().end(), iface) == m.interfaces().end()) {
            m.add_interfaces(iface);
          }
        }
      }
      if (!found) {
        Error(line, absl::StrCat("interface ", iface), "crypto map",
              absl::StrCat("crypto map ", map_name, " is not defined"));
      }
    }
    if (!pending_remark_.empty()) {
      Warn(line_, acl_name_, "remark", "a remark at the end of an access list describes nothing");
    }
    for (const auto& k : result_.config.rsa_public_keys()) {
      if (k.key().empty()) {
        Error(line_, k.name().empty() ? absl::StrCat("addressed-key ", k.address())
                                      : absl::StrCat("named-key ", k.name()),
              "key-string", "no key-string ... quit gave the key");
      }
    }
  }

  absl::string_view device_;
  ParseResult result_;
  uint32_t line_ = 0;
  Mode mode_ = Mode::kNone;
  ike::IsakmpPolicy* policy_ = nullptr;
  ike::TransformSet* transform_set_ = nullptr;
  ike::CryptoMapEntry* entry_ = nullptr;
  ike::AccessList* acl_ = nullptr;
  ike::Trustpoint* trustpoint_ = nullptr;
  ike::RsaPublicKey* pubkey_ = nullptr;  // the pubkey-chain key being read
  std::string key_hex_;                   // its key-string so far
  uint32_t key_line_ = 0;
  std::string entry_name_;
  std::string acl_name_;
  std::string acl_key_;
  std::string interface_;
  std::string pending_remark_;
  struct InterfaceMap {
    std::string map;
    std::string interface;
    uint32_t line;
  };
  std::vector<InterfaceMap> interface_maps_;
};

}  // namespace

bool ParseResult::ok() const {
  for (const auto& d : diagnostics) {
    if (d.severity() == v1::Diagnostic::SEVERITY_ERROR) return false;
  }
  return true;
}

ParseResult ParseIosConfig(absl::string_view text, absl::string_view device) {
  return Parser(device).Run(text);
}

}  // namespace vpnfleet::controller::ios
