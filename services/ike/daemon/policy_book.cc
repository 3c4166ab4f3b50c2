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

// One crypto map entry as a CHILD policy; false (with a warning) when it
// cannot be negotiated.
bool ChildOf(const v1::IkeConfig& c, const std::string& map, const v1::CryptoMapEntry& e,
             ChildPolicy* out, std::vector<std::string>* warnings) {
  const std::string where = absl::StrCat("crypto map ", map, " ", e.sequence());
  out->crypto_map = map;
  out->sequence = e.sequence();
  const v1::AccessList* acl = FindAcl(c, e.match_address());
  if (acl == nullptr) {
    warnings->push_back(absl::StrCat(where, ": no match address; entry ignored"));
    return false;
  }
  std::vector<v1::AccessListEntry> lines(acl->entries().begin(), acl->entries().end());
  std::sort(lines.begin(), lines.end(),
            [](const auto& a, const auto& b) { return a.sequence() < b.sequence(); });
  for (const v1::AccessListEntry& line : lines) {
    if (line.action() == v1::ACL_ACTION_DENY) continue;  // IKEv2 selectors cannot say "not"
    auto l = SelectorOf(line.match().source(), line.match().protocol(), line.match().source_ports());
    auto r = SelectorOf(line.match().destination(), line.match().protocol(),
                        line.match().destination_ports());
    if (!l.ok() || !r.ok()) continue;
    out->local_ts.push_back(*l);
    out->remote_ts.push_back(*r);
  }
  if (out->local_ts.empty()) {
    warnings->push_back(absl::StrCat(where, ": access list ", acl->name(), " permits nothing"));
    return false;
  }
  out->pfs_group = static_cast<uint16_t>(e.pfs_group());
  for (const std::string& name : e.transform_sets()) {
    const v1::TransformSet* set = FindSet(c, name);
    if (set == nullptr) continue;
    auto p = EspProposalOf(*set, out->pfs_group);
    if (!p.ok()) {
      warnings->push_back(absl::StrCat(where, ": ", p.status().message()));
      continue;
    }
    out->proposals.push_back(*p);
    out->transform_sets.push_back(name);
    out->transport = out->transport || set->mode() == cv1::IPSEC_MODE_TRANSPORT;
  }
  if (out->proposals.empty()) {
    warnings->push_back(absl::StrCat(where, ": no usable transform set"));
    return false;
  }
  if (e.lifetime().seconds() != 0) out->lifetime_seconds = e.lifetime().seconds();
  if (e.lifetime().kilobytes() != 0) out->lifetime_kilobytes = e.lifetime().kilobytes();
  if (e.replay().disabled()) {
    out->replay_window = 0;
  } else if (e.replay().size() != 0) {
    out->replay_window = e.replay().size();
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
  for (const v1::IsakmpPolicy& p : policies) {
    if (p.version() == v1::IKE_VERSION_1) continue;
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
  const v1::IsakmpGlobals& g = config.globals();
  b.identity_ = g.identity();
  b.hostname_ = g.hostname();
  if (g.keepalive_seconds() != 0) b.base_.dpd_interval = absl::Seconds(g.keepalive_seconds());
  b.base_.dpd_retry = absl::Seconds(g.keepalive_retry_seconds() != 0 ? g.keepalive_retry_seconds() : 2);
  if (g.nat_keepalive_seconds() != 0) b.base_.nat_keepalive = absl::Seconds(g.nat_keepalive_seconds());
  b.base_.allow_legacy = g.allow_legacy_algorithms();
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
        for (const v1::CryptoMapEntry& d : it->second->entries()) {
          ChildPolicy c;
          if (!ChildOf(config, absl::StrCat(m.name(), "/", it->first), d, &c, warnings)) continue;
          c.dynamic = true;
          b.dynamics_.push_back(std::move(c));
        }
        continue;
      }
      ChildPolicy c;
      if (!ChildOf(config, m.name(), e, &c, warnings)) continue;
      for (const std::string& peer : e.peers()) {
        auto address = net::ParseAddress(peer);
        if (!address.ok()) {
          warnings->push_back(absl::StrCat("crypto map ", m.name(), " ", e.sequence(),
                                           ": peer ", peer, " is not an address; not initiated"));
          continue;
        }
        StaticEntry s;
        s.child = c;
        s.child.reqid = reqids.For(absl::StrCat(m.name(), "/", e.sequence(), "/", peer));
        s.peer = *address;
        b.statics_.push_back(std::move(s));
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
  dn_.reset();
  if (config.globals().identity() == v1::ISAKMP_IDENTITY_DN) {
    if (base_.credential) {
      dn_ = base_.credential->DnIdentity();
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

int PolicyBook::ChildIndex(const SaPolicy& policy, const std::string& crypto_map,
                           uint32_t sequence) const {
  for (size_t i = 0; i < policy.children.size(); ++i) {
    if (policy.children[i].crypto_map == crypto_map && policy.children[i].sequence == sequence) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace vpnfleet::ike
