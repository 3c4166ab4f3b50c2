#include "services/controller/model/inventory.h"

#include <algorithm>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/ip.h"

namespace vpnfleet::controller {
namespace {

// [a-z0-9][a-z0-9.-]*, at most 63: usable as a hostname label, a file name
// and a Kubernetes name alike.
bool IsValidName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (!absl::ascii_islower(static_cast<unsigned char>(name[0])) &&
      !absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!absl::ascii_islower(u) && !absl::ascii_isdigit(u) && c != '-' && c != '.') return false;
  }
  return true;
}

bool IsIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  if (absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// A name as an error quotes it: at most 100 characters of it.
std::string Quoted(const std::string& s) {
  return absl::StrCat("'", s.substr(0, 100), s.size() > 100 ? "...'" : "'");
}

// A WAN address peers can reach: not unspecified, loopback, multicast or
// the limited broadcast.
absl::Status CheckWanAddress(const std::string& text) {
  auto a = net::ParseAddress(text);
  if (!a.ok()) return absl::InvalidArgumentError(absl::StrCat("wan_address: ", Quoted(text), " is not an IP address"));
  const auto& b = a->bytes;
  const bool v4 = a->family == net::Family::kV4;
  const bool zero = std::all_of(b.begin(), b.begin() + (v4 ? 4 : 16), [](uint8_t x) { return x == 0; });
  const bool loopback = v4 ? b[0] == 127 : (std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; }) && b[15] == 1);
  const bool multicast = v4 ? (b[0] >= 224 && b[0] <= 239) : b[0] == 0xff;
  const bool broadcast = v4 && b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255;
  if (zero || loopback || multicast || broadcast) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wan_address: ", text, " is ", zero ? "unspecified" : loopback ? "a loopback address" : multicast ? "multicast" : "the broadcast address",
        "; peers must be able to reach it"));
  }
  return absl::OkStatus();
}

absl::Status CheckEndpoint(const std::string& ep) {
  if (absl::StartsWith(ep, "unix:")) {
    if (ep.size() <= 5) return absl::InvalidArgumentError("management_endpoint: empty socket path");
    return absl::OkStatus();
  }
  size_t colon = ep.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        "management_endpoint: must be host:port or unix:PATH");
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(ep.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError("management_endpoint: port must be 1..65535");
  }
  std::string host = ep.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "0.0.0.0" || host == "::") {
    return absl::InvalidArgumentError("management_endpoint: an unspecified address cannot be called");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDevice(const v1::Device& d) {
  if (!IsValidName(d.name())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: ", Quoted(d.name()), " must be 1..63 of [a-z0-9.-], starting with a letter or digit"));
  }
  const std::string where = absl::StrCat("device ", d.name(), ": ");
  if (d.kind() == v1::DEVICE_KIND_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(where, "kind: must be vpnfleet or ios"));
  }
  if (auto st = CheckWanAddress(d.wan_address()); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, st.message()));
  }
  if (!d.management_endpoint().empty()) {
    if (auto st = CheckEndpoint(d.management_endpoint()); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, st.message()));
    }
  }
  for (const auto& [k, v] : d.labels()) {
    if (k.empty() || k.size() > 63) {
      return absl::InvalidArgumentError(absl::StrCat(where, "labels: key must be 1..63 characters"));
    }
  }
  std::vector<net::IpPrefix> prefixes;
  for (const auto& p : d.inner_prefixes()) {
    auto parsed = net::ParsePrefix(p);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "inner_prefixes: ", parsed.status().message()));
    }
    for (const auto& other : prefixes) {
      if (other.Contains(parsed->address) || parsed->Contains(other.address)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, "inner_prefixes: ", parsed->ToString(), " overlaps ", other.ToString()));
      }
    }
    prefixes.push_back(*parsed);
  }
  return absl::OkStatus();
}

absl::Status ValidateTemplate(const v1::Template& t) {
  if (!IsValidName(t.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: ", Quoted(t.name()), " must be 1..63 of [a-z0-9.-]"));
  }
  const std::string where = absl::StrCat("template ", t.name(), ": ");
  if (t.body().empty()) return absl::InvalidArgumentError(absl::StrCat(where, "body: is empty"));
  if (t.output() == v1::TEMPLATE_OUTPUT_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat(where, "output: must be policy or ios-configlet"));
  }
  std::set<std::string> names;
  for (const auto& v : t.variables()) {
    if (!IsIdentifier(v.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "variables: ", Quoted(v.name()), " is not a name ([A-Za-z_][A-Za-z0-9_]*)"));
    }
    if (!names.insert(v.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, "variables: '", v.name(), "' twice"));
    }
  }
  return absl::OkStatus();
}

