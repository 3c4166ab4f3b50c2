#include "common/security/authz_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vpnfleet::security {
namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;
constexpr size_t kMaxRules = 10000;
constexpr size_t kMaxTokenBytes = 512;

constexpr absl::string_view kDefaultPolicy = R"(# vpnfleet's default authorization policy (README, "Who may call what").
# Identities: the URI name of a certificate from the fleet's CA
# (spiffe://TRUST_DOMAIN/ROLE/NAME, issued by `vpnfleet pki identity`), else
# its subject DN; "unix:uid=N" for a local caller on a Unix socket (which
# --socket_allow let in).
identity spiffe://*/admin/*       admin
identity spiffe://*/operator/*    operator
identity spiffe://*/viewer/*      viewer
identity spiffe://*/controller/*  controller
identity spiffe://*/edge/*        edge
identity spiffe://*/pki/*         pki
identity unix:*                   admin
# A TCP caller on a port opened with --insecure (labs only) has no identity.
identity insecure                 admin

allow admin     *
allow operator  read write secret
allow viewer    read
# The controller pushes configurations to edges, reads their state and asks
# the PKI for enrollment challenges and to re-register a device that moved.
allow controller vpnfleet.ike.v1.IkeService/*
allow controller vpnfleet.pki.v1.PkiService/IssueChallenge vpnfleet.pki.v1.PkiService/GetCaInfo
allow controller vpnfleet.pki.v1.PkiService/RegisterDevice
allow controller vpnfleet.pki.v1.PkiService/GetCrl vpnfleet.pki.v1.PkiService/GetCertificate
allow controller vpnfleet.pki.v1.PkiService/ListCertificates
# An edge's IKE daemon installs SAs and policies in its dataplane (when that
# is reached over TCP) and reads the CA and its CRL.
allow edge      vpnfleet.dataplane.v1.DataplaneService/*
allow edge      vpnfleet.pki.v1.PkiService/GetCaInfo vpnfleet.pki.v1.PkiService/GetCrl
)";

absl::StatusOr<Access> ParseAccess(absl::string_view s) {
  if (s == "read") return Access::kRead;
  if (s == "write") return Access::kWrite;
  if (s == "secret") return Access::kSecret;
  if (s == "admin") return Access::kAdmin;
  return absl::InvalidArgumentError("not a class");
}

bool ValidToken(absl::string_view t) {
  if (t.empty() || t.size() > kMaxTokenBytes) return false;
  for (unsigned char c : t) {
    if (c < 0x21 || c > 0x7e) return false;  // printable ASCII, no spaces
  }
  return true;
}

bool ValidRole(absl::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

absl::string_view AccessName(Access a) {
  switch (a) {
    case Access::kRead: return "read";
    case Access::kWrite: return "write";
    case Access::kSecret: return "secret";
    case Access::kAdmin: return "admin";
    case Access::kUnspecified: break;
  }
  return "unspecified";
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Greedy matching with one backtrack point: linear for one '*', at most
  // O(pattern * text) otherwise; no recursion, so no stack to exhaust.
  size_t p = 0, t = 0, star = absl::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(absl::string_view text) {
  if (text.size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError("authorization policy: larger than 1 MiB");
  }
  AuthzPolicy policy;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (auto hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("authorization policy line ", line_no, ": ", why));
    };
    if (policy.rule_count() >= kMaxRules) return bad("more than 10000 rules");
    for (absl::string_view w : words) {
      if (!ValidToken(w)) return bad("a word longer than 512 characters or not printable ASCII");
    }
    if (words[0] == "identity") {
      if (words.size() != 3) return bad("expected 'identity PATTERN ROLE'");
      if (!ValidRole(words[2])) return bad("a role is 1-64 letters, digits, '-' or '_'");
      policy.identities_.push_back({std::string(words[1]), std::string(words[2])});
    } else if (words[0] == "allow") {
      if (words.size() < 3) return bad("expected 'allow ROLE CLASS|METHOD...'");
      if (!ValidRole(words[1])) return bad("a role is 1-64 letters, digits, '-' or '_'");
      for (size_t i = 2; i < words.size(); ++i) {
        Grant g;
        g.role = std::string(words[1]);
        if (auto a = ParseAccess(words[i]); a.ok()) {
          g.is_class = true;
          g.access = *a;
        } else if (words[i] == "*" || words[i].find('/') != absl::string_view::npos) {
          g.method_pattern = std::string(words[i]);
        } else {
          return bad(absl::StrCat("'", words[i],
                                  "' is neither a class (read, write, secret, admin) nor "
                                  "a method (package.Service/Method, '*' allowed)"));
        }
        policy.grants_.push_back(std::move(g));
      }
    } else {
      return bad(absl::StrCat("unknown statement '", words[0], "' (identity or allow)"));
    }
  }
  return policy;
}

absl::string_view AuthzPolicy::DefaultText() { return kDefaultPolicy; }

const AuthzPolicy& AuthzPolicy::Default() {
  static const AuthzPolicy* policy = [] {
    auto p = Parse(kDefaultPolicy);
    return new AuthzPolicy(p.ok() ? *std::move(p) : AuthzPolicy());
  }();
  return *policy;
}

std::string AuthzPolicy::RoleOf(absl::string_view identity) const {
  if (identity.empty()) return "";
  for (const auto& rule : identities_) {
    if (GlobMatch(rule.pattern, identity)) return rule.role;
  }
  return "";
}

bool AuthzPolicy::Allows(absl::string_view role, absl::string_view method, Access access) const {
  if (role.empty()) return false;
  for (const auto& g : grants_) {
    if (g.role != role) continue;
    if (g.is_class) {
      if (access != Access::kUnspecified && g.access == access) return true;
    } else if (GlobMatch(g.method_pattern, method)) {
      return true;
    }
  }
  return false;
}

}  // namespace vpnfleet::security
