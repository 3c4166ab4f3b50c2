// Fuzz target for what a peer's IKE_AUTH hands to certificate
// authentication: CERT payload data (a chain checked against a trust
// anchor), ID payloads matched against a certificate, AUTH payloads of
// every method verified with it, DN identities printed; and the PEM text a
// trustpoint file may hold. The first input octet picks the path. Nothing
// may crash; nothing but the real key verifies.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include <openssl/err.h>

#include "services/ike/auth/certificates.h"
#include "services/ike/auth/test_certificates.h"

namespace {

using namespace vpnfleet;
using namespace vpnfleet::ike;

// A self-signed P-256 CA made once per process: the anchor, and the
// certificate ID and AUTH payloads are checked against.
struct Fixture {
  ossl::X509Ptr cert;
  std::shared_ptr<const auth::TrustStore> trust;

  Fixture() {
    ossl::EvpKey key = auth::testcerts::NewEcKey();
    cert = auth::testcerts::MakeCertificate(
        {"fuzz", 1, 0, std::time(nullptr) + 3600L * 24 * 365 * 50}, key.get(), nullptr, key.get());
    const std::string pem = auth::testcerts::CertificatePem(cert.get());
    trust = *auth::TrustStore::Make({{"FUZZ", pem, "", false}});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* fx = new Fixture();
  if (size < 2) return 0;
  const std::string rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  switch (data[0] % 5) {
    case 0: {  // a chain: the input split in two CERT payloads at octet data[1]
      const size_t cut = std::min<size_t>(data[1] * 8u, rest.size());
      v2::CertPayload leaf{auth::kCertX509Signature, rest.substr(0, cut == 0 ? rest.size() : cut)};
      v2::CertPayload second{auth::kCertX509Signature, rest.substr(cut)};
      auto v = fx->trust->Verify({&leaf, &second}, absl::Now());
      auto w = fx->trust->Verify({&leaf}, absl::Now());
      (void)v;
      (void)w;
      break;
    }
    case 1:
      (void)auth::IdMatchesCertificate(v2::IdPayload{data[1], rest}, fx->cert.get());
      break;
    case 2: {
      const absl::Status s =
          auth::VerifySignature(fx->cert.get(), v2::AuthPayload{data[1], rest}, "signed octets");
      if (s.ok()) __builtin_trap();  // only the CA's key can sign
      break;
    }
    case 3: {
      auto t = auth::TrustStore::Make({{"X", rest, rest, true}});
      auto c = auth::LocalCredential::FromPem("X", rest, rest);
      (void)t;
      (void)c;
      break;
    }
    case 4:
      (void)auth::DnText(rest);
      break;
  }
  ERR_clear_error();  // a kept error queue looks like a leak to libFuzzer
  return 0;
}
