// The desired policy of devices at one revision: each device's data sets
// rendered (several data sets of one device are joined in name order and
// read as one configuration, so one template may use what another defines).
#ifndef VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_DESIRED_H_
#define VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_DESIRED_H_

#include <map>
#include <string>
#include <vector>

#include "services/controller/model/inventory.h"
#include "services/controller/templates/renderer.h"

namespace vpnfleet::controller {

struct DesiredPolicy {
  std::string device;
  std::vector<std::string> data_sets;  // what it was rendered from
  std::string text;                    // IOS commands, keys in clear
  vpnfleet::ike::v1::IkeConfig policy;  // keys in clear
  std::vector<v1::Diagnostic> diagnostics;
  bool ok() const;
};

// `only` empty: every device that has a data set.
std::map<std::string, DesiredPolicy> RenderFleet(const Snapshot& snapshot,
                                                 const std::vector<std::string>& only,
                                                 const PairKeyFn& pair_key);


}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_DESIRED_H_
