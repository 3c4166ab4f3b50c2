// Certificates for tests, made in memory with OpenSSL: a CA, leaves with a
// spiffe:// URI name, expired ones, and the CA's CRL. ECDSA P-256 throughout.
#ifndef VPNFLEET_COMMON_TESTING_TEST_CA_H_
#define VPNFLEET_COMMON_TESTING_TEST_CA_H_

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <vector>

#include "common/crypto/openssl_ptr.h"

namespace vpnfleet::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  long serial = 0;
};

class TestCa {
 public:
  explicit TestCa(const std::string& cn) {
    key_ = NewKey();
    cert_.reset(X509_new());
    Fill(cert_.get(), cn, ++serial_, -3600, 86400 * 10, key_.get());
    X509_set_issuer_name(cert_.get(), X509_get_subject_name(cert_.get()));
    AddExt(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_sign(cert_.get(), key_.get(), EVP_sha256());
  }

  std::string cert_pem() const { return CertPem(cert_.get()); }

  // A leaf named `uri` (empty: none) with subject CN=`cn`, valid from
  // now+`from` to now+`until` seconds.
  TestCert Issue(const std::string& cn, const std::string& uri, long from = -60,
                 long until = 86400) {
    ossl::EvpKey key = NewKey();
    ossl::X509Ptr c(X509_new());
    TestCert out;
    out.serial = ++serial_;
    Fill(c.get(), cn, out.serial, from, until, key.get());
    X509_set_issuer_name(c.get(), X509_get_subject_name(cert_.get()));
    if (!uri.empty()) AddExt(c.get(), cert_.get(), NID_subject_alt_name, ("URI:" + uri).c_str());
    AddExt(c.get(), cert_.get(), NID_ext_key_usage, "serverAuth,clientAuth");
    X509_sign(c.get(), key_.get(), EVP_sha256());
    out.cert_pem = CertPem(c.get());
    out.key_pem = KeyPem(key.get());
    return out;
  }

  // The CA's CRL revoking `serials`.
  std::string Crl(const std::vector<long>& serials) {
    X509_CRL* crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(cert_.get()));
    ASN1_TIME* now = ASN1_TIME_adj(nullptr, time(nullptr), 0, -60);
    ASN1_TIME* next = ASN1_TIME_adj(nullptr, time(nullptr), 1, 0);
    X509_CRL_set1_lastUpdate(crl, now);
    X509_CRL_set1_nextUpdate(crl, next);
    for (long s : serials) {
      X509_REVOKED* r = X509_REVOKED_new();
      ASN1_INTEGER* n = ASN1_INTEGER_new();
      ASN1_INTEGER_set(n, s);
      X509_REVOKED_set_serialNumber(r, n);
      X509_REVOKED_set_revocationDate(r, now);
      X509_CRL_add0_revoked(crl, r);
      ASN1_INTEGER_free(n);
    }
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, key_.get(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(bio, crl);
    std::string pem = Drain(bio);
    X509_CRL_free(crl);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
    return pem;
  }

 private:
  static ossl::EvpKey NewKey() { return ossl::EvpKey(EVP_EC_gen("P-256")); }

  static void Fill(X509* c, const std::string& cn, long serial, long from, long until, EVP_PKEY* key) {
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
    X509_gmtime_adj(X509_getm_notBefore(c), from);
    X509_gmtime_adj(X509_getm_notAfter(c), until);
    X509_NAME* name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_pubkey(c, key);
  }

  static void AddExt(X509* c, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, c, nullptr, nullptr, 0);
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(c, e, -1);
    X509_EXTENSION_free(e);
  }

  static std::string Drain(BIO* bio) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<size_t>(n));
    BIO_free(bio);
    return s;
  }
  static std::string CertPem(X509* c) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, c);
    return Drain(bio);
  }
  static std::string KeyPem(EVP_PKEY* k) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
    return Drain(bio);
  }

  ossl::EvpKey key_;
  ossl::X509Ptr cert_;
  long serial_ = 0;
};

}  // namespace vpnfleet::testing

#endif  // VPNFLEET_COMMON_TESTING_TEST_CA_H_
