#include "cli/controller_command.h"

#include <sys/stat.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/controller_client.h"
#include "cli/grpc_probe.h"
#include "cli/ike_command.h"
#include "common/files/files.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/client_context.h"
#include "vpnfleet/controller/v1/controller.grpc.pb.h"

namespace vpnfleet::cli {
namespace controller_cli {

const char kControllerUsage[] = R"(vpnfleet controller commands (at --controller):
  device add NAME --kind vpnfleet|ios --wan ADDRESS [--endpoint HOST:PORT|unix:PATH]
             [--site S] [--role hub|spoke|...] [--prefix CIDR,...] [--label k=v,...]
  device list [--site S] [--role R] | device show NAME | device delete NAME
  device enroll NAME --pki_dir DIR    fetch a SCEP ticket and enroll this machine's
                                      trustpoint into DIR/TRUSTPOINT/
  template add NAME --file BODY [--output policy|ios] [--topology hub-and-spoke|full-mesh|pairs]
             [--auth psk|certificate] [--hub_role R] [--pair a:b,...] [--summary CIDR,...]
             [--var name=default,...] [--required name,...]
  template list | template show NAME | template delete NAME
  template render DATA_SET [--base FILE [--prepend]]
  data set NAME --template T --device D [VAR=VALUE ...] | data list | data show NAME | data delete NAME
  import ios FILE [--device D]
  validate [DEVICE ...]
  rollout plan [DEVICE ...]
  rollout apply [DEVICE ...] [--canary N] [--batch N] [--max_unavailable N]
             [--health_timeout S] [--noauto_rollback] [--watch] [--expected_revision N]
  rollout status [ID] | rollout rollback ID
  watch [device|template|data|rollout ...]   the fleet, then each change as it is
                                      committed (any replica; until interrupted)
  (apply and rollback exit 0 when done, 1 when stopped, 3 when a rollback left
  devices on the new policy: rollout status ID names them and what to do, and
  exits 3 too while that is so))";

namespace {

std::string Severity(const v1::Diagnostic& d) {
  return d.severity() == v1::Diagnostic::SEVERITY_ERROR ? "ERROR" : "WARNING";
}

}  // namespace

// "% ERROR spoke1: crypto map FLEET 10: match address (line 12): ..."
void PrintDiagnostics(const google::protobuf::RepeatedPtrField<v1::Diagnostic>& ds, std::ostream& out) {
  for (const auto& d : ds) {
    out << "% " << Severity(d) << " ";
    std::vector<std::string> where;
    if (!d.device().empty()) where.push_back(d.device());
    if (!d.entry().empty()) where.push_back(d.entry());
    if (!d.field().empty()) where.push_back(d.field());
    out << absl::StrJoin(where, ": ");
    if (d.line()) out << " (line " << d.line() << ")";
    out << ": " << d.message() << "\n";
  }
}

// "% Skipped 41 lines (4-9, 12, ...): not crypto policy: ...", one line per
// reason in the order they first occur.
void PrintSkipped(const google::protobuf::RepeatedPtrField<v1::SkippedLines>& skipped, std::ostream& out) {
  struct Group {
    uint64_t lines = 0;
    std::vector<std::string> ranges;
  };
  std::vector<std::string> order;
  std::map<std::string, Group> groups;
  for (const auto& s : skipped) {
    auto [it, fresh] = groups.try_emplace(s.reason());
    if (fresh) order.push_back(s.reason());
    it->second.lines += s.last_line() - s.first_line() + 1;
    it->second.ranges.push_back(s.first_line() == s.last_line()
                                    ? absl::StrCat(s.first_line())
                                    : absl::StrCat(s.first_line(), "-", s.last_line()));
  }
  constexpr size_t kRangesShown = 4;
  for (const auto& reason : order) {
    const Group& g = groups[reason];
    std::vector<std::string> shown(g.ranges.begin(), g.ranges.begin() + std::min(g.ranges.size(), kRangesShown));
    if (g.ranges.size() > kRangesShown) shown.push_back("...");
    out << "% Skipped " << g.lines << (g.lines == 1 ? " line" : " lines") << " (" << absl::StrJoin(shown, ", ")
        << "): " << reason << "\n";
  }
}

bool HasErrors(const google::protobuf::RepeatedPtrField<v1::Diagnostic>& ds) {
  for (const auto& d : ds) {
    if (d.severity() == v1::Diagnostic::SEVERITY_ERROR) return true;
  }
  return false;
}

}  // namespace controller_cli