Inventory::Inventory(const Clock* clock, Store* store) : clock_(clock), store_(store) {}

absl::Status Inventory::Load() {
  // Read into new tables first: a failed load leaves the copy as it was.
  auto rev = store_->Revision();
  if (!rev.ok()) return rev.status();
  std::map<std::string, v1::Device> devices;
  std::map<std::string, v1::Template> templates;
  std::map<std::string, v1::DataSet> data_sets;
  auto load = [this](const char* kind, auto& table) -> absl::Status {
    auto records = store_->List(kind);
    if (!records.ok()) return records.status();
    for (const auto& r : *records) {
      typename std::decay_t<decltype(table)>::mapped_type m;
      if (!m.ParseFromString(r.value)) {
        return absl::DataLossError(absl::StrCat("controller store: ", kind, " ", r.name,
                                                " does not parse"));
      }
      table[r.name] = std::move(m);
    }
    return absl::OkStatus();
  };
  if (auto st = load(kDeviceKind, devices); !st.ok()) return st;
  if (auto st = load(kTemplateKind, templates); !st.ok()) return st;
  if (auto st = load(kDataSetKind, data_sets); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  revision_ = *rev;
  devices_ = std::move(devices);
  templates_ = std::move(templates);
  data_sets_ = std::move(data_sets);
  wan_owner_.clear();
  for (const auto& [name, d] : devices_) {
    if (!d.wan_address().empty()) wan_owner_[d.wan_address()] = name;
  }
  sets_of_device_.clear();
  sets_of_template_.clear();
  for (const auto& [name, ds] : data_sets_) Index(ds, true);
  return absl::OkStatus();
}

absl::Status Inventory::Apply(const std::vector<StoreChange>& changes, uint64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status first_error;
  auto broken = [&](const StoreChange& c) {
    if (first_error.ok()) {
      first_error = absl::DataLossError(absl::StrCat("controller store: ", c.kind, " ", c.name, " does not parse"));
    }
  };
  for (const StoreChange& c : changes) {
    if (c.kind == kDeviceKind) {
      auto old = devices_.find(c.name);
      if (old != devices_.end()) {
        auto owner = wan_owner_.find(old->second.wan_address());
        if (owner != wan_owner_.end() && owner->second == c.name) wan_owner_.erase(owner);
        if (!c.value) devices_.erase(old);
      }
      if (!c.value) continue;
      v1::Device d;
      if (!d.ParseFromString(*c.value)) {
        broken(c);
        continue;
      }
      if (!d.wan_address().empty()) wan_owner_[d.wan_address()] = c.name;
      devices_[c.name] = std::move(d);
    } else if (c.kind == kTemplateKind) {
      if (!c.value) {
        templates_.erase(c.name);
        continue;
      }
      v1::Template t;
      if (!t.ParseFromString(*c.value)) {
        broken(c);
        continue;
      }
      templates_[c.name] = std::move(t);
    } else if (c.kind == kDataSetKind) {
      auto old = data_sets_.find(c.name);
      if (old != data_sets_.end()) {
        Index(old->second, false);
        if (!c.value) data_sets_.erase(old);
      }
      if (!c.value) continue;
      v1::DataSet ds;
      if (!ds.ParseFromString(*c.value)) {
        broken(c);
        continue;
      }
      Index(ds, true);
      data_sets_[c.name] = std::move(ds);
    }
  }
  revision_ = std::max(revision_, revision);
  return first_error;
}

void Inventory::Index(const v1::DataSet& ds, bool add) {
  for (auto [index, key] : {std::pair{&sets_of_device_, &ds.device()},
                            std::pair{&sets_of_template_, &ds.template_()}}) {
    if (add) {
      (*index)[*key].insert(ds.name());
      continue;
    }
    auto it = index->find(*key);
    if (it == index->end()) continue;
    it->second.erase(ds.name());
    if (it->second.empty()) index->erase(it);
  }
}

namespace {

// "a, b, c" or "a, b, ... and 998 more": an error names a few users, not
// every one of a hundred thousand.
std::string SomeNames(const std::set<std::string>& names) {
  constexpr size_t kShown = 10;
  std::vector<std::string> shown;
  for (const auto& n : names) {
    if (shown.size() == kShown) break;
    shown.push_back(n);
  }
  std::string out = absl::StrJoin(shown, ", ");
  if (names.size() > kShown) absl::StrAppend(&out, " and ", names.size() - kShown, " more");
  return out;
}

const std::set<std::string>& Users(
    const absl::flat_hash_map<std::string, std::set<std::string>>& index, const std::string& key) {
  static const std::set<std::string> kNone;
  auto it = index.find(key);
  return it == index.end() ? kNone : it->second;
}

}  // namespace

absl::Status Inventory::Commit(const char* kind, const std::string& name,
                               google::protobuf::Message* msg,
                               vpnfleet::common::v1::Revision* revision) {
  vpnfleet::common::v1::Revision r;
  r.set_number(revision_ + 1);
  r.set_changed_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
  if (revision != nullptr) *revision = r;
  StoreWrite w{kind, name, std::nullopt};
  if (msg != nullptr) w.value = msg->SerializeAsString();
  auto committed = store_->Commit({w}, /*new_revision=*/true, r.changed_unix_seconds());
  if (!committed.ok()) return committed.status();
  revision_ = *committed;
  return absl::OkStatus();
}

uint64_t Inventory::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return revision_;
}

