// Owning pointers for the OpenSSL objects that keys and certificates are
// made of (the CA, the IKE daemon's certificate authentication), so that
// every early return frees what was made.
#ifndef VPNFLEET_COMMON_CRYPTO_OPENSSL_PTR_H_
#define VPNFLEET_COMMON_CRYPTO_OPENSSL_PTR_H_

#include <memory>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace vpnfleet::ossl {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};

using EvpKey = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL, X509_CRL_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OpenSslDeleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpenSslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;

}  // namespace vpnfleet::ossl

#endif  // VPNFLEET_COMMON_CRYPTO_OPENSSL_PTR_H_
