// The configuration-mode commands that take a router from what `show
// running-config` printed to the crypto policy of a configlet (our writer's
// output), touching nothing else: what a push tool types after `configure
// terminal`.
//
// The configlet is the router's whole crypto policy (declarative, as the
// controller owns it): crypto map entries, ISAKMP and IKEv2 sections,
// keyrings, transform sets, keys and the crypto ACLs that are not in it are
// removed; sections that differ are changed sub-command by sub-command (an
// ACL whose order would come out wrong is rebuilt); interfaces get or lose
// only their `crypto map` line; trustpoints are added or changed, never
// removed (that would delete the router's certificates). Everything else in
// the running configuration (routing, addressing, lines, other ACLs) is left
// as it is.
//
// Order: interfaces let go of maps, map entries go, then additions and
// changes in the configlet's order (definitions before their users), then
// what nothing uses any more goes.
#ifndef VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_DIFF_H_
#define VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_DIFF_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace vpnfleet::controller::ios {

// One top-level command of a configuration and the sub-commands under it.
struct IosItem {
  std::string line;
  std::vector<std::string> subs;
};

// The items of a configuration as IOS prints it (comments, `!`, `end` and
// the banner of `show running-config` left out). Numbered access lists are
// one item, `access-list N`, with each line's rest as a sub-command.
std::vector<IosItem> ReadIosItems(absl::string_view text);

// What names the setting a top-level command makes (`crypto map M 10`,
// `crypto isakmp key @address 192.0.2.1`, `interface Gi0/0`, ...): a later
// command with the same key changes it.
std::string IosItemKey(absl::string_view line);

std::vector<std::string> IosDiffCommands(absl::string_view running, absl::string_view desired);

}  // namespace vpnfleet::controller::ios

#endif  // VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_DIFF_H_
