// Encryption at rest for the secrets the controller generates (per-pair
// pre-shared keys): AES-256-GCM under a 32-byte master key kept in a file
// apart from the database (0600, created on first start). A stolen database
// alone gives no key; a record moved to another name does not open
// (the record's name is authenticated data).
#ifndef VPNFLEET_SERVICES_CONTROLLER_STORE_SECRET_BOX_H_
#define VPNFLEET_SERVICES_CONTROLLER_STORE_SECRET_BOX_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/random/rng.h"
#include "services/controller/store/store.h"

namespace vpnfleet::controller {

class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;

  // Reads the key file, or creates it with fresh random bytes (mode 0600).
  static absl::StatusOr<SecretBox> FromKeyFile(const std::string& path, Rng* rng);
  // `key` is kKeySize bytes.
  static absl::StatusOr<SecretBox> FromKey(std::string key, Rng* rng);

  SecretBox(SecretBox&& other) noexcept;
  SecretBox& operator=(SecretBox&&) = delete;
  SecretBox(const SecretBox&) = delete;
  ~SecretBox();

  // nonce (12) | ciphertext | tag (16).
  std::string Seal(const std::string& plaintext, const std::string& associated) const;
  absl::StatusOr<std::string> Open(const std::string& sealed, const std::string& associated) const;

 private:
  SecretBox(std::string key, Rng* rng) : key_(std::move(key)), rng_(rng) {}
  std::string key_;
  Rng* rng_;
};

// Controller replicas (and a controller restarted with another key file)
// must seal with the key the store's secrets were sealed with: the store
// keeps a value sealed under it, which must open. `may_record`: write that
// value when the store has none yet (a leader or the only replica).
absl::Status CheckSealingKey(Store& store, const SecretBox& box, bool may_record, int64_t unix_seconds);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_STORE_SECRET_BOX_H_
