// Who may call what: a small policy that maps caller identities to roles and
// grants each role classes of RPCs (the access each method declares in
// proto/vpnfleet/common/v1/access.proto) or named methods. Pure: no gRPC, no
// I/O, so the parser can be fuzzed and the decisions unit-tested.
//
//   # comments and blank lines are ignored
//   identity spiffe://*/admin/*   admin      first matching line wins
//   identity unix:*               admin      local callers let in by SO_PEERCRED
//   allow viewer   read                      classes: read write secret admin
//   allow edge     vpnfleet.dataplane.v1.DataplaneService/*
//
// Identity patterns and method names are globs where '*' matches any run of
// characters. A caller whose identity matches no line has no role and may
// call nothing; a role named in no allow line may call nothing.
#ifndef VPNFLEET_COMMON_SECURITY_AUTHZ_POLICY_H_
#define VPNFLEET_COMMON_SECURITY_AUTHZ_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vpnfleet::security {

// What a method does (vpnfleet.common.v1.Access without the proto).
enum class Access { kUnspecified, kRead, kWrite, kSecret, kAdmin };

absl::string_view AccessName(Access a);  // "read", ...

class AuthzPolicy {
 public:
  // Refuses the whole text on the first bad line, naming it.
  static absl::StatusOr<AuthzPolicy> Parse(absl::string_view text);

  // The policy a fresh installation runs with (the README's table).
  static const AuthzPolicy& Default();
  static absl::string_view DefaultText();

  // The role of `identity`, or empty when no identity line matches.
  std::string RoleOf(absl::string_view identity) const;

  // Whether `role` may call `method` ("pkg.Service/Method") of class `access`.
  bool Allows(absl::string_view role, absl::string_view method, Access access) const;

  size_t rule_count() const { return identities_.size() + grants_.size(); }

 private:
  struct IdentityRule {
    std::string pattern;
    std::string role;
  };
  struct Grant {
    std::string role;
    bool is_class = false;
    Access access = Access::kUnspecified;
    std::string method_pattern;
  };
  std::vector<IdentityRule> identities_;
  std::vector<Grant> grants_;
};

// '*' matches any run of characters, everything else itself.
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace vpnfleet::security

#endif  // VPNFLEET_COMMON_SECURITY_AUTHZ_POLICY_H_
