// Writes our typed IKE policy as IOS configuration commands: the configlet an
// `ios` device receives, and the readable form of any policy (plans and
// diffs show these lines). Defaults are left out as `show running-config`
// leaves them out, so ParseIosConfig(WriteIosConfig(c)) gives c back.
#ifndef VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_WRITER_H_
#define VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_WRITER_H_

#include <string>

#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller::ios {

struct WriteOptions {
  // Pre-shared and manual keys in clear text (a configlet for a router), or
  // each replaced by kHiddenKey (plans, logs, diffs: no secret in them).
  bool reveal_keys = false;
};

inline constexpr char kHiddenKey[] = "<hidden>";

std::string WriteIosConfig(const vpnfleet::ike::v1::IkeConfig& config, WriteOptions options = {});

}  // namespace vpnfleet::controller::ios

#endif  // VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_WRITER_H_
