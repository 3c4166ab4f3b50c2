// Renders one data set: the template's mustache body (kainjow/mustache, from
// Debian) with the data set's values, the device, and its peers under the
// template's topology, into IOS crypto commands; those are read back with
// the IOS reader into our typed policy. So one template serves both kinds
// of device: a vpnfleet edge gets the policy, an `ios` router the configlet.
//
// What a template can use:
//   {{VARIABLE}}        each declared variable (the data set's value or the
//                       variable's default)
//   {{device.name}} {{device.wan_address}} {{device.site}} {{device.role}}
//   {{#prefixes}}{{address}} {{wildcard}} {{netmask}} {{length}}{{/prefixes}}
//                       the device's inner prefixes
//   {{#summary}} ... {{/summary}}  the topology's summary prefixes (same fields)
//   {{#is_hub}} {{^is_hub}}  hub-and-spoke role tests
//   {{#peers}} ... {{/peers}}  one item per peer, with
//       {{name}} {{wan_address}} {{site}} {{role}} {{index}} (1, 2, ...)
//       {{sequence}} (10, 20, ...; 1, 2, ... beyond 6,553 peers) {{acl}} (a
//       name for the pair's crypto ACL)
//       {{psk}} (the pair's generated key; pre-shared-key topologies only)
//       {{#selectors}}{{source}} {{source_wildcard}} {{destination}}
//                     {{destination_wildcard}}{{/selectors}}
//   {{#pre_shared_keys}} {{#certificates}}  which authentication the topology uses
//
// A section that cannot render for the device (`{{^is_hub}}` on a hub,
// `{{#pre_shared_keys}}` under certificates) costs nothing: a hub whose
// peers are only listed for spokes is not given the list, so a hub that
// answers any spoke through a dynamic map renders in constant time.
//
// Values are inserted as they are (no HTML escaping). A name that is neither
// declared nor one of the above is an error, not an empty string.
#ifndef VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_RENDERER_H_
#define VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_RENDERER_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller {

// The pre-shared key of the pair {a, b}, created on first use.
using PairKeyFn = std::function<absl::StatusOr<std::string>(const std::string& a, const std::string& b)>;

struct RenderInput {
  const v1::Template* tmpl = nullptr;
  const v1::DataSet* data_set = nullptr;
  // Every device with a data set of the template, by name (the device of
  // `data_set` among them). Not copied: a fleet renders each of its devices
  // against the same members.
  const std::map<std::string, const v1::Device*>* members = nullptr;
  PairKeyFn pair_key;
  const std::vector<const v1::Device*>* hubs = nullptr;  // HubsOf(members), if known
};

struct Rendered {
  std::string text;  // the IOS commands, keys in clear
  vpnfleet::ike::v1::IkeConfig policy;  // keys in clear; callers hide them
  std::vector<v1::Diagnostic> diagnostics;
  bool ok() const;
};

Rendered Render(const RenderInput& in);

// Checks the template's own text (syntax) without data.
absl::Status CheckTemplateSyntax(const v1::Template& tmpl);

// The configlet merged with a router's base configuration.
std::string PlaceConfiglet(const std::string& configlet, const std::string& base,
                           v1::ConfigletPlacement placement);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_TEMPLATES_RENDERER_H_
