#include "services/ike/daemon/policy_book.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace v1 = vpnfleet::ike::v1;

const v1::AccessList* FindAcl(const v1::IkeConfig& c, const std::string& name) {
  for (const v1::AccessList& a : c.access_lists()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

const v1::TransformSet* FindSet(const v1::IkeConfig& c, const std::string& name) {
  for (const v1::TransformSet& t : c.transform_sets()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// The SPD order of an ACL line: crypto map sequence first, then the line's
// place in its ACL (both fit 16 bits: sequences are 1..65535).
uint32_t SpdPriority(uint32_t map_sequence, size_t rank) {
  return (std::min<uint32_t>(map_sequence, 0xffff) << 16) |
         static_cast<uint32_t>(std::min<size_t>(rank, 0xffff));
}

// One crypto map entry as CHILD policies, one for each permit line of its
// ACL (IOS: each permit line is its own pair of proxy identities, with its
// own SAs). Deny lines become skip rules: traffic they match is not
// protected by this entry. `map_sequence` orders the entry in the SPD (for
// a dynamic map's entry, the sequence of the static entry that names it).
// False (with a warning) when nothing of the entry can be negotiated.
bool ChildrenOf(const v1::IkeConfig& c, const std::string& map, const v1::CryptoMapEntry& e,
                uint32_t map_sequence, std::vector<ChildPolicy>* out,
                std::vector<SkipRule>* skips, std::vector<std::string>* warnings) {
  const std::string where = absl::StrCat("crypto map ", map, " ", e.sequence());
  const v1::AccessList* acl = FindAcl(c, e.match_address());
  if (acl == nullptr) {
    warnings->push_back(absl::StrCat(where, ": no match address; entry ignored"));
    return false;
  }
  ChildPolicy base;
  base.crypto_map = map;
  base.sequence = e.sequence();
  base.pfs_group = static_cast<uint16_t>(e.pfs_group());
  base.per_host = e.per_host();
  for (const std::string& name : e.transform_sets()) {
    const v1::TransformSet* set = FindSet(c, name);
    if (set == nullptr) continue;
    auto p = EspProposalOf(*set, base.pfs_group);
    if (!p.ok()) {
      warnings->push_back(absl::StrCat(where, ": ", p.status().message()));
      continue;
    }
    base.proposals.push_back(*p);
    base.transform_sets.push_back(name);
    base.transport = base.transport || set->mode() == cv1::IPSEC_MODE_TRANSPORT;
  }
  if (base.proposals.empty()) {
    warnings->push_back(absl::StrCat(where, ": no usable transform set"));
    return false;
  }
  if (e.lifetime().seconds() != 0) base.lifetime_seconds = e.lifetime().seconds();
  if (e.lifetime().kilobytes() != 0) base.lifetime_kilobytes = e.lifetime().kilobytes();
  if (e.replay().disabled()) {
    base.replay_window = 0;
  } else if (e.replay().size() != 0) {
    base.replay_window = e.replay().size();
  }

  std::vector<v1::AccessListEntry> lines(acl->entries().begin(), acl->entries().end());
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.sequence() < b.sequence(); });
  // Lines already seen (permit or deny): a later line with the same
  // selectors can never match first, so it adds nothing.
  std::vector<std::pair<v2::TrafficSelector, v2::TrafficSelector>> seen;
  size_t permits = 0;
  for (size_t rank = 0; rank < lines.size(); ++rank) {
    const v1::AccessListEntry& line = lines[rank];
    auto l = SelectorOf(line.match().source(), line.match().protocol(), line.match().source_ports());
    auto r = SelectorOf(line.match().destination(), line.match().protocol(),
                        line.match().destination_ports());
    if (!l.ok() || !r.ok()) {
      warnings->push_back(absl::StrCat(where, ": access list ", acl->name(), " line ",
                                       line.sequence(), " is not a valid selector; skipped"));
      continue;
    }
    bool repeated = false;
    for (const auto& [sl, sr] : seen) repeated = repeated || (sl == *l && sr == *r);
    if (repeated) {
      warnings->push_back(absl::StrCat(where, ": access list ", acl->name(), " line ",
                                       line.sequence(), " repeats an earlier line; skipped"));
      continue;
    }
    seen.emplace_back(*l, *r);
    const uint32_t priority = SpdPriority(map_sequence, rank);
    if (line.action() == v1::ACL_ACTION_DENY) {
      // IKEv2 selectors cannot say "not": a deny line is the SPD's alone.
      skips->push_back(SkipRule{map, e.sequence(), priority, {*l}, {*r}});
      continue;
    }
    ChildPolicy child = base;
    child.acl_line = line.sequence();
    child.spd_priority = priority;
    child.local_ts = {*l};
    child.remote_ts = {*r};
    out->push_back(std::move(child));
    ++permits;
  }
  if (permits == 0) {
    warnings->push_back(absl::StrCat(where, ": access list ", acl->name(), " permits nothing"));
    return false;
  }
  return true;
}

}  // namespace

uint32_t ReqidAllocator::For(const std::string& key) {
  auto it = ids_.find(key);
  if (it != ids_.end()) return it->second;
  const uint32_t id = next_++;
  ids_[key] = id;
  return id;
}

PolicyBook PolicyBook::Build(const v1::IkeConfig& config, const LoadedTrustpoints& trustpoints,
                             ReqidAllocator& reqids, std::vector<std::string>* warnings) {
  PolicyBook b;
  b.revision_ = config.revision().number();
  std::vector<v1::IsakmpPolicy> policies(config.isakmp_policies().begin(),
                                         config.isakmp_policies().end());
  std::sort(policies.begin(), policies.end(),
            [](const auto& x, const auto& y) { return x.priority() < y.priority(); });
  absl::Duration lifetime = absl::Hours(24);
  bool any_v2 = false;
  for (const v1::IsakmpPolicy& p : policies) {
    if (p.version() == v1::IKE_VERSION_1) {
      auto v1_policy = ikev1::Phase1PolicyOf(p);
      if (!v1_policy.ok()) {
        warnings->push_back(std::string(v1_policy.status().message()));
        continue;
      }
      b.ikev1_configured_.push_back(*v1_policy);
      continue;
    }
    any_v2 = true;
    auto proposal = IkeProposalOf(p);
    if (!proposal.ok()) {
      warnings->push_back(std::string(proposal.status().message()));
      continue;
    }
    b.base_.ike_proposals.push_back(*proposal);
    if (p.lifetime_seconds() != 0) {
      lifetime = std::min(lifetime, absl::Seconds(p.lifetime_seconds()));
    }
  }
  b.base_.ike_lifetime = lifetime;
  for (const v1::PreSharedKey& k : config.pre_shared_keys()) {
    PskEntry e;
    if (k.has_address()) {
      auto prefix = net::ParsePrefix(k.address());
      if (!prefix.ok()) continue;
      e.address = *prefix;
    } else {
      e.hostname = k.hostname();
    }
    e.key = SecretBytes(k.key());
    b.base_.psks.push_back(std::move(e));
  }
  for (const v1::RsaPublicKey& k : config.rsa_public_keys()) {
    PeerRsaKey e;
    if (!k.address().empty()) {
      auto address = net::ParseAddress(k.address());
      if (!address.ok()) continue;
      e.address = *address;
    }
    e.name = k.name();
    auto key = auth::RsaPublicKey::FromDer(k.key());
    if (!key.ok()) continue;  // the validator refused it already
    e.key = *std::move(key);
    b.base_.peer_rsa_keys.push_back(std::move(e));
  }
  const v1::IsakmpGlobals& g = config.globals();
  b.identity_ = g.identity();
  b.hostname_ = g.hostname();
  if (g.keepalive_seconds() != 0) b.base_.dpd_interval = absl::Seconds(g.keepalive_seconds());
  b.base_.dpd_retry = absl::Seconds(g.keepalive_retry_seconds() != 0 ? g.keepalive_retry_seconds() : 2);
  if (g.nat_keepalive_seconds() != 0) b.base_.nat_keepalive = absl::Seconds(g.nat_keepalive_seconds());
  b.base_.allow_legacy = g.allow_legacy_algorithms();
  b.base_.aggressive_mode = !g.aggressive_mode_disabled();
  b.invalid_spi_recovery_ = g.invalid_spi_recovery();
  b.base_.dpd_on_demand = g.keepalive_mode() != v1::KEEPALIVE_MODE_PERIODIC;
  b.UseTrustpoints(config, trustpoints, warnings);

  // Dynamic map templates by name, for `ipsec-isakmp dynamic NAME` entries.
  std::map<std::string, const v1::CryptoMap*> dynamic_maps;
  for (const v1::CryptoMap& m : config.crypto_maps()) {
    if (m.dynamic()) dynamic_maps[m.name()] = &m;
  }
  for (const v1::CryptoMap& m : config.crypto_maps()) {
    if (m.dynamic()) continue;
    std::vector<v1::CryptoMapEntry> entries(m.entries().begin(), m.entries().end());
    std::sort(entries.begin(), entries.end(),
              [](const auto& x, const auto& y) { return x.sequence() < y.sequence(); });
    for (const v1::CryptoMapEntry& e : entries) {
      if (e.kind() == v1::CRYPTO_MAP_KIND_IPSEC_MANUAL) continue;  // keyed by hand, no IKE
      if (e.kind() == v1::CRYPTO_MAP_KIND_DYNAMIC) {
        auto it = dynamic_maps.find(e.dynamic_map());
        if (it == dynamic_maps.end()) continue;
        // The dynamic map's own entries in their order, all at the place
        // of the static entry that names the map.
        std::vector<v1::CryptoMapEntry> ds(it->second->entries().begin(),
                                           it->second->entries().end());
        std::stable_sort(ds.begin(), ds.end(),
                         [](const auto& x, const auto& y) { return x.sequence() < y.sequence(); });
        std::vector<ChildPolicy> children;
        std::vector<SkipRule> ignored;  // a responder's SPD entries come per negotiated child
        for (const v1::CryptoMapEntry& d : ds) {
          (void)ChildrenOf(config, absl::StrCat(m.name(), "/", it->first), d, e.sequence(),
                           &children, &ignored, warnings);
        }
        for (ChildPolicy& c : children) {
          c.dynamic = true;
          b.dynamics_.push_back(std::move(c));
        }
        continue;
      }
      std::vector<ChildPolicy> children;
      std::vector<SkipRule> skips;
      if (!ChildrenOf(config, m.name(), e, e.sequence(), &children, &skips, warnings)) continue;
      bool any_peer = false;
      for (const std::string& peer : e.peers()) {
        auto address = net::ParseAddress(peer);
        if (!address.ok()) {
          warnings->push_back(absl::StrCat("crypto map ", m.name(), " ", e.sequence(),
                                           ": peer ", peer, " is not an address; not initiated"));
          continue;
        }
        any_peer = true;
        for (const ChildPolicy& c : children) {
          StaticEntry s;
          s.child = c;
          s.child.ike_version = e.ike_version() == v1::IKE_VERSION_1   ? 1
                                : e.ike_version() == v1::IKE_VERSION_2 ? 2
                                : any_v2 || b.ikev1_configured_.empty() ? 2
                                                                           : 1;
          s.child.initiate_aggressive = e.initiate_aggressive();
          // One bundle per (entry, peer, permit line): each line's SAs
          // carry that line's traffic only.
          s.child.reqid = reqids.For(
              absl::StrCat(m.name(), "/", e.sequence(), "/", peer, "/", c.acl_line));
          s.peer = *address;
          b.statics_.push_back(std::move(s));
        }
      }
      if (any_peer) {
        for (SkipRule& k : skips) b.skips_.push_back(std::move(k));
      }
    }
  }
  return b;
}

void PolicyBook::UseTrustpoints(const v1::IkeConfig& config, const LoadedTrustpoints& trustpoints,
                                std::vector<std::string>* warnings) {
  std::vector<const v1::IsakmpPolicy*> policies;
  for (const v1::IsakmpPolicy& p : config.isakmp_policies()) {
    if (p.version() != v1::IKE_VERSION_1) policies.push_back(&p);
  }
  std::sort(policies.begin(), policies.end(),
            [](auto* x, auto* y) { return x->priority() < y->priority(); });
  const bool signs =
      policies.empty() || policies[0]->authentication() != v1::AUTH_METHOD_PRE_SHARE;
  shared_.clear();
  base_.credential = signs ? trustpoints.credential : nullptr;
  base_.trust = trustpoints.trust;
  if (signs && !trustpoints.credential && config.pre_shared_keys().empty()) {
    warnings->push_back(
        "authentication rsa-sig but no trustpoint is enrolled and no pre-shared key is set; "
        "IKE_AUTH will fail");
  }
  // IKEv1: a signature policy is offered with the method of the enrolled
  // key (rsa-sig for RSA, RFC 4754's ECDSA method of its curve).
  base_.ikev1_credential = trustpoints.credential;
  base_.ikev1_rsa_key = trustpoints.rsa_key;
  base_.ikev1_policies.clear();
  for (ikev1::Phase1Policy policy : ikev1_configured_) {
    if (policy.auth == ikev1::kAuthPsk) {
      base_.ikev1_policies.push_back(policy);
      continue;
    }
    if (policy.auth == ikev1::kAuthRsaEncr) {
      // Encrypted nonces need our RSA key pair, not a certificate.
      if (!trustpoints.rsa_key) {
        warnings->push_back(absl::StrCat("crypto isakmp policy ", policy.priority,
                                         ": authentication rsa-encr needs an RSA key pair (a "
                                         "trustpoint's key.pem); the policy is not offered"));
        continue;
      }
      base_.ikev1_policies.push_back(policy);
      continue;
    }
    if (!ikev1::IsSignatureMethod(policy.auth)) {
      warnings->push_back(absl::StrCat("crypto isakmp policy ", policy.priority,
                                       ": authentication ", ikev1::AuthMethodName(policy.auth),
                                       " is not supported for IKEv1; the policy is not offered"));
      continue;
    }
    if (!trustpoints.credential || !trustpoints.trust) {
      warnings->push_back(absl::StrCat("crypto isakmp policy ", policy.priority,
                                       ": authentication ", ikev1::AuthMethodName(policy.auth),
                                       " needs an enrolled trustpoint; the policy is not offered"));
      continue;
    }
    const uint16_t method = ikev1::SignatureMethodFor(trustpoints.credential->ec_bits());
    if (ikev1::IsEcdsaMethod(method) != ikev1::IsEcdsaMethod(policy.auth)) {
      warnings->push_back(absl::StrCat("crypto isakmp policy ", policy.priority,
                                       ": authentication ", ikev1::AuthMethodName(policy.auth),
                                       " but the trustpoint's key is ",
                                       trustpoints.credential->is_rsa() ? "RSA" : "ECDSA",
                                       "; offered as ", ikev1::AuthMethodName(method)));
    }
    policy.auth = method;
    base_.ikev1_policies.push_back(policy);
  }
  dn_.reset();
  if (config.globals().identity() == v1::ISAKMP_IDENTITY_DN) {
    bool v1_signs = false;
    for (const ikev1::Phase1Policy& policy : base_.ikev1_policies) {
      v1_signs = v1_signs || ikev1::IsSignatureMethod(policy.auth);
    }
    if (base_.credential || (v1_signs && trustpoints.credential)) {
      dn_ = trustpoints.credential->DnIdentity();
    } else {
      warnings->push_back(
          "crypto isakmp identity dn needs an enrolled trustpoint; using the address");
    }
  }
}

std::shared_ptr<const SaPolicy> PolicyBook::For(const net::IpAddress& local,
                                                const net::IpAddress& remote) const {
  bool named = false;
  for (const StaticEntry& s : statics_) named = named || s.peer == remote;
  const std::string key = local.ToString();
  if (!named) {
    auto it = shared_.find(key);
    if (it != shared_.end()) return it->second;
  }
  auto p = std::make_shared<SaPolicy>(base_);
  if (dn_) {
    p->local_id = *dn_;
  } else if (identity_ == v1::ISAKMP_IDENTITY_HOSTNAME && !hostname_.empty()) {
    p->local_id = FqdnIdentity(hostname_);
  } else {
    p->local_id = AddressIdentity(local);
  }
  for (const StaticEntry& s : statics_) {
    if (s.peer == remote) p->children.push_back(s.child);
  }
  for (const ChildPolicy& d : dynamics_) p->children.push_back(d);
  if (!named) shared_[key] = p;
  return p;
}

int PolicyBook::ChildIndex(const SaPolicy& policy, const ChildPolicy& line) const {
  for (size_t i = 0; i < policy.children.size(); ++i) {
    if (SameLine(policy.children[i], line)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace vpnfleet::ike
