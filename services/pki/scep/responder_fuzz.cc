// Fuzz target for the SCEP responder behind PKIOperation: whatever arrives,
// it answers (a CertRep or HTTP 400) and never crashes. Inputs are raw, or
// edits of a valid PKCSReq from our client so that mutations get past the
// CMS parser into the enrollment rules.
#include <cstddef>
#include <cstdint>
#include <string>

#include <openssl/err.h>

#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"
#include "services/pki/scep/responder.h"

namespace {

using namespace vpnfleet::pki;

struct World {
  std::unique_ptr<TestPki> pki;
  std::unique_ptr<scep::Responder> responder;
  std::string request;
};

World& TheWorld() {
  static World* w = [] {
    auto* world = new World;
    world->pki = TestPki::Make();
    world->responder = std::make_unique<scep::Responder>(
        world->pki->enrollment.get(), world->pki->ca->certificate(), world->pki->ca->key());
    auto ch = world->pki->enrollment->IssueChallenge("fuzz", "", {}, absl::Hours(1), false);
    EvpKey key = std::move(*GenerateKey(vpnfleet::pki::v1::KEY_ALGORITHM_ECDSA_P256));
    X509Ptr self = std::move(*SelfSigned(key.get(), "CN=fuzz"));
    const std::string csr = *BuildCsr({"CN=fuzz", {}, ch->password}, key.get());
    const std::string env = *scep::SealEnvelope(csr, {world->pki->ca->certificate()},
                                                scep::ContentCipher::kAes128Cbc);
    scep::PkiMessageFields f;
    f.type = scep::MessageType::kPkcsReq;
    f.transaction_id = "fuzz";
    f.sender_nonce = "0123456789abcdef";
    world->request = *scep::BuildPkiMessage(f, env, self.get(), key.get());
    return world;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  World& w = TheWorld();
  std::string input;
  if (data[0] & 1) {
    input.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  } else {
    input = w.request;
    for (size_t i = 1; i + 2 < size; i += 3) {
      const size_t at = (static_cast<size_t>(data[i]) << 8 | data[i + 1]) % input.size();
      input[at] = static_cast<char>(data[i + 2]);
    }
  }
  const char* ops[] = {"PKIOperation", "GetCACaps", "GetCACert"};
  scep::ScepReply r = w.responder->Handle({ops[size % 3 == 0 ? size % 7 % 3 : 0], input});
  if (r.http_status != 200 && r.http_status != 400) __builtin_trap();
  ERR_clear_error();  // a kept error queue looks like a leak to libFuzzer
  return 0;
}
