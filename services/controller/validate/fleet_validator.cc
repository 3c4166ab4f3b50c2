#include "services/controller/validate/fleet_validator.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"

namespace vpnfleet::controller {
namespace {

namespace c = vpnfleet::common::v1;
namespace ike = vpnfleet::ike::v1;

class Findings {
 public:
  void Error(const std::string& device, const std::string& entry, const std::string& field,
             std::string message) {
    Add(v1::Diagnostic::SEVERITY_ERROR, device, entry, field, std::move(message));
  }
  void Warn(const std::string& device, const std::string& entry, const std::string& field,
            std::string message) {
    Add(v1::Diagnostic::SEVERITY_WARNING, device, entry, field, std::move(message));
  }
  std::vector<v1::Diagnostic> Take() { return std::move(out_); }

 private:
  void Add(v1::Diagnostic::Severity sev, const std::string& device, const std::string& entry,
           const std::string& field, std::string message) {
    v1::Diagnostic d;
    d.set_severity(sev);
    d.set_device(device);
    d.set_entry(entry);
    d.set_field(field);
    d.set_message(std::move(message));
    out_.push_back(std::move(d));
  }
  std::vector<v1::Diagnostic> out_;
};

std::string EntryName(const ike::CryptoMap& m, const ike::CryptoMapEntry& e) {
  return absl::StrCat(m.dynamic() ? "crypto dynamic-map " : "crypto map ", m.name(), " ", e.sequence());
}

// One selector, comparable.
struct Sel {
  std::string src, dst;
  uint32_t src_len, dst_len, proto, sp_lo, sp_hi, dp_lo, dp_hi;
  auto Key() const { return std::tie(src, src_len, dst, dst_len, proto, sp_lo, sp_hi, dp_lo, dp_hi); }
  bool operator<(const Sel& o) const { return Key() < o.Key(); }
  bool operator==(const Sel& o) const { return Key() == o.Key(); }
  Sel Mirror() const { return {dst, src, dst_len, src_len, proto, dp_lo, dp_hi, sp_lo, sp_hi}; }
  std::string ToString() const {
    std::string s = absl::StrCat(src, "/", src_len, " -> ", dst, "/", dst_len);
    if (proto) absl::StrAppend(&s, " protocol ", proto);
    return s;
  }
};

uint32_t Hi(const c::PortRange& r) { return r.end() == 0 && r.start() == 0 ? 65535 : r.end(); }

bool PrefixCovers(const std::string& outer, uint32_t outer_len, const std::string& inner, uint32_t inner_len) {
  if (outer_len > inner_len) return false;
  auto o = net::ParseAddress(outer);
  auto i = net::ParseAddress(inner);
  if (!o.ok() || !i.ok()) return false;
  return net::IpPrefix{*o, static_cast<int>(outer_len)}.Contains(*i);
}

bool Covers(const Sel& outer, const Sel& inner) {
  return PrefixCovers(outer.src, outer.src_len, inner.src, inner.src_len) &&
         PrefixCovers(outer.dst, outer.dst_len, inner.dst, inner.dst_len) &&
         (outer.proto == 0 || outer.proto == inner.proto) && outer.sp_lo <= inner.sp_lo &&
         outer.sp_hi >= inner.sp_hi && outer.dp_lo <= inner.dp_lo && outer.dp_hi >= inner.dp_hi;
}

bool SameTransform(const ike::TransformSet& a, const ike::TransformSet& b) {
  auto mode = [](c::IpsecMode m) { return m == c::IPSEC_MODE_UNSPECIFIED ? c::IPSEC_MODE_TUNNEL : m; };
  return a.ah() == b.ah() && a.esp_encryption() == b.esp_encryption() &&
         a.esp_integrity() == b.esp_integrity() && mode(a.mode()) == mode(b.mode());
}

ike::AuthMethod Auth(const ike::IsakmpPolicy& p) {
  return p.authentication() == ike::AUTH_METHOD_UNSPECIFIED ? ike::AUTH_METHOD_RSA_SIG : p.authentication();
}

bool SamePolicy(const ike::IsakmpPolicy& a, const ike::IsakmpPolicy& b) {
  auto version = [](ike::IkeVersion v) { return v == ike::IKE_VERSION_UNSPECIFIED ? ike::IKE_VERSION_2 : v; };
  return a.encryption() == b.encryption() && a.hash() == b.hash() && a.integrity() == b.integrity() &&
         a.group() == b.group() && Auth(a) == Auth(b) && version(a.version()) == version(b.version());
}

bool IsIkev2(const ike::IsakmpPolicy& p) { return p.version() != ike::IKE_VERSION_1; }

// Where an operator finds a policy in IOS terms: IKEv1's crypto isakmp
// policy, or the IKEv2 proposal the writer names after its priority.
std::string PolicyEntry(const ike::IsakmpPolicy& p) {
  return absl::StrCat(IsIkev2(p) ? "crypto ikev2 proposal " : "crypto isakmp policy ", p.priority());
}

std::string PolicyWords(const ike::IsakmpPolicy& p) {
  if (IsIkev2(p)) {
    return absl::StrCat(p.priority(), " (IKEv2 ", ios::Ikev2EncryptionWord(p.encryption()), "/prf ",
                        ios::Ikev2PrfWord(p.hash()), "/group ", static_cast<int>(p.group()), "/",
                        ios::IsakmpAuthenticationWord(p.authentication()), ")");
  }
  return absl::StrCat(p.priority(), " (", ios::IsakmpEncryptionWords(p.encryption()), "/",
                      ios::IsakmpHashWord(p.hash()), "/group ", static_cast<int>(p.group()), "/",
                      ios::IsakmpAuthenticationWord(p.authentication()), ")");
}

struct Answer {
  const ike::CryptoMap* map = nullptr;
  const ike::CryptoMapEntry* entry = nullptr;
};

// One policy's lookups, built once: a 10,000-spoke hub is asked about by
// every spoke, and scanning its 10,000 entries each time is quadratic.
struct PolicyIndex {
  std::map<std::string, Answer> static_by_peer;
  Answer dynamic_answer;
  std::map<std::string, std::vector<Sel>> permits;
  std::map<std::string, const ike::TransformSet*> transform_sets;
  // Pre-shared keys: host keys by address (a hub holds one per spoke),
  // wider prefixes to scan, hostnames.
  std::set<std::string> host_keys;
  std::vector<net::IpPrefix> prefix_keys;
  std::set<std::string> hostname_keys;

