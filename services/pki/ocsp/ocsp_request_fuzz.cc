// Fuzz target: any bytes as an OCSP request to a responder with one issued
// certificate must give a DER OCSPResponse (never a crash, never nothing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"
#include "services/pki/ocsp/ocsp_responder.h"

namespace {

struct World {
  std::unique_ptr<vpnfleet::pki::TestPki> pki;
  std::unique_ptr<vpnfleet::pki::OcspResponder> responder;
};

World* Make() {
  auto* w = new World;
  w->pki = vpnfleet::pki::TestPki::Make();
  w->responder = std::make_unique<vpnfleet::pki::OcspResponder>(
      &*w->pki->ca, vpnfleet::pki::StoreLookup(w->pki->store.get()), &w->pki->clock);
  auto key = vpnfleet::pki::GenerateKey(vpnfleet::pki::v1::KEY_ALGORITHM_ECDSA_P256);
  (void)w->pki->enrollment->IssueIdentity(
      *vpnfleet::pki::BuildCsr({"CN=fuzz", {}, ""}, key->get()), "operator", "fuzz",
      absl::ZeroDuration());
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = Make();
  const std::string out = world->responder->Respond(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (out.empty()) abort();
  return 0;
}
