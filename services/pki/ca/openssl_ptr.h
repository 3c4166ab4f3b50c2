// Owning pointers for the OpenSSL objects the CA handles, so that every
// early return frees what was made.
#ifndef VPNFLEET_SERVICES_PKI_CA_OPENSSL_PTR_H_
#define VPNFLEET_SERVICES_PKI_CA_OPENSSL_PTR_H_

#include <memory>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace vpnfleet::pki {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};

using EvpKey = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpenSslDeleter<X509_REQ, X509_REQ_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL, X509_CRL_free>>;

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_CA_OPENSSL_PTR_H_