namespace {

using controller_cli::AllPages;
using controller_cli::Client;
using controller_cli::HasErrors;
using controller_cli::kControllerUsage;
using controller_cli::PrintDiagnostics;
using controller_cli::PrintSkipped;
namespace v1 = vpnfleet::controller::v1;

std::string KindName(v1::DeviceKind k) {
  return k == v1::DEVICE_KIND_IOS ? "ios" : k == v1::DEVICE_KIND_VPNFLEET ? "vpnfleet" : "?";
}

void PrintDevices(const std::vector<v1::Device>& ds, std::ostream& out) {
  out << std::left << std::setw(16) << "Device" << std::setw(10) << "Kind" << std::setw(17) << "WAN address"
      << std::setw(10) << "Site" << std::setw(8) << "Role" << std::setw(5) << "Rev" << "Inner prefixes\n";
  for (const auto& d : ds) {
    std::vector<std::string> ps;
    for (const auto& p : d.inner_prefixes()) ps.push_back(absl::StrCat(p.address(), "/", p.length()));
    out << std::left << std::setw(16) << d.name() << std::setw(10) << KindName(d.kind()) << std::setw(17)
        << d.wan_address() << std::setw(10) << d.site() << std::setw(8) << d.role() << std::setw(5)
        << d.revision().number() << absl::StrJoin(ps, ", ") << "\n";
  }
}


absl::StatusOr<v1::Device> DeviceFromFlags(const std::string& name, const ControllerCliOptions& o) {
  v1::Device d;
  d.set_name(name);
  if (o.kind == "vpnfleet") d.set_kind(v1::DEVICE_KIND_VPNFLEET);
  else if (o.kind == "ios") d.set_kind(v1::DEVICE_KIND_IOS);
  else return absl::InvalidArgumentError("--kind is vpnfleet or ios");
  d.set_wan_address(o.wan);
  d.set_management_endpoint(o.endpoint);
  d.set_site(o.site);
  d.set_role(o.role);
  for (const auto& p : o.prefixes) {
    std::vector<std::string> parts = absl::StrSplit(p, '/');
    uint32_t len = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &len)) {
      return absl::InvalidArgumentError(absl::StrCat("--prefix ", p, ": write ADDRESS/LENGTH"));
    }
    auto* ip = d.add_inner_prefixes();
    ip->set_address(parts[0]);
    ip->set_length(len);
  }
  for (const auto& l : o.labels) {
    size_t eq = l.find('=');
    if (eq == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("--label ", l, ": write KEY=VALUE"));
    (*d.mutable_labels())[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return d;
}

int Device(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
           std::ostream& err) {
  const std::string sub = a.size() > 1 ? a[1] : "";
  if (sub == "add" && a.size() == 3) {
    auto d = DeviceFromFlags(a[2], o);
    if (!d.ok()) {
      err << "vpnfleet device add: " << d.status().message() << "\n";
      return 2;
    }
    v1::PutDeviceRequest req;
    *req.mutable_device() = *d;
    v1::Device resp;
    auto st = c.stub().PutDevice(c.Context().get(), req, &resp);
    if (!st.ok()) return c.Fail("device add", st);
    out << (o.json ? Json(resp) : absl::StrCat("% Device ", resp.name(), " stored (revision ",
                                                resp.revision().number(), ")\n"));
    return 0;
  }
  if (sub == "list") {
    v1::ListDevicesRequest req;
    req.set_site(o.site);
    req.set_role(o.role);
    v1::ListDevicesResponse resp;
    auto st = AllPages(req, &resp, [&](const auto& r, auto* page) {
      return c.stub().ListDevices(c.Context().get(), r, page);
    });
    if (!st.ok()) return c.Fail("device list", st);
    if (o.json) out << Json(resp);
    else PrintDevices({resp.devices().begin(), resp.devices().end()}, out);
    return 0;
  }
  if ((sub == "show" || sub == "delete") && a.size() == 3) {
    if (sub == "delete") {
      return c.Delete(&v1::ControllerService::Stub::DeleteDevice, "device delete", "Device", a[2], o.json, out);
    }
    v1::Device d;
    if (auto st = c.ByName(&v1::ControllerService::Stub::GetDevice, a[2], &d); !st.ok()) {
      return c.Fail("device show", st);
    }
    if (o.json) {
      out << Json(d);
      return 0;
    }
    PrintDevices({d}, out);
    if (!d.management_endpoint().empty()) out << "  management endpoint: " << d.management_endpoint() << "\n";
    for (const auto& [k, v] : d.labels()) out << "  label " << k << "=" << v << "\n";
    return 0;
  }
  if (sub == "enroll" && a.size() == 3) {
    if (o.pki_dir.empty()) {
      err << "vpnfleet device enroll: --pki_dir is required (the IKE daemon's --pki_dir)\n";
      return 2;
    }
    v1::EnrollDeviceRequest req;
    req.set_device(a[2]);
    v1::EnrollmentTicket t;
    auto st = c.stub().EnrollDevice(c.Context(std::chrono::seconds(15)).get(), req, &t);
    if (!st.ok()) return c.Fail("device enroll", st);
    const std::string dir = absl::StrCat(o.pki_dir, "/", t.trustpoint());
    mkdir(o.pki_dir.c_str(), 0700);
    mkdir(dir.c_str(), 0700);
    PkiCliOptions p = o.pki;
    p.json = o.json;
    p.url = t.scep_url();
    p.challenge = t.challenge();
    p.fingerprint = t.ca_fingerprint_sha256();
    p.subject = t.subject();
    p.sans = {t.subject_alt_names().begin(), t.subject_alt_names().end()};
    p.key_file = dir + "/key.pem";
    p.cert_file = dir + "/cert.pem";
    p.ca_file = dir + "/ca.pem";
    p.crl_file = dir + "/crl.pem";
    if (!o.json) {
      out << "% Enrollment ticket for " << t.device() << " (trustpoint " << t.trustpoint() << ", CA "
          << t.scep_url() << ")\n";
    }
    return RunPki({"enroll"}, p, out, err);
  }
  err << kControllerUsage << "\n";
  return 2;
}

int Template(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
             std::ostream& err) {
  const std::string sub = a.size() > 1 ? a[1] : "";
  if (sub == "add" && a.size() == 3) {
    auto body = files::ReadFile(o.file);
    if (o.file.empty() || !body.ok()) {
      err << "vpnfleet template add: --file: cannot read '" << o.file << "'\n";
      return 2;
    }
    v1::PutTemplateRequest req;
    auto* t = req.mutable_template_();
    t->set_name(a[2]);
    t->set_body(*body);
    t->set_output(o.template_output == "ios" ? v1::TEMPLATE_OUTPUT_IOS_CONFIGLET : v1::TEMPLATE_OUTPUT_POLICY);
    auto* topo = t->mutable_topology();
    if (o.topology == "hub-and-spoke") topo->set_kind(v1::TOPOLOGY_KIND_HUB_AND_SPOKE);
    else if (o.topology == "full-mesh") topo->set_kind(v1::TOPOLOGY_KIND_FULL_MESH);
    else if (o.topology == "pairs") topo->set_kind(v1::TOPOLOGY_KIND_PAIRS);
    else if (!o.topology.empty()) {
      err << "vpnfleet template add: --topology is hub-and-spoke, full-mesh or pairs\n";
      return 2;
    }
    if (o.auth == "certificate") topo->set_auth(v1::PEER_AUTH_CERTIFICATE);
    else if (o.auth == "psk" || o.auth.empty()) topo->set_auth(v1::PEER_AUTH_PRE_SHARED_KEY);
    else {
      err << "vpnfleet template add: --auth is psk or certificate\n";
      return 2;
    }
    topo->set_hub_role(o.hub_role);
    for (const auto& p : o.summary) {
      std::vector<std::string> parts = absl::StrSplit(p, '/');
      uint32_t len = 0;
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &len)) {
        err << "vpnfleet template add: --summary " << p << ": write ADDRESS/LENGTH\n";
        return 2;
      }
      auto* sp = topo->add_summary_prefixes();
      sp->set_address(parts[0]);
      sp->set_length(len);
    }
    for (const auto& p : o.pairs) {
      std::vector<std::string> ends = absl::StrSplit(p, ':');
      if (ends.size() != 2) {
        err << "vpnfleet template add: --pair " << p << ": write A:B\n";
        return 2;
      }
      auto* pair = topo->add_pairs();
      pair->set_a(ends[0]);
      pair->set_b(ends[1]);
    }
    std::map<std::string, v1::TemplateVariable*> by_name;
    for (const auto& v : o.vars) {
      size_t eq = v.find('=');
      auto* var = t->add_variables();
      var->set_name(v.substr(0, eq));
      if (eq != std::string::npos) var->set_default_value(v.substr(eq + 1));
      by_name[var->name()] = var;
    }
    for (const auto& r : o.required) {
      auto it = by_name.find(r);
      v1::TemplateVariable* var = it != by_name.end() ? it->second : t->add_variables();
      var->set_name(r);
      var->set_required(true);
    }
    v1::Template resp;
    auto st = c.stub().PutTemplate(c.Context().get(), req, &resp);
    if (!st.ok()) return c.Fail("template add", st);
    out << (o.json ? Json(resp) : absl::StrCat("% Template ", resp.name(), " stored (revision ",
                                                resp.revision().number(), ", ", resp.variables_size(),
                                                " variables)\n"));
    return 0;
  }
  if (sub == "list") {
    v1::ListTemplatesResponse resp;
    auto st = AllPages(v1::ListTemplatesRequest(), &resp, [&](const auto& r, auto* page) {
      return c.stub().ListTemplates(c.Context().get(), r, page);
    });
    if (!st.ok()) return c.Fail("template list", st);
    if (o.json) {
      out << Json(resp);
      return 0;
    }
    for (const auto& t : resp.templates()) {
      out << t.name() << "  (" << v1::TopologyKind_Name(t.topology().kind()) << ", "
          << v1::PeerAuth_Name(t.topology().auth()) << ", " << t.variables_size() << " variables, revision "
          << t.revision().number() << ")\n";
    }
    return 0;
  }
  if ((sub == "show" || sub == "delete") && a.size() == 3) {
    if (sub == "delete") {
      return c.Delete(&v1::ControllerService::Stub::DeleteTemplate, "template delete", "Template", a[2], o.json, out);
    }
    v1::Template t;
    if (auto st = c.ByName(&v1::ControllerService::Stub::GetTemplate, a[2], &t); !st.ok()) {
      return c.Fail("template show", st);
    }
    if (o.json) {
      out << Json(t);
      return 0;
    }
    out << "Template " << t.name() << " (revision " << t.revision().number() << ")\n  Variables:\n";
    for (const auto& v : t.variables()) {
      out << "    " << v.name() << (v.required() ? " (required)" : "")
          << (v.default_value().empty() ? "" : absl::StrCat(" = ", v.default_value())) << "\n";
    }
    out << "  Body:\n" << t.body();
    return 0;
  }
  if (sub == "render" && a.size() == 3) {
    v1::RenderTemplateRequest req;
    req.set_data_set(a[2]);
    if (!o.base_file.empty()) {
      auto base = files::ReadFile(o.base_file);
      if (!base.ok()) {
        err << "vpnfleet template render: --base: " << base.status().message() << "\n";
        return 2;
      }
      req.set_base_config(*base);
      req.set_placement(o.prepend ? v1::CONFIGLET_PLACEMENT_PREPEND : v1::CONFIGLET_PLACEMENT_APPEND);
    }
    v1::RenderTemplateResponse resp;
    auto st = c.stub().RenderTemplate(c.Context(std::chrono::seconds(30)).get(), req, &resp);
    if (!st.ok()) return c.Fail("template render", st);
    if (o.json) out << Json(resp);
    else {
      PrintDiagnostics(resp.diagnostics(), err);
      out << resp.ios_configlet();
    }
    return HasErrors(resp.diagnostics()) ? 1 : 0;
  }
  err << kControllerUsage << "\n";
  return 2;
}

