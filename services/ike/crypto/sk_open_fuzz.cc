// Fuzz target for what happens to an Encrypted payload: opening it (ICV,
// decryption, padding) for an AEAD and a CBC+HMAC suite, then decoding
// and validating the payloads inside. Inputs are raw datagrams, or edits of
// sealed messages whose inner chain comes from the input, so that mutated
// plaintext reaches the inner decoder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "services/ike/crypto/sk_cipher.h"

using namespace vpnfleet::ike;

namespace {

SkCipher MakeCipher(uint16_t encr, uint16_t bits, uint16_t integ) {
  auto l = SkCipher::KeyLengths(encr, bits, integ);
  return std::move(*SkCipher::Create(encr, bits, integ, SecretBytes(std::string(l->encr, 'k')),
                                     SecretBytes(std::string(l->integ, 'a'))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const SkCipher* gcm = new SkCipher(MakeCipher(kEncrAesGcm16, 128, 0));
  static const SkCipher* cbc = new SkCipher(MakeCipher(kEncrAesCbc, 128, kIntegHmacSha2_256_128));
  if (size == 0) return 0;
  const SkCipher& c = (data[0] & 1) ? *gcm : *cbc;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string wire;
  if (data[0] & 2) {
    wire = rest;
  } else {
    // The input is the plaintext chain: sealed, then opened.
    v2::Header h;
    h.initiator_spi = 1;
    h.responder_spi = 2;
    h.exchange_type = 35;
    auto sealed = c.Seal(h, size > 1 ? data[1] : 0, rest, std::string(c.iv_size(), 'i'));
    if (!sealed.ok()) return 0;
    wire = *sealed;
  }
  auto opened = c.Open(wire);
  if (!opened.ok()) {
    if (!(data[0] & 2)) __builtin_trap();  // what we sealed must open
    return 0;
  }
  auto inner = v2::DecodePayloads(opened->first_inner, opened->inner);
  if (inner.ok()) {
    v2::Message m;
    m.header = opened->header;
    m.payloads = std::move(*inner);
    (void)v2::ValidateMessage(m);
  }
  return 0;
}
