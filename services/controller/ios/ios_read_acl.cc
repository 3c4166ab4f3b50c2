#include "services/controller/ios/ios_reader.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"

namespace vpnfleet::controller::ios::internal {

// --------------------------------------------------------------- ACLs --
ike::AccessList* Reader::AclNamed(absl::string_view name) {
  ike::AccessList*& a = acl_by_name_[name];
  if (a == nullptr) {
    a = result_.config.add_access_lists();
    a->set_name(std::string(name));
  }
  return a;
}

// The list whose lines are read next: a list that exists already keeps its
// entries' sequence numbers.
void Reader::UseAcl(ike::AccessList* acl) {
  acl_ = acl;
  acl_sequences_.clear();
  acl_last_sequence_ = 0;
  if (acl == nullptr) return;
  for (const auto& x : acl->entries()) {
    acl_sequences_.insert(x.sequence());
    acl_last_sequence_ = std::max(acl_last_sequence_, x.sequence());
  }
}

// Access lists are kept as text while the file is read and read as crypto
// ACLs by FinishAcls, once it is known which ones a crypto map matches: a
// full configuration also has lists for NAT, interfaces and lines, with
// keywords (established, echo, ...) that no traffic selector has.
size_t Reader::AclSourceFor(absl::string_view key, std::string entry, bool standard) {
  auto [it, added] = acl_source_index_.try_emplace(key, acl_sources_.size());
  if (!added) return it->second;
  AclSource& a = acl_sources_.emplace_back();
  a.key = std::string(key);
  a.entry = std::move(entry);
  a.standard = standard;
  return acl_sources_.size() - 1;
}

// access-list NUMBER {permit|deny|remark} ...
void Reader::NumberedAcl(const Words& w, absl::string_view text) {
  uint64_t n;
  if (w.size() < 3 || !ParseUint(w[1], 2699, &n)) {
    return Error(line_, "access-list", "", "access-list NUMBER permit|deny|remark ...");
  }
  const bool extended = (n >= 100 && n <= 199) || (n >= 2000 && n <= 2699);
  const bool standard = (n >= 1 && n <= 99) || (n >= 1300 && n <= 1999);
  if (!extended && !standard) return Skip(kSkipNotCrypto);  // MAC, protocol-type, ... lists
  AclSource& a = acl_sources_[AclSourceFor(w[1], absl::StrCat("access-list ", w[1]), standard)];
  a.lines.push_back({line_, Words(w.begin() + 2, w.end()), After(text, 2), /*numbered=*/true});
}

void Reader::NamedAcl(const Words& w) {
  // ip access-list {extended|standard} NAME
  if (w.size() >= 3 && w[2] != "extended" && w[2] != "standard") {
    return SkipBlock(std::string(kSkipNotCrypto));  // logging, resequence, role-based, ...
  }
  if (w.size() != 4) return Error(line_, "ip access-list", "", "ip access-list extended NAME");
  acl_source_ = AclSourceFor(w[3], absl::StrCat("ip access-list ", w[2], " ", w[3]), w[2] == "standard");
  AclSource& a = acl_sources_[acl_source_];
  if (a.named_line == 0) a.named_line = line_;
  mode_ = Mode::kAcl;
}

void Reader::AclSub(const Words& w, absl::string_view text) {
  acl_sources_[acl_source_].lines.push_back({line_, w, text, /*numbered=*/false});
}

void Reader::FinishAcls() {
  std::map<std::string, uint32_t> matched;  // by a crypto map, at a line
  for (const Reference& r : references_) {
    if (r.kind == Reference::kAcl) matched.emplace(r.name, r.line);
  }
  for (AclSource& a : acl_sources_) {
    auto m = matched.find(a.key);
    std::vector<uint32_t> lines;
    if (a.named_line) lines.push_back(a.named_line);
    for (const auto& l : a.lines) lines.push_back(l.line);
    auto skip_all = [&](const std::string& reason) {
      for (uint32_t l : lines) result_.skipped.push_back({l, l, reason});
    };
    if (a.standard) {
      // Matched by a crypto map: FinishReferences says why it cannot be.
      if (m == matched.end()) skip_all("a standard access list: not a crypto ACL, and no crypto map matches it");
      continue;
    }
    const size_t diagnostics_before = result_.diagnostics.size();
    const bool existed = acl_by_name_.contains(a.key);
    acl_key_ = a.key;
    acl_name_ = a.entry;
    UseAcl(a.named_line ? AclNamed(a.key) : nullptr);  // a named list exists from its header on
    pending_remark_.clear();
    for (const AclSourceLine& l : a.lines) {
      line_ = l.line;
      AclLine(l.words, l.rest, l.numbered);
    }
    if (acl_ != nullptr) {
      std::stable_sort(acl_->mutable_entries()->begin(), acl_->mutable_entries()->end(),
                       [](const auto& x, const auto& y) { return x.sequence() < y.sequence(); });
    }
    if (!pending_remark_.empty()) {
      Warn(line_, acl_name_, "remark", "a remark at the end of an access list describes nothing");
    }
    if (m != matched.end() || existed) continue;
    // A list no crypto map matches is kept when it reads as one (the
    // policy may hold lists for later); else it is another kind of list.
    auto first_error = std::find_if(result_.diagnostics.begin() + diagnostics_before, result_.diagnostics.end(),
                                    [](const v1::Diagnostic& d) { return d.severity() == v1::Diagnostic::SEVERITY_ERROR; });
    if (first_error == result_.diagnostics.end()) continue;
    const std::string reason = absl::StrCat("an access list no crypto map matches, and line ", first_error->line(),
                                            " is not a traffic selector (", first_error->message(),
                                            "): not crypto policy");
    result_.diagnostics.erase(result_.diagnostics.begin() + diagnostics_before, result_.diagnostics.end());
    auto* lists = result_.config.mutable_access_lists();
    for (int i = lists->size() - 1; i >= 0; --i) {  // it was added last
      if (lists->Get(i).name() == a.key) {
        lists->DeleteSubrange(i, 1);
        break;
      }
    }
    acl_by_name_.erase(a.key);
    skip_all(reason);
  }
  acl_ = nullptr;
}

// Reads ADDRESS [WILDCARD] | any | host A, advancing i.
bool Reader::AclAddress(const Words& w, size_t* i, c::IpPrefix* out, std::string* error) {
  if (*i >= w.size()) {
    *error = "missing address";
    return false;
  }
  if (w[*i] == "any") {
    out->set_address("0.0.0.0");
    out->set_length(0);
    ++*i;
    return true;
  }
  if (w[*i] == "host") {
    if (*i + 1 >= w.size() || !net::ParseAddress(w[*i + 1]).ok()) {
      *error = "host needs an address";
      return false;
    }
    auto a = net::ParseAddress(w[*i + 1]);
    out->set_address(std::string(w[*i + 1]));
    out->set_length(static_cast<uint32_t>(a->bit_length()));
    *i += 2;
    return true;
  }
  auto a = net::ParseAddress(w[*i]);
  if (!a.ok() || a->family != net::Family::kV4) {
    *error = absl::StrCat("'", w[*i], "' is not an IPv4 address, any or host");
    return false;
  }
  if (*i + 1 >= w.size()) {
    *error = absl::StrCat(w[*i], " needs a wildcard mask");
    return false;
  }
  auto len = WildcardLength(w[*i + 1]);
  if (!len) {
    *error = absl::StrCat("'", w[*i + 1], "' is not a contiguous wildcard mask");
    return false;
  }
  out->set_address(std::string(w[*i]));
  out->set_length(static_cast<uint32_t>(*len));
  if (!net::ParsePrefix(*out).ok()) {
    *error = absl::StrCat(w[*i], " ", w[*i + 1], " has bits set outside the wildcard");
    return false;
  }
  *i += 2;
  return true;
}

bool Reader::AclPorts(const Words& w, size_t* i, c::PortRange* out, std::string* error) {
  if (*i >= w.size()) return true;
  absl::string_view op = w[*i];
  auto port = [&](size_t k, uint32_t* p) {
    if (k >= w.size()) return false;
    auto v = AclPort(w[k]);
    if (!v) return false;
    *p = *v;
    return true;
  };
  uint32_t a = 0, b = 0;
  if (op == "eq") {
    if (!port(*i + 1, &a)) { *error = "eq needs a port"; return false; }
    out->set_start(a);
    out->set_end(a);
    *i += 2;
  } else if (op == "range") {
    if (!port(*i + 1, &a) || !port(*i + 2, &b) || a > b) {
      *error = "range needs two ports, low then high";
      return false;
    }
    out->set_start(a);
    out->set_end(b);
    *i += 3;
  } else if (op == "gt") {
    if (!port(*i + 1, &a) || a >= 65535) { *error = "gt needs a port below 65535"; return false; }
    out->set_start(a + 1);
    out->set_end(65535);
    *i += 2;
  } else if (op == "lt") {
    if (!port(*i + 1, &a) || a == 0) { *error = "lt needs a port above 0"; return false; }
    out->set_start(0);
    out->set_end(a - 1);
    *i += 2;
  } else if (op == "neq") {
    *error = "neq cannot be a traffic selector (it is two ranges); write two lines";
    return false;
  }
  return true;
}

void Reader::AclLine(const Words& w, absl::string_view rest_text, bool numbered) {
  const std::string& entry = acl_name_;
  size_t i = 0;
  uint64_t seq = 0;
  if (!numbered && ParseUint(w[0], 2147483647, &seq)) {
    ++i;
    if (seq == 0) return Error(line_, entry, "sequence", "sequence numbers start at 1");
  }
  if (i >= w.size()) return Error(line_, entry, "", "permit, deny or remark");
  if (w[i] == "remark") {
    pending_remark_ = std::string(After(rest_text, i + 1));
    return;
  }
  ike::AccessListEntry e;
  if (w[i] == "permit") e.set_action(ike::ACL_ACTION_PERMIT);
  else if (w[i] == "deny") e.set_action(ike::ACL_ACTION_DENY);
  else return Error(line_, entry, "", absl::StrCat("expected permit, deny or remark, not '", w[i], "'"));
  ++i;
  if (i >= w.size()) return Error(line_, entry, "protocol", "missing protocol");
  auto proto = AclProtocol(w[i]);
  if (!proto) return Error(line_, entry, "protocol", absl::StrCat("unknown protocol '", w[i], "'"));
  ++i;
  auto* m = e.mutable_match();
  m->set_protocol(*proto);
  const bool ports = *proto == 6 || *proto == 17;
  std::string error;
  if (!AclAddress(w, &i, m->mutable_source(), &error)) return Error(line_, entry, "source", error);
  if (ports && !AclPorts(w, &i, m->mutable_source_ports(), &error)) {
    return Error(line_, entry, "source port", error);
  }
  if (!AclAddress(w, &i, m->mutable_destination(), &error)) {
    return Error(line_, entry, "destination", error);
  }
  if (ports && !AclPorts(w, &i, m->mutable_destination_ports(), &error)) {
    return Error(line_, entry, "destination port", error);
  }
  if (i < w.size() && (w[i] == "log" || w[i] == "log-input")) {
    Warn(line_, entry, std::string(w[i]),
         "not carried: the dataplane counts a crypto map's traffic instead of logging matches");
    ++i;
  }
  if (i != w.size()) {
    return Error(line_, entry, "", absl::StrCat("unexpected '", w[i], "' (options other than "
                                                "ports and log are not selectors)"));
  }
  if (acl_ == nullptr) UseAcl(AclNamed(acl_key_));
  if (seq == 0) {
    seq = uint64_t{acl_last_sequence_} + 10;
    if (seq > 2147483647) return Error(line_, entry, "sequence", "no sequence number is left after the last one");
  } else if (acl_sequences_.contains(static_cast<uint32_t>(seq))) {
    return Error(line_, entry, "sequence", absl::StrCat("sequence ", seq, " is used twice"));
  }
  e.set_sequence(static_cast<uint32_t>(seq));
  acl_sequences_.insert(e.sequence());
  acl_last_sequence_ = std::max(acl_last_sequence_, e.sequence());
  if (!pending_remark_.empty()) e.set_remark(std::exchange(pending_remark_, {}));
  *acl_->add_entries() = std::move(e);  // put in order once the list is read (FinishAcls)
}

}  // namespace vpnfleet::controller::ios::internal
