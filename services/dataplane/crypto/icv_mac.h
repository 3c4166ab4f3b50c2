// The truncated HMACs that ESP (RFC 4303 §2.8) and AH (RFC 4302 §2.6) use as
// integrity check values: HMAC-SHA1-96 (RFC 2404), HMAC-SHA-256-128,
// HMAC-SHA-384-192 and HMAC-SHA-512-256 (RFC 4868), and HMAC-MD5-96
// (RFC 2403, legacy). The key goes into an OpenSSL context once; per packet
// the context is restarted, fed the covered pieces and finished, with no
// allocation. Belongs to the one worker that owns the SA.
#ifndef VPNFLEET_SERVICES_DATAPLANE_CRYPTO_ICV_MAC_H_
#define VPNFLEET_SERVICES_DATAPLANE_CRYPTO_ICV_MAC_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include <openssl/evp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "vpnfleet/common/v1/types.pb.h"

namespace vpnfleet::dataplane {

class IcvMac {
 public:
  static constexpr size_t kMaxIcvSize = 32;

  // Fails for a key of the wrong length, a non-HMAC algorithm, or HMAC-MD5
  // without `allow_legacy`.
  static absl::StatusOr<std::unique_ptr<IcvMac>> Create(
      vpnfleet::common::v1::IntegrityAlgorithm alg, absl::string_view key, bool allow_legacy);
  ~IcvMac();
  IcvMac(const IcvMac&) = delete;
  IcvMac& operator=(const IcvMac&) = delete;

  uint8_t icv_size() const { return icv_size_; }

  // One ICV over several pieces: Begin, Update..., Finish writes icv_size()
  // bytes. False if OpenSSL failed.
  bool Begin() noexcept;
  bool Update(const uint8_t* data, size_t size) noexcept;
  bool Finish(uint8_t* icv) noexcept;

 private:
  IcvMac() = default;
  uint8_t icv_size_ = 0;
  EVP_MAC* alg_ = nullptr;
  EVP_MAC_CTX* ctx_ = nullptr;
};

}  // namespace vpnfleet::dataplane

#endif  // VPNFLEET_SERVICES_DATAPLANE_CRYPTO_ICV_MAC_H_
