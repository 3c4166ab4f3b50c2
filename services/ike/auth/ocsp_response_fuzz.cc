// Fuzz target: any bytes as the answer to an OCSP question must give a
// verdict (never a crash), and never "good" unless it verifies.
#include <openssl/ec.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "services/ike/auth/ocsp.h"
#include "services/ike/auth/test_certificates.h"

namespace {

struct World {
  vpnfleet::ike::auth::OcspQuery query;
};

World* Make() {
  auto* w = new World;
  vpnfleet::ossl::EvpKey key = vpnfleet::ike::auth::testcerts::NewEcKey();
  vpnfleet::ossl::X509Ptr owned = vpnfleet::ike::auth::testcerts::MakeCertificate({"fuzz CA", 1}, key.get(),
                                                                        nullptr, key.get());
  X509* ca = owned.get();
  X509_STORE* trust = X509_STORE_new();
  X509_STORE_add_cert(trust, ca);
  auto q = vpnfleet::ike::auth::MakeOcspQuery(ca, ca, trust, "http://127.0.0.1:1/ocsp");
  if (!q.ok()) abort();
  w->query = *q;
  X509_STORE_free(trust);
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
