// The health gate after each stage: the tunnels of the entries a device's
// new policy changed must come up (Initiate, then the CHILD SA appears)
// before the deadline; a router's tunnels are asked of the vpnfleet edges at
// their other ends.
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "services/controller/rollout/rollout_engine.h"
#include "services/controller/rollout/rollout_run.h"

namespace vpnfleet::controller {

namespace ike = vpnfleet::ike::v1;

std::vector<std::string> RolloutEngine::HealthCheck(Run& run, int index, absl::Time deadline) {
  const v1::Device& dev = run.devices[index];
  const bool router = dev.kind() == v1::DEVICE_KIND_IOS;
  // A tunnel as one vpnfleet edge (`from`) sees it. A router reports no
  // tunnels to us, so its tunnels are asked of the vpnfleet peers at their
  // other ends, which run the desired policy already.
  struct Tunnel {
    const v1::Device* from;
    std::string map, peer_address, peer;
    uint32_t sequence;
    bool up = false;
  };
  // Whether a peer runs what this rollout wants it to run (or is outside
  // the rollout, and then runs the fleet's policy already): a peer still
  // waiting in a later stage would fail the check for the wrong reason.
  auto settled = [&](const std::string& name, bool must_be_in_rollout) {
    auto in_rollout = run.index_of.find(name);
    if (in_rollout == run.index_of.end()) return !must_be_in_rollout;
    std::lock_guard<std::mutex> lock(run.mu);
    const auto& d = run.rollout.devices(in_rollout->second);
    return (d.state() == v1::DEVICE_ROLLOUT_STATE_DONE || d.state() == v1::DEVICE_ROLLOUT_STATE_HEALTH_CHECK) &&
           d.running() == v1::DEVICE_RUNNING_DESIRED;
  };
  auto kind_of = [&](const std::string& name) {
    auto k = run.kind_of.find(name);  // read-only: workers share it
    return k == run.kind_of.end() ? v1::DEVICE_KIND_UNSPECIFIED : k->second;
  };
  auto each_entry = [](const ike::IkeConfig& c, const auto& fn) {
    for (const auto& m : c.crypto_maps()) {
      if (m.dynamic()) continue;
      for (const auto& e : m.entries()) {
        if (e.kind() == ike::CRYPTO_MAP_KIND_DYNAMIC || e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_MANUAL) continue;
        for (const auto& peer_address : e.peers()) fn(m, e, peer_address);
      }
    }
  };
  std::vector<Tunnel> tunnels;
  each_entry(run.targets[index], [&](const auto& m, const auto& e, const std::string& peer_address) {
    auto p = run.device_by_wan.find(peer_address);
    if (p == run.device_by_wan.end()) return;
    const v1::DeviceKind kind = kind_of(p->second);
    if (!router && kind == v1::DEVICE_KIND_VPNFLEET && settled(p->second, false)) {
      tunnels.push_back({&dev, m.name(), peer_address, p->second, e.sequence()});
    } else if (!router && kind == v1::DEVICE_KIND_IOS && options_.ios != nullptr && settled(p->second, true)) {
      // A router this rollout pushed to: it runs the policy we rendered.
      tunnels.push_back({&dev, m.name(), peer_address, p->second, e.sequence()});
    } else if (router && kind == v1::DEVICE_KIND_VPNFLEET && settled(p->second, true)) {
      // From the peer's side: its entry toward this router.
      const int k = run.index_of.at(p->second);
      each_entry(run.targets[k], [&](const auto& pm, const auto& pe, const std::string& back) {
        if (back != dev.wan_address()) return;
        for (const auto& t : tunnels) {
          if (t.from == &run.devices[k] && t.map == pm.name() && t.sequence == pe.sequence()) return;
        }
        tunnels.push_back({&run.devices[k], pm.name(), back, p->second, pe.sequence()});
      });
    }
  });
  for (const auto& t : tunnels) edges_->Initiate(*t.from, t.map, t.sequence, t.peer_address).IgnoreError();
  size_t up = 0;
  while (up < tunnels.size()) {
    std::map<const v1::Device*, std::optional<ike::ListChildSasResponse>> listed;
    for (auto& t : tunnels) {
      if (t.up) continue;
      auto& sas = listed[t.from];
      if (!sas) {
        auto got = edges_->ListChildSas(*t.from);
        sas = got.ok() ? std::move(*got) : ike::ListChildSasResponse();
      }
      for (const auto& sa : sas->child_sas()) {
        if (sa.crypto_map() == t.map && sa.remote_endpoint() == t.peer_address) {
          t.up = true;
          ++up;
          break;
        }
      }
    }
    if (up == tunnels.size() || clock_->Now() >= deadline) break;
    Sleep(options_.health_poll);
  }
  std::vector<std::string> down;
  for (const auto& t : tunnels) {
    if (t.up) continue;
    if (t.from == &dev) {
      down.push_back(absl::StrCat("tunnel to ", t.peer, " (crypto map ", t.map, " ", t.sequence, ", peer ",
                                  t.peer_address, ") is not up"));
    } else {
      down.push_back(absl::StrCat("tunnel from ", t.from->name(), " (its crypto map ", t.map, " ", t.sequence,
                                  ", peer ", t.peer_address, ") is not up"));
    }
  }
  return down;
}

}  // namespace vpnfleet::controller