Inventory::Counts Inventory::Count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Counts{devices_.size(), templates_.size(), data_sets_.size(), revision_};
}

Snapshot Inventory::Take() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Snapshot{revision_, devices_, templates_, data_sets_};
}

absl::StatusOr<v1::Device> Inventory::PutDevice(v1::Device device, bool create_only) {
  device.clear_revision();
  if (auto st = ValidateDevice(device); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  if (create_only && devices_.count(device.name())) {
    return absl::AlreadyExistsError(absl::StrCat("device ", device.name(), " already exists"));
  }
  // Through an index: this runs for every device of a 100,000-device import.
  if (auto owner = wan_owner_.find(device.wan_address());
      !device.wan_address().empty() && owner != wan_owner_.end() && owner->second != device.name()) {
    return absl::AlreadyExistsError(absl::StrCat("device ", device.name(), ": wan_address: ",
                                                 device.wan_address(), " is already the WAN address of ",
                                                 owner->second));
  }
  if (auto st = Commit(kDeviceKind, device.name(), &device, device.mutable_revision()); !st.ok()) {
    return st;
  }
  v1::Device& stored = devices_[device.name()];
  if (!stored.wan_address().empty()) wan_owner_.erase(stored.wan_address());
  if (!device.wan_address().empty()) wan_owner_[device.wan_address()] = device.name();
  stored = device;
  return device;
}

absl::StatusOr<v1::Device> Inventory::GetDevice(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = devices_.find(name);
  if (it == devices_.end()) return absl::NotFoundError(absl::StrCat("device ", name, " does not exist"));
  return it->second;
}

std::vector<v1::Device> Inventory::ListDevices(const v1::ListDevicesRequest& f, size_t limit) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Device> out;
  auto it = f.page_token().empty() ? devices_.begin() : devices_.upper_bound(f.page_token());
  for (; it != devices_.end() && out.size() < limit; ++it) {
    const v1::Device& d = it->second;
    if (!f.site().empty() && d.site() != f.site()) continue;
    if (!f.role().empty() && d.role() != f.role()) continue;
    bool labels_match = true;
    for (const auto& [k, v] : f.labels()) {
      auto label = d.labels().find(k);
      if (label == d.labels().end() || label->second != v) labels_match = false;
    }
    if (labels_match) out.push_back(d);
  }
  return out;
}

absl::Status Inventory::DeleteDevice(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!devices_.count(name)) return absl::NotFoundError(absl::StrCat("device ", name, " does not exist"));
  if (const auto& users = Users(sets_of_device_, name); !users.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device ", name, " is used by data set(s) ", SomeNames(users), "; delete them first"));
  }
  if (auto st = Commit(kDeviceKind, name, nullptr, nullptr); !st.ok()) return st;
  if (auto d = devices_.find(name); d != devices_.end() && !d->second.wan_address().empty()) {
    wan_owner_.erase(d->second.wan_address());
  }
  devices_.erase(name);
  return absl::OkStatus();
}

