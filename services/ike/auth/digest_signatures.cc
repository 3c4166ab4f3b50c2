// IKEv1's signatures (RFC 2409 §5.1, RFC 4754 §7): HASH_I and HASH_R are
// signed as they are, without a DigestInfo for RSA and as r|s for ECDSA,
// which is what strongSwan and IOS send and expect. Declared with the rest
// of certificate authentication in certificates.h.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "services/ike/auth/certificates.h"
#include "services/ike/auth/key_encoding.h"

namespace vpnfleet::ike::auth {

int LocalCredential::ec_bits() const {
  return IsEc(key_.get()) ? EVP_PKEY_get_bits(key_.get()) : 0;
}

absl::StatusOr<std::string> LocalCredential::SignDigest(absl::string_view digest) const {
  // No message digest is set on the context: OpenSSL then signs the input
  // as given (PKCS#1 v1.5 type 1 padding without a DigestInfo for RSA, the
  // input as e for ECDSA).
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      (IsRsa(key_.get()) && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, in, digest.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot sign with the trustpoint's key");
  }
  std::string sig(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                    digest.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("cannot sign with the trustpoint's key");
  }
  sig.resize(len);
  if (IsRsa(key_.get())) return sig;
  std::string raw = EcDerToRaw(sig, EcScalarSize(key_.get()));
  if (raw.empty()) return absl::InternalError("cannot encode the ECDSA signature");
  return raw;
}

absl::Status VerifyDigestSignature(X509* cert, bool ecdsa, absl::string_view digest,
                                   absl::string_view sig) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return absl::InvalidArgumentError("the certificate has no usable public key");
  std::string der;
  if (ecdsa) {
    if (!IsEc(key)) return absl::InvalidArgumentError("ECDSA signature from a non-ECDSA certificate");
    if (sig.size() != 2 * EcScalarSize(key)) {
      return absl::InvalidArgumentError("ECDSA signature of the wrong size");
    }
    der = EcRawToDer(sig);
    if (der.empty()) return absl::InvalidArgumentError("malformed ECDSA signature");
    sig = der;
  } else if (!IsRsa(key)) {
    return absl::InvalidArgumentError("RSA signature from a non-RSA certificate");
  }
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      (!ecdsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1)) {
    ERR_clear_error();
    return absl::InternalError("cannot set up signature verification");
  }
  const int ok = EVP_PKEY_verify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()),
                                 sig.size(), reinterpret_cast<const unsigned char*>(digest.data()),
                                 digest.size());
  ERR_clear_error();
  if (ok != 1) return absl::UnauthenticatedError("the signature does not verify");
  return absl::OkStatus();
}

}  // namespace vpnfleet::ike::auth