int Data(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
         std::ostream& err) {
  const std::string sub = a.size() > 1 ? a[1] : "";
  if (sub == "set" && a.size() >= 3) {
    v1::PutDataSetRequest req;
    auto* ds = req.mutable_data_set();
    ds->set_name(a[2]);
    ds->set_template_(o.template_name);
    ds->set_device(o.device);
    for (size_t i = 3; i < a.size(); ++i) {
      size_t eq = a[i].find('=');
      if (eq == std::string::npos) {
        err << "vpnfleet data set: '" << a[i] << "': write VARIABLE=VALUE\n";
        return 2;
      }
      (*ds->mutable_values())[a[i].substr(0, eq)] = a[i].substr(eq + 1);
    }
    v1::DataSet resp;
    auto st = c.stub().PutDataSet(c.Context().get(), req, &resp);
    if (!st.ok()) return c.Fail("data set", st);
    out << (o.json ? Json(resp) : absl::StrCat("% Data set ", resp.name(), " stored (revision ",
                                                resp.revision().number(), ")\n"));
    return 0;
  }
  if (sub == "list") {
    v1::ListDataSetsRequest req;
    req.set_template_(o.template_name);
    req.set_device(o.device);
    v1::ListDataSetsResponse resp;
    auto st = AllPages(req, &resp, [&](const auto& r, auto* page) {
      return c.stub().ListDataSets(c.Context().get(), r, page);
    });
    if (!st.ok()) return c.Fail("data list", st);
    if (o.json) {
      out << Json(resp);
      return 0;
    }
    for (const auto& d : resp.data_sets()) {
      out << d.name() << "  template " << d.template_() << ", device " << d.device() << ", " << d.values_size()
          << " value(s)\n";
    }
    return 0;
  }
  if ((sub == "show" || sub == "delete") && a.size() == 3) {
    if (sub == "delete") {
      return c.Delete(&v1::ControllerService::Stub::DeleteDataSet, "data delete", "Data set", a[2], o.json, out);
    }
    v1::DataSet d;
    if (auto st = c.ByName(&v1::ControllerService::Stub::GetDataSet, a[2], &d); !st.ok()) {
      return c.Fail("data show", st);
    }
    if (o.json) {
      out << Json(d);
      return 0;
    }
    out << "Data set " << d.name() << " (template " << d.template_() << ", device " << d.device() << ")\n";
    std::map<std::string, std::string> sorted(d.values().begin(), d.values().end());
    for (const auto& [k, v] : sorted) out << "  " << k << " = " << v << "\n";
    return 0;
  }
  err << kControllerUsage << "\n";
  return 2;
}


}  // namespace


