#include "services/controller/templates/renderer.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/net/ip.h"
#include "kainjow/mustache.hpp"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/ios/ios_vocabulary.h"
#include "services/controller/templates/template_outline.h"
#include "services/controller/templates/topology.h"

namespace vpnfleet::controller {
namespace {

namespace mstch = kainjow::mustache;
using vpnfleet::common::v1::IpPrefix;

// Remembers every name the template asked for that nothing defined.
class StrictContext : public mstch::context<std::string> {
 public:
  explicit StrictContext(const mstch::data* root) : mstch::context<std::string>(root) {}
  const mstch::data* get(const std::string& name) const override {
    const mstch::data* found = mstch::context<std::string>::get(name);
    if (found == nullptr) missing_.insert(name);
    return found;
  }
  const std::set<std::string>& missing() const { return missing_; }

 private:
  mutable std::set<std::string> missing_;
};

mstch::data PrefixData(const IpPrefix& p) {
  mstch::data d{mstch::data::type::object};
  d.set("address", p.address());
  d.set("length", std::to_string(p.length()));
  d.set("netmask", ios::Netmask(p.length()));
  d.set("wildcard", ios::Wildcard(p.length()));
  d.set("cidr", absl::StrCat(p.address(), "/", p.length()));
  return d;
}

mstch::data PrefixList(const std::vector<IpPrefix>& ps) {
  mstch::data l{mstch::data::type::list};
  for (const auto& p : ps) l.push_back(PrefixData(p));
  return l;
}

// A crypto ACL name from a device name: VPN-SPOKE-1.
std::string AclName(const std::string& peer) {
  std::string out = "VPN-";
  for (char c : peer) out += c == '.' ? '-' : absl::ascii_toupper(static_cast<unsigned char>(c));
  return out;
}

void Add(std::vector<v1::Diagnostic>& out, const std::string& device, const std::string& entry,
         const std::string& field, std::string message) {
  v1::Diagnostic d;
  d.set_severity(v1::Diagnostic::SEVERITY_ERROR);
  d.set_device(device);
  d.set_entry(entry);
  d.set_field(field);
  d.set_message(std::move(message));
  out.push_back(std::move(d));
}

// A template body parsed by the library and outlined by us, once per
// worker thread rather than once per device (a fleet of 100,000 devices has
// one or two templates). The library keeps no state across renders but its
// error message: an instance that reported an error is parsed anew.
struct ParsedBody {
  absl::StatusOr<std::vector<OutlineNode>> outline;
  std::unique_ptr<mstch::mustache> mustache;  // set when the outline is
};

ParsedBody& Parsed(const std::string& body) {
  thread_local std::map<std::string, std::unique_ptr<ParsedBody>> cache;
  auto it = cache.find(body);
  if (it != cache.end() && (!it->second->mustache || it->second->mustache->is_valid())) return *it->second;
  if (it != cache.end()) cache.erase(it);
  if (cache.size() >= 8) cache.clear();  // templates being edited: keep a few
  auto parsed = std::make_unique<ParsedBody>();
  parsed->outline = Outline(body);
  // Our limits first: the library's parser is what a deep template exhausts.
  if (parsed->outline.ok()) {
    parsed->mustache = std::make_unique<mstch::mustache>(body);
    parsed->mustache->set_custom_escape([](const std::string& s) { return s; });  // IOS text, not HTML
  }
  return *cache.emplace(body, std::move(parsed)).first->second;
}

}  // namespace

bool Rendered::ok() const {
  for (const auto& d : diagnostics) {
    if (d.severity() == v1::Diagnostic::SEVERITY_ERROR) return false;
  }
  return true;
}

absl::Status CheckTemplateSyntax(const v1::Template& tmpl) {
  // Our limits first: the library's parser is what a deep template exhausts.
  if (auto outline = Outline(tmpl.body()); !outline.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("template ", tmpl.name(), ": ", outline.status().message()));
  }
  mstch::mustache m{tmpl.body()};
  if (!m.is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("template ", tmpl.name(), ": body: ", m.error_message()));
  }
  return absl::OkStatus();
}