absl::StatusOr<v1::Template> Inventory::PutTemplate(v1::Template tmpl) {
  tmpl.clear_revision();
  if (auto st = ValidateTemplate(tmpl); !st.ok()) return st;
  std::lock_guard<std::mutex> lock(mu_);
  // A changed template must still fit every data set that uses it.
  std::set<std::string> declared;
  for (const auto& v : tmpl.variables()) declared.insert(v.name());
  for (const auto& name : Users(sets_of_template_, tmpl.name())) {
    const v1::DataSet& ds = data_sets_.at(name);
    for (const auto& [k, v] : ds.values()) {
      if (!declared.count(k)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "template ", tmpl.name(), ": data set ", name, " sets '", k,
            "', which the new template no longer declares"));
      }
    }
  }
  if (auto st = Commit(kTemplateKind, tmpl.name(), &tmpl, tmpl.mutable_revision()); !st.ok()) {
    return st;
  }
  templates_[tmpl.name()] = tmpl;
  return tmpl;
}

absl::StatusOr<v1::Template> Inventory::GetTemplate(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = templates_.find(name);
  if (it == templates_.end()) {
    return absl::NotFoundError(absl::StrCat("template ", name, " does not exist"));
  }
  return it->second;
}

std::vector<v1::Template> Inventory::ListTemplates() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Template> out;
  for (const auto& [name, t] : templates_) out.push_back(t);
  return out;
}

absl::Status Inventory::DeleteTemplate(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!templates_.count(name)) {
    return absl::NotFoundError(absl::StrCat("template ", name, " does not exist"));
  }
  if (const auto& users = Users(sets_of_template_, name); !users.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "template ", name, " is used by data set(s) ", SomeNames(users), "; delete them first"));
  }
  if (auto st = Commit(kTemplateKind, name, nullptr, nullptr); !st.ok()) return st;
  templates_.erase(name);
  return absl::OkStatus();
}

absl::Status Inventory::CheckDataSet(const v1::DataSet& ds) const {
  if (!IsValidName(ds.name())) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: '", ds.name(), "' must be 1..63 of [a-z0-9.-]"));
  }
  const std::string where = absl::StrCat("data set ", ds.name(), ": ");
  auto t = templates_.find(ds.template_());
  if (t == templates_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, "template: '", ds.template_(), "' does not exist"));
  }
  if (!ds.device().empty() && !devices_.count(ds.device())) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, "device: '", ds.device(), "' does not exist"));
  }
  std::set<std::string> declared;
  for (const auto& v : t->second.variables()) {
    declared.insert(v.name());
    if (v.required() && v.default_value().empty() && !ds.values().count(v.name())) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "values: required variable '", v.name(), "' of template ", ds.template_(),
          " is not set"));
    }
  }
  for (const auto& [k, v] : ds.values()) {
    if (!declared.count(k)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "values: template ", ds.template_(), " declares no variable '", k, "'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DataSet> Inventory::PutDataSet(v1::DataSet data_set) {
  data_set.clear_revision();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto st = CheckDataSet(data_set); !st.ok()) return st;
  if (auto st = Commit(kDataSetKind, data_set.name(), &data_set, data_set.mutable_revision());
      !st.ok()) {
    return st;
  }
  if (auto old = data_sets_.find(data_set.name()); old != data_sets_.end()) Index(old->second, false);
  Index(data_set, true);
  data_sets_[data_set.name()] = data_set;
  return data_set;
}

absl::StatusOr<v1::DataSet> Inventory::GetDataSet(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = data_sets_.find(name);
  if (it == data_sets_.end()) {
    return absl::NotFoundError(absl::StrCat("data set ", name, " does not exist"));
  }
  return it->second;
}

std::vector<v1::DataSet> Inventory::ListDataSets(const v1::ListDataSetsRequest& f) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::DataSet> out;
  auto add = [&](const v1::DataSet& ds) {
    if (!f.template_().empty() && ds.template_() != f.template_()) return;
    if (!f.device().empty() && ds.device() != f.device()) return;
    out.push_back(ds);
  };
  if (!f.device().empty() || !f.template_().empty()) {
    const auto& names = f.device().empty() ? Users(sets_of_template_, f.template_())
                                           : Users(sets_of_device_, f.device());
    for (const auto& name : names) add(data_sets_.at(name));  // names are in order
    return out;
  }
  for (const auto& [name, ds] : data_sets_) add(ds);
  return out;
}

absl::Status Inventory::DeleteDataSet(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  if (data_sets_.count(name) == 0) {
    return absl::NotFoundError(absl::StrCat("data set ", name, " does not exist"));
  }
  if (auto st = Commit(kDataSetKind, name, nullptr, nullptr); !st.ok()) return st;
  Index(data_sets_.at(name), false);
  data_sets_.erase(name);
  return absl::OkStatus();
}

}  // namespace vpnfleet::controller
