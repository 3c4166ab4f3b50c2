#include "services/ike/auth/test_certificates.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace vpnfleet::ike::auth::testcerts {
namespace {

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

template <typename Write>
std::string ToPem(Write write) {
  std::unique_ptr<BIO, ossl::OpenSslDeleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  write(bio.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

ossl::EvpKey NewEcKey() { return ossl::EvpKey(EVP_EC_gen("P-256")); }

ossl::X509Ptr MakeCertificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                              EVP_PKEY* issuer_key) {
  ossl::X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  const std::time_t now = std::time(nullptr);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), spec.not_before != 0 ? spec.not_before : now - 3600);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), spec.not_after != 0 ? spec.not_after : now + 86400);
  X509_set_pubkey(x.get(), key);
  X509* signer = issuer != nullptr ? issuer : x.get();
  if (issuer == nullptr) {
    AddExtension(x.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(x.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    AddExtension(x.get(), signer, NID_key_usage, "critical,digitalSignature");
  }
  if (spec.aia != nullptr) AddExtension(x.get(), signer, NID_info_access, spec.aia);
  X509_sign(x.get(), issuer_key, EVP_sha256());
  return x;
}

std::string CertificatePem(X509* cert) {
  return ToPem([cert](BIO* b) { PEM_write_bio_X509(b, cert); });
}

std::string CertificateDer(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  if (n <= 0) return "";
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

std::string PrivateKeyPem(EVP_PKEY* key) {
  return ToPem([key](BIO* b) {
    PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

}  // namespace vpnfleet::ike::auth::testcerts