Rendered Render(const RenderInput& in) {
  Rendered out;
  const v1::Template& t = *in.tmpl;
  const v1::DataSet& ds = *in.data_set;
  const std::string& device_name = ds.device();
  const std::string entry = absl::StrCat("template ", t.name(), " / data set ", ds.name());
  auto self_it = in.members->find(device_name);
  if (self_it == in.members->end()) {
    Add(out.diagnostics, device_name, entry, "device", "the data set names no existing device");
    return out;
  }
  const v1::Device& self = *self_it->second;

  mstch::data root{mstch::data::type::object};
  for (const auto& v : t.variables()) {
    auto it = ds.values().find(v.name());
    const std::string value = it != ds.values().end() ? it->second : v.default_value();
    if (v.required() && value.empty()) {
      Add(out.diagnostics, device_name, entry, v.name(), "required variable is not set");
    }
    root.set(v.name(), value);
  }
  mstch::data dev{mstch::data::type::object};
  dev.set("name", self.name());
  dev.set("wan_address", self.wan_address());
  dev.set("site", self.site());
  dev.set("role", self.role());
  root.set("device", dev);
  root.set("prefixes", PrefixList({self.inner_prefixes().begin(), self.inner_prefixes().end()}));
  const bool certificates = t.topology().auth() == v1::PEER_AUTH_CERTIFICATE;
  const bool is_hub = self.role() == HubRole(t.topology());
  root.set("is_hub", mstch::data(is_hub));
  root.set("summary", PrefixList({t.topology().summary_prefixes().begin(), t.topology().summary_prefixes().end()}));
  root.set("certificates", mstch::data(certificates));
  root.set("pre_shared_keys", mstch::data(!certificates));

  // The sections this device can render: its role and the topology's
  // authentication are known now. A hub that answers through a dynamic map
  // never lists its spokes, so it costs nothing per spoke.
  ParsedBody& parsed_body = Parsed(t.body());
  const auto& outline = parsed_body.outline;
  if (!outline.ok()) {
    Add(out.diagnostics, device_name, entry, "body", std::string(outline.status().message()));
    return out;
  }
  const std::vector<OutlineNode> reachable = Prune(*outline, [&](const std::string& name) -> std::optional<bool> {
    if (name == "is_hub") return is_hub;
    if (name == "certificates") return certificates;
    if (name == "pre_shared_keys") return !certificates;
    return std::nullopt;
  });
  std::vector<PeerLink> no_peers;
  absl::StatusOr<std::vector<PeerLink>> peers = std::move(no_peers);
  if (Mentions(reachable, "peers")) peers = PeersOf(t.topology(), device_name, *in.members, in.hubs);
  if (!peers.ok()) {
    Add(out.diagnostics, device_name, entry, "topology", std::string(peers.status().message()));
    return out;
  }
  // How large this device's text can become, before the library renders it:
  // sections nested over lists multiply.
  uint64_t longest_list = 0, longest_local = 0, longest_remote = 0, longest_selectors = 0;
  for (const PeerLink& link : *peers) {
    longest_local = std::max<uint64_t>(longest_local, link.local.size());
    longest_remote = std::max<uint64_t>(longest_remote, link.remote.size());
    longest_selectors = std::max<uint64_t>(longest_selectors, link.local.size() * link.remote.size());
  }
  longest_list = std::max<uint64_t>({peers->size(), longest_local, longest_remote, longest_selectors,
                                     static_cast<uint64_t>(self.inner_prefixes_size())});
  auto repeat = [&](const std::string& name) -> uint64_t {
    if (name == "peers") return peers->size();
    if (name == "prefixes") return self.inner_prefixes_size();
    if (name == "summary") return t.topology().summary_prefixes_size();
    if (name == "local") return longest_local;
    if (name == "remote") return longest_remote;
    if (name == "selectors") return longest_selectors;
    return 1;  // booleans, objects, strings: at most once
  };
  auto variable_bytes = [&](const std::string& name) -> uint64_t {
    for (const auto& v : t.variables()) {
      if (v.name() != name) continue;
      auto it = ds.values().find(name);
      return it != ds.values().end() ? it->second.size() : v.default_value().size();
    }
    return 64;  // the built-ins: names, addresses, wildcards, keys, numbers
  };
  if (const uint64_t bound = RenderBound(reachable, repeat, variable_bytes); bound > kMaxRenderedBytes) {
    Add(out.diagnostics, device_name, entry, "body",
        absl::StrCat("could render up to ", bound, " bytes for this device (",
                     longest_list > 1 ? absl::StrCat("sections nested over lists of up to ", longest_list,
                                                     " items multiply")
                                      : "its tags times the length of their values",
                     "); at most ", kMaxRenderedBytes, " are rendered"));
    return out;
  }
  mstch::data peer_list{mstch::data::type::list};
  int index = 0;
  for (const PeerLink& link : *peers) {
    ++index;
    mstch::data p{mstch::data::type::object};
    p.set("name", link.peer->name());
    p.set("wan_address", link.peer->wan_address());
    p.set("site", link.peer->site());
    p.set("role", link.peer->role());
    p.set("index", std::to_string(index));
    // IOS numbers entries 1..65535: steps of 10 leave room to insert by
    // hand, unless the peers are too many for that.
    const size_t step = peers->size() * 10 <= 65535 ? 10 : 1;
    p.set("sequence", std::to_string(step * static_cast<size_t>(index)));
    p.set("acl", AclName(link.peer->name()));
    p.set("local", PrefixList(link.local));
    p.set("remote", PrefixList(link.remote));
    mstch::data selectors{mstch::data::type::list};
    for (const auto& l : link.local) {
      for (const auto& r : link.remote) {
        mstch::data s{mstch::data::type::object};
        mstch::data ld = PrefixData(l), rd = PrefixData(r);
        s.set("source", l.address());
        s.set("source_wildcard", ld.get("wildcard")->string_value());
        s.set("destination", r.address());
        s.set("destination_wildcard", rd.get("wildcard")->string_value());
        selectors.push_back(s);
      }
    }
    p.set("selectors", selectors);
    if (!certificates && in.pair_key) {
      auto key = in.pair_key(device_name, link.peer->name());
      if (!key.ok()) {
        Add(out.diagnostics, device_name, entry, "psk", std::string(key.status().message()));
        return out;
      }
      p.set("psk", *key);
    } else {
      p.set("psk", "");
    }
    peer_list.push_back(p);
  }
  root.set("peers", peer_list);

  mstch::mustache& m = *parsed_body.mustache;
  if (!m.is_valid()) {
    Add(out.diagnostics, device_name, entry, "body", m.error_message());
    return out;
  }
  StrictContext ctx(&root);
  out.text = m.render(ctx);
  for (const std::string& name : ctx.missing()) {
    Add(out.diagnostics, device_name, entry, "body",
        absl::StrCat("{{", name, "}} is neither a variable of the template nor a built-in "
                     "(device, prefixes, summary, peers, is_hub, certificates, pre_shared_keys)"));
  }
  if (!m.is_valid()) {
    Add(out.diagnostics, device_name, entry, "body", m.error_message());
  }
  ios::ParseResult parsed = ios::ParseIosConfig(out.text, device_name);
  for (auto& d : parsed.diagnostics) {
    // Point at the rendered line, since that is what the reader saw.
    d.set_entry(absl::StrCat(entry, ": rendered line ", d.line(), ": ", d.entry()));
    out.diagnostics.push_back(std::move(d));
  }
  out.policy = std::move(parsed.config);
  return out;
}

std::string PlaceConfiglet(const std::string& configlet, const std::string& base,
                           v1::ConfigletPlacement placement) {
  if (base.empty()) return configlet;
  auto with_newline = [](std::string s) {
    if (!s.empty() && s.back() != '\n') s += '\n';
    return s;
  };
  if (placement == v1::CONFIGLET_PLACEMENT_PREPEND) return with_newline(configlet) + with_newline(base);
  // Appended before a closing `end`, which would otherwise stop the router
  // reading the configlet.
  std::string b = with_newline(base);
  size_t end = b.rfind("\nend\n");
  if (end != std::string::npos && b.find_first_not_of(" \t\r\n", end + 5) == std::string::npos) {
    return b.substr(0, end + 1) + with_newline(configlet) + "end\n";
  }
  return b + with_newline(configlet);
}

}  // namespace vpnfleet::controller