int RunController(const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
                  std::ostream& err) {
  Client c(o, err);
  const std::string cmd = a.empty() ? "" : a[0];
  if (cmd == "device") return Device(c, a, o, out, err);
  if (cmd == "template") return Template(c, a, o, out, err);
  if (cmd == "data") return Data(c, a, o, out, err);
  if (cmd == "rollout") return controller_cli::RunRollout(c, a, o, out, err);
  if (cmd == "watch") return controller_cli::RunWatch(c, a, o, out, err);
  if (cmd == "validate") {
    v1::ValidateRequest req;
    for (size_t i = 1; i < a.size(); ++i) req.add_devices(a[i]);
    v1::ValidateResponse resp;
    auto st = c.stub().Validate(c.Context(std::chrono::seconds(60)).get(), req, &resp);
    if (!st.ok()) return c.Fail("validate", st);
    if (o.json) out << Json(resp);
    else {
      PrintDiagnostics(resp.diagnostics(), out);
      if (resp.diagnostics().empty()) out << "% The fleet's desired policy is consistent\n";
    }
    return HasErrors(resp.diagnostics()) ? 1 : 0;
  }
  if (cmd == "import" && a.size() == 3 && a[1] == "ios") {
    auto text = files::ReadFile(a[2]);
    if (!text.ok()) {
      err << "vpnfleet import ios: " << text.status().message() << "\n";
      return 2;
    }
    v1::ImportIosConfigRequest req;
    req.set_device(o.device);
    req.set_config_text(*text);
    v1::ImportIosConfigResponse resp;
    auto st = c.stub().ImportIosConfig(c.Context().get(), req, &resp);
    if (!st.ok()) return c.Fail("import ios", st);
    if (o.json) out << Json(resp);
    else {
      PrintDiagnostics(resp.diagnostics(), err);
      const auto& p = resp.policy();
      out << "% Imported " << a[2] << ": " << p.isakmp_policies_size() << " ISAKMP policies, "
          << p.transform_sets_size() << " transform sets, " << p.crypto_maps_size() << " crypto maps, "
          << p.access_lists_size() << " access lists, " << p.pre_shared_keys_size() << " keys, "
          << p.trustpoints_size() << " trustpoints\n";
      PrintSkipped(resp.skipped(), out);
    }
    return HasErrors(resp.diagnostics()) ? 1 : 0;
  }
  err << kControllerUsage << "\n";
  return 2;
}

int ShowDevice(const std::string& what, const ControllerCliOptions& o, std::ostream& out, std::ostream& err) {
  Client c(o, err);
  v1::GetDeviceStateRequest req;
  req.set_device(o.device);
  v1::DeviceState state;
  auto st = c.stub().GetDeviceState(c.Context().get(), req, &state);
  if (!st.ok()) return c.Fail(absl::StrCat("show crypto ", what, " sa --device ", o.device), st);
  if (what == "isakmp") {
    vpnfleet::ike::v1::ListIkeSasResponse sas;
    for (const auto& sa : state.ike_sas()) *sas.add_ike_sas() = sa;
    if (o.json) out << Json(sas);
    else PrintIsakmpSaIos(sas, absl::ToUnixSeconds(absl::Now()), out);
  } else {
    vpnfleet::ike::v1::ListChildSasResponse sas;
    for (const auto& sa : state.child_sas()) *sas.add_child_sas() = sa;
    if (o.json) out << Json(sas);
    else PrintIpsecSaIos(sas, out);
  }
  return 0;
}

}  // namespace vpnfleet::cli
