// What a rollout in progress holds besides its record: the devices, their
// target and previous policies (keys in clear, wiped when it ends), and the
// fleet's addresses for the health gate. Internal to the rollout engine's
// files: rollout_engine.cc (running), rollout_persistence.cc (storing and
// loading), rollout_health.cc (the health gate).
#ifndef VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_RUN_H_
#define VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_RUN_H_

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/secrets/ike_config_secrets.h"
#include "services/controller/rollout/rollout_engine.h"

namespace vpnfleet::controller {

// Keys are wiped from copies the engine is done with (RedactIkeConfig zeroizes).
inline void Wipe(vpnfleet::ike::v1::IkeConfig* c) { secrets::RedactIkeConfig(c); }

struct RolloutEngine::Run {
  v1::Rollout rollout;
  std::vector<v1::Device> devices;                      // by index of rollout.devices
  std::vector<vpnfleet::ike::v1::IkeConfig> targets;                  // keys in clear
  std::vector<std::optional<vpnfleet::ike::v1::IkeConfig>> previous;  // what each ran before
  std::vector<bool> previous_saved;
  // The configuration revision each edge is pushed against (0: any), from
  // the plan; a resumed rollout has none.
  std::vector<uint64_t> expected;
  uint64_t Expected(size_t i) const { return i < expected.size() ? expected[i] : 0; }
  std::map<std::string, std::string> device_by_wan;     // the whole fleet
  std::map<std::string, v1::DeviceKind> kind_of;
  std::map<std::string, int> index_of;
  std::mutex mu;  // rollout.devices states, done, part versions
  uint32_t done = 0;
  // Per part of rollout.devices (kDevicesPerPart each): changes made and
  // changes stored; a part is saved when they differ.
  std::vector<uint64_t> part_version, part_saved;

  // A device's status, to change (the caller holds mu, or runs alone).
  v1::DeviceRolloutStatus* Change(int i) {
    const size_t k = static_cast<size_t>(i) / kDevicesPerPart;
    if (part_version.size() <= k) part_version.resize(k + 1, 1);
    ++part_version[k];
    return rollout.mutable_devices(i);
  }
  ~Run() {
    for (auto& t : targets) Wipe(&t);
    for (auto& p : previous) {
      if (p) Wipe(&*p);
    }
  }
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_ROLLOUT_RUN_H_
