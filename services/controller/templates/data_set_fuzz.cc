// Fuzz target: a template body and a data set from arbitrary bytes, loaded
// through the inventory's checks and rendered for a three-device
// hub-and-spoke, then validated. The input is split at the first NUL: the
// template body, then `name=value` lines (a VPNSC .dat file); each value
// names a variable the template declares. Nothing may crash, and whatever
// renders must come back as a policy the validator can read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_split.h"
#include "google/protobuf/stubs/logging.h"
#include "common/clock/clock.h"
#include "common/random/rng.h"
#include "services/controller/model/inventory.h"
#include "services/controller/model/pair_keys.h"
#include "services/controller/store/sqlite_store.h"
#include "services/controller/templates/desired.h"
#include "services/controller/validate/fleet_validator.h"

namespace {

using namespace vpnfleet::controller;

struct World {
  vpnfleet::FakeClock clock;
  vpnfleet::SeededRng rng{9};
  std::unique_ptr<SqliteStore> store = *SqliteStore::Open(":memory:");
  SecretBox box = *SecretBox::FromKey(std::string(32, 'f'), &rng);
  PairKeys keys{store.get(), &box, &rng, &clock};
  Inventory inventory{&clock, store.get()};
  World() {
    (void)inventory.Load();
    const char* names[] = {"hub", "spoke1", "spoke2"};
    for (int i = 0; i < 3; ++i) {
      v1::Device d;
      d.set_name(names[i]);
      d.set_kind(v1::DEVICE_KIND_VPNFLEET);
      d.set_wan_address("198.51.100." + std::to_string(i + 1));
      d.set_role(i == 0 ? "hub" : "spoke");
      auto* p = d.add_inner_prefixes();
      p->set_address("10." + std::to_string(i) + ".0.0");
      p->set_length(24);
      (void)inventory.PutDevice(d, false);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Protobuf logs a line for every string field with invalid UTF-8 it
  // serializes; written for each input, that log was most of the run's time
  // (and an API client's such bytes never parse in the first place).
  static const bool quiet = (google::protobuf::SetLogHandler(nullptr), true);
  (void)quiet;
  // A fresh world each time: one that grew with every input (revision
  // history, keys) made libFuzzer suspect a leak after each run and scan
  // the heap, which took 90% of the time.
  World fresh;
  World* world = &fresh;
  std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  v1::Template t;
  t.set_name("fuzz");
  t.set_output(v1::TEMPLATE_OUTPUT_POLICY);
  t.set_body(input.substr(0, nul));
  t.mutable_topology()->set_kind(v1::TOPOLOGY_KIND_HUB_AND_SPOKE);
  v1::DataSet ds;
  ds.set_name("fuzz-hub");
  ds.set_template_("fuzz");
  ds.set_device("hub");
  if (nul != std::string::npos) {
    for (absl::string_view line : absl::StrSplit(input.substr(nul + 1), '\n')) {
      size_t eq = line.find('=');
      if (eq == absl::string_view::npos) continue;
      std::string name(line.substr(0, eq));
      auto* v = t.add_variables();
      v->set_name(name);
      (*ds.mutable_values())[name] = std::string(line.substr(eq + 1));
    }
  }
  // Rejected input must leave what is stored alone; accepted input renders.
  if (!world->inventory.PutTemplate(t).ok()) return 0;
  if (!world->inventory.PutDataSet(ds).ok()) return 0;
  v1::DataSet spoke = ds;
  spoke.set_name("fuzz-spoke1");
  spoke.set_device("spoke1");
  (void)world->inventory.PutDataSet(spoke);
  Snapshot snap = world->inventory.Take();
  auto fleet = RenderFleet(snap, {}, [world](const std::string& a, const std::string& b) {
    return world->keys.Get(a, b);
  });
  (void)world->keys.Flush();
  std::map<std::string, const vpnfleet::ike::v1::IkeConfig*> policies;
  for (const auto& [name, p] : fleet) {
    if (p.ok()) policies[name] = &p.policy;
  }
  (void)ValidateFleet(snap, policies);
  return 0;
}
