// Fuzz target for the SCEP codec: pkiMessage parsing and verification,
// degenerate PKCS#7, IssuerAndSerialNumber/IssuerAndSubject and envelopes.
// The first byte chooses: raw input, or edits applied to a valid signed
// request (so mutations reach the attribute and signature checks).
#include <cstddef>
#include <cstdint>
#include <string>

#include <openssl/err.h>

#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/scep/pki_message.h"

namespace {

using namespace vpnfleet::pki;

struct Seed {
  EvpKey key;
  X509Ptr cert;
  std::string message;
  std::string envelope;
};

const Seed& TheSeed() {
  static Seed* s = [] {
    auto* seed = new Seed;
    seed->key = std::move(*GenerateKey(vpnfleet::pki::v1::KEY_ALGORITHM_ECDSA_P256));
    seed->cert = std::move(*SelfSigned(seed->key.get(), "CN=fuzz"));
    seed->envelope =
        *scep::SealEnvelope("csr", {seed->cert.get()}, scep::ContentCipher::kAes128Cbc);
    scep::PkiMessageFields f;
    f.type = scep::MessageType::kPkcsReq;
    f.transaction_id = "fuzz";
    f.sender_nonce = "0123456789abcdef";
    seed->message = *scep::BuildPkiMessage(f, seed->envelope, seed->cert.get(), seed->key.get());
    return seed;
  }();
  return *s;
}

std::string Edited(const std::string& base, const uint8_t* data, size_t size) {
  std::string out = base;
  for (size_t i = 0; i + 2 < size && !out.empty(); i += 3) {
    const size_t at = (static_cast<size_t>(data[i]) << 8 | data[i + 1]) % out.size();
    out[at] = static_cast<char>(data[i + 2]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Seed& seed = TheSeed();
  const uint8_t mode = data[0] % 3;
  ++data;
  --size;
  std::string input;
  if (mode == 0) {
    input.assign(reinterpret_cast<const char*>(data), size);
  } else if (mode == 1) {
    input = Edited(seed.message, data, size);
  } else {
    input = Edited(seed.envelope, data, size);
  }
  auto m = scep::ParsePkiMessage(input);
  if (m.ok()) (void)scep::VerifyPkiMessage(*m);
  (void)scep::ParseDegenerate(input);
  (void)scep::DecodeIssuerAndSerial(input);
  (void)scep::DecodeIssuerAndSubject(input);
  (void)scep::OpenEnvelope(input, seed.cert.get(), seed.key.get());
  // Refused input leaves entries on OpenSSL's error queue; kept, they look
  // like a leak after every run and libFuzzer scans the heap each time.
  ERR_clear_error();
  return 0;
}
