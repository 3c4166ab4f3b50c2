#include "services/controller/templates/desired.h"

#include <algorithm>
#include <set>
#include <thread>

#include "common/crypto/zeroize.h"
#include "common/thread/parallel_for.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/templates/topology.h"

namespace vpnfleet::controller {

bool DesiredPolicy::ok() const {
  for (const auto& d : diagnostics) {
    if (d.severity() == v1::Diagnostic::SEVERITY_ERROR) return false;
  }
  return true;
}

std::map<std::string, DesiredPolicy> RenderFleet(const Snapshot& snap,
                                                 const std::vector<std::string>& only,
                                                 const PairKeyFn& pair_key) {
  const std::set<std::string> wanted(only.begin(), only.end());
  // Members of each template: the devices its data sets name.
  std::map<std::string, std::map<std::string, const v1::Device*>> members;
  std::map<std::string, std::vector<const v1::DataSet*>> by_device;
  for (const auto& [name, ds] : snap.data_sets) {
    auto d = snap.devices.find(ds.device());
    if (d == snap.devices.end()) continue;
    members[ds.template_()][ds.device()] = &d->second;
    by_device[ds.device()].push_back(&ds);
  }
  std::map<std::string, std::vector<const v1::Device*>> hubs;
  for (const auto& [tmpl, m] : members) {
    auto t = snap.templates.find(tmpl);
    if (t != snap.templates.end()) hubs[tmpl] = HubsOf(t->second.topology(), m);
  }
  std::map<std::string, DesiredPolicy> out;
  std::vector<std::pair<DesiredPolicy*, const std::vector<const v1::DataSet*>*>> work;
  for (const auto& [device, sets] : by_device) {
    if (!wanted.empty() && !wanted.count(device)) continue;
    DesiredPolicy& dp = out[device];
    dp.device = device;
    work.push_back({&dp, &sets});
  }
  // Devices render independently (pair_key is thread-safe): one worker per core.
  auto render_one = [&](DesiredPolicy& dp, const std::vector<const v1::DataSet*>& sets) {
    for (const v1::DataSet* ds : sets) {
      auto t = snap.templates.find(ds->template_());
      if (t == snap.templates.end()) continue;  // the inventory forbids it
      RenderInput in{&t->second, ds, &members.at(ds->template_()), pair_key, &hubs.at(ds->template_())};
      Rendered r = Render(in);
      dp.data_sets.push_back(ds->name());
      dp.diagnostics.insert(dp.diagnostics.end(), r.diagnostics.begin(), r.diagnostics.end());
      if (sets.size() == 1) {
        dp.text = std::move(r.text);
        dp.policy = std::move(r.policy);
      } else {
        dp.text += r.text;
        if (!dp.text.empty() && dp.text.back() != '\n') dp.text += '\n';
        crypto::ZeroizeString(&r.text);
      }
    }
    if (sets.size() > 1 && dp.ok()) {
      ios::ParseResult joined = ios::ParseIosConfig(dp.text, dp.device);
      dp.policy = std::move(joined.config);
      for (auto& d : joined.diagnostics) dp.diagnostics.push_back(std::move(d));
    }
  };
  // Small fleets render on the caller's thread alone (and stay deterministic).
  const size_t workers = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), work.size() / 64);
  ParallelFor(work.size(), workers, [&](size_t i) { render_one(*work[i].first, *work[i].second); });
  return out;
}


}  // namespace vpnfleet::controller
