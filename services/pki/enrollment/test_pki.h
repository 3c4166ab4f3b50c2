// For tests and fuzz targets: a complete PKI in memory — a fresh root, an
// in-memory SQLite store and the enrollment rules over them — on a fake
// clock that starts now (so that OpenSSL, which checks against real time,
// agrees with it).
#ifndef VPNFLEET_SERVICES_PKI_ENROLLMENT_TEST_PKI_H_
#define VPNFLEET_SERVICES_PKI_ENROLLMENT_TEST_PKI_H_

#include <memory>
#include <optional>

#include "services/pki/enrollment/enrollment.h"

namespace vpnfleet::pki {

struct TestPki {
  FakeClock clock{absl::Now()};
  std::unique_ptr<PkiStore> store;
  std::optional<CertificateAuthority> ca;
  std::unique_ptr<Enrollment> enrollment;

  static std::unique_ptr<TestPki> Make(
      vpnfleet::pki::v1::KeyAlgorithm alg = vpnfleet::pki::v1::KEY_ALGORITHM_ECDSA_P256,
      EnrollmentOptions options = {}) {
    auto pki = std::make_unique<TestPki>();
    auto store = PkiStore::Open(":memory:");
    if (!store.ok()) return nullptr;
    pki->store = std::move(*store);
    RootOptions root;
    root.subject = "CN=vpnfleet test root,O=vpnfleet";
    root.key_algorithm = alg;
    auto ca = CertificateAuthority::CreateRoot(root, &pki->clock);
    if (!ca.ok()) return nullptr;
    pki->ca.emplace(std::move(*ca));
    if (options.crl_urls.empty()) options.crl_urls = {"http://127.0.0.1:1/crl/ca.crl"};
    pki->enrollment =
        std::make_unique<Enrollment>(&*pki->ca, pki->store.get(), &pki->clock, options);
    return pki;
  }
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_ENROLLMENT_TEST_PKI_H_
