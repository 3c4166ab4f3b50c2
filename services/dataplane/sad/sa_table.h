// The Security Association Database as configured through the API: SAs by
// (SPI, destination, protocol), validated on the way in (RFC 4301 §4.4.2),
// key material kept only here and wiped when an SA is replaced or deleted.
#ifndef VPNFLEET_SERVICES_DATAPLANE_SAD_SA_TABLE_H_
#define VPNFLEET_SERVICES_DATAPLANE_SAD_SA_TABLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "common/store/versioned_table.h"
#include "vpnfleet/dataplane/v1/dataplane.pb.h"

namespace vpnfleet::dataplane {


struct SaTableOptions {
  bool allow_legacy = false;  // DES, 3DES, HMAC-MD5
};

// Checks one SA as the API gives it. Errors name the field.
absl::Status ValidateSa(const v1::SecurityAssociation& sa, const SaTableOptions& options);

// "esp/0x00001234/192.0.2.1": the table key and how logs name an SA.
std::string SaKeyString(const v1::SaKey& key);

class SaTable {
 public:
  SaTable(const Clock* clock, SaTableOptions options);

  absl::Status Add(const v1::SecurityAssociation& sa);
  // Replaces everything but the keys, which stay as they are unless given.
  absl::Status Update(const v1::SecurityAssociation& sa);
  absl::Status Delete(const v1::SaKey& key);
  absl::StatusOr<v1::SaStatus> Get(const v1::SaKey& key) const;  // keys removed
  std::vector<v1::SaStatus> List(const v1::ListSasRequest& filter) const;  // keys removed
  size_t size() const { return table_.size(); }

 private:
  static void Wipe(v1::SaStatus& status);
  static v1::SaStatus Redacted(v1::SaStatus status);

  const Clock* clock_;
  SaTableOptions options_;
  store::VersionedTable<v1::SaStatus> table_;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_SAD_SA_TABLE_H_
