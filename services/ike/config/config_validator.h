// Validation of a whole IKE configuration: field ranges, algorithm
// combinations, legacy algorithms, and references between objects (a crypto
// map's ACL, transform sets, dynamic map). Every problem names the object and
// the field, in IOS terms: "crypto map CRYPTO 10: match address: ...".
#ifndef VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_VALIDATOR_H_
#define VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_VALIDATOR_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

struct Problem {
  std::string object;   // "crypto isakmp policy 10"
  std::string field;    // "encryption"
  std::string message;
  bool warning = false;
  std::string ToString() const;
};

struct ValidationResult {
  std::vector<Problem> problems;
  bool ok() const;
  std::vector<std::string> Warnings() const;
  // INVALID_ARGUMENT listing every error, or OK.
  absl::Status ToStatus() const;
};

// Checks `config` as a whole. Legacy algorithms are errors unless
// `globals.allow_legacy_algorithms` is set, and then warnings.
ValidationResult ValidateIkeConfig(const vpnfleet::ike::v1::IkeConfig& config);

// A name of a transform set, ACL, crypto map or trustpoint: 1..63 characters
// of [A-Za-z0-9_.-], as IOS accepts without quoting.
bool IsValidObjectName(const std::string& name);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_CONFIG_CONFIG_VALIDATOR_H_
