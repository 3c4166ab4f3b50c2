#include "services/controller/templates/topology.h"

#include "absl/strings/str_cat.h"

namespace vpnfleet::controller {
namespace {

using Prefixes = std::vector<vpnfleet::common::v1::IpPrefix>;

Prefixes Own(const v1::Device& d) { return {d.inner_prefixes().begin(), d.inner_prefixes().end()}; }

void Append(Prefixes& to, const v1::Device& d) {
  to.insert(to.end(), d.inner_prefixes().begin(), d.inner_prefixes().end());
}

}  // namespace

std::string HubRole(const v1::Topology& t) { return t.hub_role().empty() ? "hub" : t.hub_role(); }

std::vector<const v1::Device*> HubsOf(const v1::Topology& t,
                                      const std::map<std::string, const v1::Device*>& members) {
  std::vector<const v1::Device*> out;
  const std::string hub_role = HubRole(t);
  for (const auto& [name, d] : members) {
    if (d->role() == hub_role) out.push_back(d);
  }
  return out;
}

absl::StatusOr<std::vector<PeerLink>> PeersOf(const v1::Topology& t, const std::string& device,
                                              const std::map<std::string, const v1::Device*>& members,
                                              const std::vector<const v1::Device*>* hubs) {
  auto self_it = members.find(device);
  if (self_it == members.end()) {
    return absl::FailedPreconditionError(absl::StrCat("device ", device, " has no data set of the template"));
  }
  const v1::Device& self = *self_it->second;
  std::vector<PeerLink> out;
  switch (t.kind()) {
    case v1::TOPOLOGY_KIND_UNSPECIFIED:
      return out;
    case v1::TOPOLOGY_KIND_HUB_AND_SPOKE: {
      const std::string hub_role = HubRole(t);
      std::vector<const v1::Device*> found;
      if (hubs == nullptr) {
        found = HubsOf(t, members);
        hubs = &found;
      }
      if (hubs->empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "topology: hub-and-spoke has no hub (no member has role '", hub_role, "')"));
      }
      const bool is_hub = self.role() == hub_role;
      if (!is_hub && !t.summary_prefixes().empty()) {
        // A spoke meets the hubs only, and the summary stands for the rest.
        const Prefixes summary(t.summary_prefixes().begin(), t.summary_prefixes().end());
        for (const v1::Device* d : *hubs) out.push_back({d, Own(self), summary});
        return out;
      }
      for (const auto& [name, d] : members) {
        if (name == device) continue;
        const bool peer_is_hub = d->role() == hub_role;
        if (is_hub == peer_is_hub) continue;  // hubs meet spokes only
        PeerLink link{d, {}, {}};
        const Prefixes summary(t.summary_prefixes().begin(), t.summary_prefixes().end());
        if (!summary.empty()) {
          link.local = is_hub ? summary : Own(self);
          link.remote = is_hub ? Own(*d) : summary;
        } else if (is_hub) {
          // Everything but the spoke itself lies behind this hub.
          link.local = Own(self);
          for (const auto& [other, od] : members) {
            if (other != name && other != device) Append(link.local, *od);
          }
          link.remote = Own(*d);
        } else {
          link.local = Own(self);
          link.remote = Own(*d);
          for (const auto& [other, od] : members) {
            if (other != name && other != device && od->role() != hub_role) Append(link.remote, *od);
          }
        }
        out.push_back(std::move(link));
      }
      return out;
    }
    case v1::TOPOLOGY_KIND_FULL_MESH:
      for (const auto& [name, d] : members) {
        if (name != device) out.push_back({d, Own(self), Own(*d)});
      }
      return out;
    case v1::TOPOLOGY_KIND_PAIRS:
      for (const auto& pair : t.pairs()) {
        for (const std::string* end : {&pair.a(), &pair.b()}) {
          if (!members.count(*end)) {
            return absl::FailedPreconditionError(absl::StrCat(
                "topology: pair ", pair.a(), "-", pair.b(), ": ", *end,
                " has no data set of the template"));
          }
        }
        if (pair.a() == pair.b()) {
          return absl::InvalidArgumentError(absl::StrCat("topology: pair ", pair.a(), "-", pair.b(),
                                                         " joins a device to itself"));
        }
        const std::string* other = pair.a() == device ? &pair.b() : pair.b() == device ? &pair.a() : nullptr;
        if (other == nullptr) continue;
        const v1::Device* d = members.at(*other);
        out.push_back({d, Own(self), Own(*d)});
      }
      return out;
    default:
      return absl::InvalidArgumentError("topology: unknown kind");
  }
}

}  // namespace vpnfleet::controller
