#include "services/dataplane/crypto/icv_mac.h"

#include <cstring>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/algorithms.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

// Digest and ICV length (the truncated HMAC) of each integrity transform.
bool DigestFor(cv1::IntegrityAlgorithm alg, const char** digest, uint8_t* icv) {
  switch (alg) {
    case cv1::INTEGRITY_HMAC_MD5_96: *digest = "MD5"; *icv = 12; return true;
    case cv1::INTEGRITY_HMAC_SHA1_96: *digest = "SHA1"; *icv = 12; return true;
    case cv1::INTEGRITY_HMAC_SHA2_256_128: *digest = "SHA2-256"; *icv = 16; return true;
    case cv1::INTEGRITY_HMAC_SHA2_384_192: *digest = "SHA2-384"; *icv = 24; return true;
    case cv1::INTEGRITY_HMAC_SHA2_512_256: *digest = "SHA2-512"; *icv = 32; return true;
    default: return false;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<IcvMac>> IcvMac::Create(cv1::IntegrityAlgorithm alg,
                                                       absl::string_view key, bool allow_legacy) {
  const char* digest = nullptr;
  uint8_t icv = 0;
  if (!DigestFor(alg, &digest, &icv)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an HMAC integrity algorithm: ", cv1::IntegrityAlgorithm_Name(alg)));
  }
  if (crypto::IsLegacy(alg) && !allow_legacy) {
    return absl::InvalidArgumentError("HMAC-MD5 while legacy algorithms are not allowed");
  }
  if (key.size() != crypto::IntegrityKeyLength(alg)) {
    return absl::InvalidArgumentError("integrity key has the wrong length");
  }
  std::unique_ptr<IcvMac> m(new IcvMac());
  m->icv_size_ = icv;
  m->alg_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  m->ctx_ = m->alg_ ? EVP_MAC_CTX_new(m->alg_) : nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end()};
  if (m->ctx_ == nullptr ||
      EVP_MAC_init(m->ctx_, reinterpret_cast<const uint8_t*>(key.data()), key.size(), params) !=
          1) {
    return absl::InternalError("OpenSSL refused the HMAC key");
  }
  return m;
}

IcvMac::~IcvMac() {
  EVP_MAC_CTX_free(ctx_);  // cleanses the keyed state
  EVP_MAC_free(alg_);
}

bool IcvMac::Begin() noexcept { return EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1; }

bool IcvMac::Update(const uint8_t* data, size_t size) noexcept {
  return size == 0 || EVP_MAC_update(ctx_, data, size) == 1;
}

bool IcvMac::Finish(uint8_t* icv) noexcept {
  uint8_t full[EVP_MAX_MD_SIZE];
  size_t out = 0;
  if (EVP_MAC_final(ctx_, full, &out, sizeof full) != 1 || out < icv_size_) return false;
  // RFC 2404 §2 / RFC 4868 §2.3: the ICV is the leftmost bits.
  std::memcpy(icv, full, icv_size_);
  OPENSSL_cleanse(full, sizeof full);
  return true;
}

}  // namespace vpnfleet::dataplane
