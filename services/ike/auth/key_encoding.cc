#include "services/ike/auth/key_encoding.h"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include <memory>

#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::ike::auth {
namespace {
using EcSigPtr = std::unique_ptr<ECDSA_SIG, ossl::OpenSslDeleter<ECDSA_SIG, ECDSA_SIG_free>>;
}  // namespace

bool IsRsa(const EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA; }
bool IsEc(const EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC; }

size_t EcScalarSize(const EVP_PKEY* key) {
  return static_cast<size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
}

std::string EcDerToRaw(const std::string& der, size_t scalar) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return "";
  std::string raw(2 * scalar, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, static_cast<int>(scalar)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + scalar, static_cast<int>(scalar)) < 0) {
    return "";
  }
  return raw;
}

std::string EcRawToDer(absl::string_view raw) {
  const size_t half = raw.size() / 2;
  const auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(in, static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(in + half, static_cast<int>(half), nullptr);
  EcSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || !sig || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return "";
  }
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig.get(), &der);
  if (n <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

}  // namespace vpnfleet::ike::auth
