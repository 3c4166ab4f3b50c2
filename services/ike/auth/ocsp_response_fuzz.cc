// Fuzz target: any bytes as the answer to an OCSP question must give a
// verdict (never a crash), and never "good" unless it verifies.
#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "services/ike/auth/ocsp.h"

namespace {

struct World {
  vpnfleet::ike::auth::OcspQuery query;
};

World* Make() {
  auto* w = new World;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* ca = X509_new();
  X509_set_version(ca, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(ca), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("fuzz CA"), -1, -1, 0);
  X509_set_issuer_name(ca, X509_get_subject_name(ca));
  X509_gmtime_adj(X509_getm_notBefore(ca), -3600);
  X509_gmtime_adj(X509_getm_notAfter(ca), 86400);
  X509_set_pubkey(ca, key);
  X509_sign(ca, key, EVP_sha256());
  X509_STORE* trust = X509_STORE_new();
  X509_STORE_add_cert(trust, ca);
  auto q = vpnfleet::ike::auth::MakeOcspQuery(ca, ca, trust, "http://127.0.0.1:1/ocsp");
  if (!q.ok()) abort();
  w->query = *q;
  X509_STORE_free(trust);
  X509_free(ca);
  EVP_PKEY_free(key);
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = Make();
  auto a = vpnfleet::ike::auth::ReadOcspResponse(
      absl::string_view(reinterpret_cast<const char*>(data), size), world->query, absl::Now());
  // Random bytes cannot carry our CA's signature.
  if (a.verdict != vpnfleet::ike::auth::OcspVerdict::kUnavailable) abort();
  return 0;
}