  explicit PolicyIndex(const ike::IkeConfig& p) {
    for (const auto& k : p.pre_shared_keys()) {
      if (!k.key_set() && k.key().empty()) continue;
      if (k.peer_case() == ike::PreSharedKey::kHostname) {
        hostname_keys.insert(k.hostname());
        continue;
      }
      auto prefix = net::ParsePrefix(k.address());
      if (!prefix.ok()) continue;
      if (prefix->length == prefix->address.bit_length()) {
        host_keys.insert(prefix->address.ToString());
      } else {
        prefix_keys.push_back(*prefix);
      }
    }
    for (const auto& m : p.crypto_maps()) {
      if (m.dynamic()) continue;
      for (const auto& e : m.entries()) {
        if (e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_MANUAL) continue;
        if (e.kind() == ike::CRYPTO_MAP_KIND_DYNAMIC) {
          if (dynamic_answer.entry != nullptr) continue;
          for (const auto& d : p.crypto_maps()) {
            if (d.dynamic() && d.name() == e.dynamic_map() && d.entries_size() > 0) {
              dynamic_answer = {&d, &d.entries(0)};
              break;
            }
          }
          continue;
        }
        for (const auto& peer : e.peers()) static_by_peer.emplace(peer, Answer{&m, &e});
      }
    }
    for (const auto& a : p.access_lists()) {
      auto& out = permits[a.name()];
      for (const auto& e : a.entries()) {
        if (e.action() != ike::ACL_ACTION_PERMIT) continue;
        const auto& m = e.match();
        out.push_back({m.source().address(), m.destination().address(), m.source().length(),
                       m.destination().length(), m.protocol(), m.source_ports().start(), Hi(m.source_ports()),
                       m.destination_ports().start(), Hi(m.destination_ports())});
      }
    }
    for (auto& [name, sels] : permits) std::sort(sels.begin(), sels.end());
    for (const auto& t : p.transform_sets()) transform_sets.emplace(t.name(), &t);
  }
  Answer Find(const std::string& address) const {
    auto it = static_by_peer.find(address);
    return it != static_by_peer.end() ? it->second : dynamic_answer;
  }
  const std::vector<Sel>& PermitsOf(const std::string& acl) const {
    static const std::vector<Sel> kNone;
    auto it = permits.find(acl);
    return it != permits.end() ? it->second : kNone;
  }
  bool HasKeyFor(const std::string& address, const std::string& name) const {
    if (hostname_keys.count(name)) return true;
    auto a = net::ParseAddress(address);
    if (!a.ok()) return false;
    if (host_keys.count(a->ToString())) return true;
    return std::any_of(prefix_keys.begin(), prefix_keys.end(), [&](const net::IpPrefix& k) {
      return k.address.family == a->family && k.Contains(*a);
    });
  }
  const ike::TransformSet* TransformSet(const std::string& name) const {
    auto it = transform_sets.find(name);
    return it != transform_sets.end() ? it->second : nullptr;
  }
};

void CheckReferences(Findings& f, const std::string& device, const ike::IkeConfig& p) {
  std::set<std::string> acls, sets, dynamic_maps;
  for (const auto& a : p.access_lists()) acls.insert(a.name());
  for (const auto& t : p.transform_sets()) sets.insert(t.name());
  for (const auto& m : p.crypto_maps()) {
    if (m.dynamic()) dynamic_maps.insert(m.name());
  }
  for (const auto& m : p.crypto_maps()) {
    for (const auto& e : m.entries()) {
      const std::string entry = EntryName(m, e);
      if (e.kind() == ike::CRYPTO_MAP_KIND_DYNAMIC) {
        if (!dynamic_maps.count(e.dynamic_map())) {
          f.Error(device, entry, "dynamic", absl::StrCat("dynamic map ", e.dynamic_map(), " is not defined"));
        }
        continue;
      }
      if (e.match_address().empty()) {
        f.Error(device, entry, "match address", "no crypto ACL: the entry protects nothing");
      } else if (!acls.count(e.match_address())) {
        f.Error(device, entry, "match address", absl::StrCat("access list ", e.match_address(), " is not defined"));
      }
      for (const auto& t : e.transform_sets()) {
        if (!sets.count(t)) {
          f.Error(device, entry, "set transform-set", absl::StrCat("transform set ", t, " is not defined"));
        }
      }
      if (e.transform_sets().empty()) f.Error(device, entry, "set transform-set", "no transform set");
      if (ios::IsLegacy(e.pfs_group())) {
        f.Warn(device, entry, "set pfs", absl::StrCat("group ", static_cast<int>(e.pfs_group()), " is a legacy DH group"));
      }
    }
  }
}

void CheckLegacy(Findings& f, const std::string& device, const ike::IkeConfig& p) {
  for (const auto& pol : p.isakmp_policies()) {
    const std::string entry = PolicyEntry(pol);
    if (ios::IsLegacy(pol.encryption())) f.Warn(device, entry, "encryption", "legacy cipher (DES/3DES)");
    if (ios::IsLegacy(pol.hash())) f.Warn(device, entry, "hash", "legacy hash (MD5)");
    if (ios::IsLegacy(pol.integrity())) f.Warn(device, entry, "integrity", "legacy integrity (MD5)");
    if (ios::IsLegacy(pol.group())) {
      f.Warn(device, entry, "group", absl::StrCat("group ", static_cast<int>(pol.group()), " is a legacy DH group"));
    }
  }
  for (const auto& t : p.transform_sets()) {
    const std::string entry = absl::StrCat("crypto ipsec transform-set ", t.name());
    if (ios::IsLegacy(t.esp_encryption())) f.Warn(device, entry, "transforms", "legacy ESP cipher (DES/3DES)");
    if (ios::IsLegacy(t.esp_integrity()) || ios::IsLegacy(t.ah())) {
      f.Warn(device, entry, "transforms", "legacy authenticator (MD5)");
    }
  }
}

void CheckPrefixes(Findings& f, const Snapshot& snap) {
  struct Range {
    uint32_t lo, hi;
    std::string device, text;
  };
  std::vector<Range> v4;
  for (const auto& [name, d] : snap.devices) {
    for (const auto& p : d.inner_prefixes()) {
      auto parsed = net::ParsePrefix(p);
      if (!parsed.ok() || parsed->address.family != net::Family::kV4) continue;
      const auto& b = parsed->address.bytes;
      uint32_t lo = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
      uint32_t size_minus_1 = parsed->length == 0 ? 0xffffffffu : (0xffffffffu >> parsed->length);
      v4.push_back({lo, lo + size_minus_1, name, parsed->ToString()});
    }
  }
  std::sort(v4.begin(), v4.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
  // Sorted by start, a range overlaps an earlier one exactly when it starts
  // before the furthest end seen so far.
  const Range* widest = nullptr;
  for (const Range& r : v4) {
    if (widest != nullptr && r.lo <= widest->hi && r.device != widest->device) {
      f.Error(r.device, "device", "inner_prefixes",
              absl::StrCat(r.text, " overlaps ", widest->text, " of device ", widest->device));
    }
    if (widest == nullptr || r.hi > widest->hi) widest = &r;
  }
}

}  // namespace

std::vector<v1::Diagnostic> ValidateFleet(const Snapshot& snap,
                                          const std::map<std::string, const ike::IkeConfig*>& policies) {
  Findings f;
  CheckPrefixes(f, snap);
  std::map<std::string, std::string> by_wan;
  for (const auto& [name, d] : snap.devices) by_wan[d.wan_address()] = name;

  std::map<std::string, PolicyIndex> index;
  for (const auto& [device, p] : policies) index.emplace(device, PolicyIndex(*p));
  for (const auto& [device, p] : policies) {
    const PolicyIndex& mine_index = index.at(device);
    CheckReferences(f, device, *p);
    CheckLegacy(f, device, *p);
    if (p->isakmp_policies().empty() && !p->crypto_maps().empty()) {
      f.Error(device, "crypto isakmp policy", "", "no ISAKMP policy: no tunnel can be negotiated");
    }
    const std::string& my_wan = snap.devices.at(device).wan_address();
    for (const auto& m : p->crypto_maps()) {
      if (m.dynamic()) continue;
      for (const auto& e : m.entries()) {
        if (e.kind() == ike::CRYPTO_MAP_KIND_DYNAMIC || e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_MANUAL) continue;
        const std::string entry = EntryName(m, e);
        if (e.peers().empty()) f.Error(device, entry, "set peer", "a static entry needs a peer");
        for (const auto& peer_address : e.peers()) {
          auto w = by_wan.find(peer_address);
          if (w == by_wan.end()) {
            f.Error(device, entry, "set peer",
                    absl::StrCat(peer_address, " is not the WAN address of any device: the peer is unreachable "
                                 "for the fleet (add it as a device, or fix the address)"));
            continue;
          }
          const std::string& peer = w->second;
          auto q_it = policies.find(peer);
          if (q_it == policies.end()) {
            f.Warn(device, entry, "set peer", absl::StrCat("peer ", peer, " has no policy of ours; not checked"));
            continue;
          }
          const ike::IkeConfig& q = *q_it->second;
          const PolicyIndex& peer_index = index.at(peer);
          Answer ans = peer_index.Find(my_wan);
          if (ans.entry == nullptr) {
            f.Error(device, entry, "set peer",
                    absl::StrCat("peer ", peer, " has no crypto map entry for ", my_wan,
                                 " (no `set peer ", my_wan, "` and no dynamic map)"));
            continue;
          }
          const std::string peer_entry = EntryName(*ans.map, *ans.entry);
          // Crypto ACLs.
          const std::vector<Sel>& mine = mine_index.PermitsOf(e.match_address());
          const std::vector<Sel>& theirs = peer_index.PermitsOf(ans.entry->match_address());
          if (ans.map->dynamic()) {
            for (const Sel& s : mine) {
              Sel want = s.Mirror();
              bool covered = std::any_of(theirs.begin(), theirs.end(), [&](const Sel& t) { return Covers(t, want); });
              if (!covered) {
                f.Error(device, entry, "match address",
                        absl::StrCat("access list ", e.match_address(), " protects ", s.ToString(), ", but ", peer,
                                     "'s ", peer_entry, " (access list ", ans.entry->match_address(),
                                     ") does not cover ", want.ToString()));
              }
            }
          } else {
            std::vector<Sel> mirrored;
            for (const Sel& t : theirs) mirrored.push_back(t.Mirror());
            std::sort(mirrored.begin(), mirrored.end());
            if (mirrored != mine) {
              std::vector<std::string> missing, extra;
              for (const Sel& s : mine) {
                if (!std::binary_search(mirrored.begin(), mirrored.end(), s)) missing.push_back(s.ToString());
              }
              for (const Sel& s : mirrored) {
                if (!std::binary_search(mine.begin(), mine.end(), s)) extra.push_back(s.ToString());
              }
              f.Error(device, entry, "match address",
                      absl::StrCat("access list ", e.match_address(), " is not the mirror image of ", peer, "'s ",
                                   peer_entry, " (access list ", ans.entry->match_address(), ")",
                                   missing.empty() ? "" : absl::StrCat("; only here: ", absl::StrJoin(missing, ", ")),
                                   extra.empty() ? "" : absl::StrCat("; only there (mirrored): ", absl::StrJoin(extra, ", "))));
            }
          }
          // Transform sets.
          bool common_ts = false;
          for (const auto& a : e.transform_sets()) {
            for (const auto& b : ans.entry->transform_sets()) {
              const auto* ta = mine_index.TransformSet(a);
              const auto* tb = peer_index.TransformSet(b);
              if (ta && tb && SameTransform(*ta, *tb)) common_ts = true;
            }
          }
          if (!common_ts) {
            f.Error(device, entry, "set transform-set",
                    absl::StrCat("no transform set in common with ", peer, "'s ", peer_entry, " (",
                                 absl::StrJoin(e.transform_sets(), " "), " vs ",
                                 absl::StrJoin(ans.entry->transform_sets(), " "), ")"));
          }
          // ISAKMP policies and the credentials the agreed one needs.
          const ike::IsakmpPolicy* agreed = nullptr;
          for (const auto& a : p->isakmp_policies()) {
            for (const auto& b : q.isakmp_policies()) {
              if (agreed == nullptr && SamePolicy(a, b)) agreed = &a;
            }
          }
          if (agreed == nullptr) {
            std::vector<std::string> mine_p, theirs_p;
            for (const auto& a : p->isakmp_policies()) mine_p.push_back(PolicyWords(a));
            for (const auto& b : q.isakmp_policies()) theirs_p.push_back(PolicyWords(b));
            const bool all_v2 = std::all_of(p->isakmp_policies().begin(), p->isakmp_policies().end(),
                                            [](const auto& a) { return IsIkev2(a); });
            f.Error(device, all_v2 ? "crypto ikev2 proposal" : "crypto isakmp policy", "",
                    absl::StrCat("no IKE policy in common with ", peer, " (here: ", absl::StrJoin(mine_p, ", "),
                                 "; ", peer, ": ", absl::StrJoin(theirs_p, ", "), ")"));
            continue;
          }
          if (Auth(*agreed) == ike::AUTH_METHOD_PRE_SHARE) {
            const char* keys = IsIkev2(*agreed) ? "crypto ikev2 keyring" : "crypto isakmp key";
            if (!mine_index.HasKeyFor(peer_address, peer)) {
              f.Error(device, keys, "address",
                      absl::StrCat("no pre-shared key for peer ", peer, " (", peer_address, ")"));
            }
            if (!peer_index.HasKeyFor(my_wan, device)) {
              f.Error(peer, keys, "address",
                      absl::StrCat("no pre-shared key for peer ", device, " (", my_wan, ")"));
            }
          } else {
            if (p->trustpoints().empty()) {
              f.Error(device, "crypto pki trustpoint", "",
                      absl::StrCat("ISAKMP policy ", agreed->priority(), " authenticates with certificates, but "
                                   "there is no trustpoint"));
            }
            if (q.trustpoints().empty()) {
              f.Error(peer, "crypto pki trustpoint", "",
                      absl::StrCat("peer ", device, " authenticates with certificates, but there is no trustpoint"));
            }
          }
        }
      }
    }
  }
  return f.Take();
}

}  // namespace vpnfleet::controller
