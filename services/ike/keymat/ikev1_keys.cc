#include "services/ike/keymat/ikev1_keys.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/hmac.h"
#include "common/crypto/zeroize.h"

namespace vpnfleet::ike::ikev1 {
namespace {

// KEYMAT longer than this is no key any cipher and MAC pair needs.
constexpr size_t kMaxKeymat = 512;

std::string Cat(std::initializer_list<absl::string_view> parts) {
  std::string s;
  for (absl::string_view p : parts) s.append(p.data(), p.size());
  return s;
}

}  // namespace

const char* HashName(uint16_t id) {
  switch (static_cast<HashId>(id)) {
    case HashId::kMd5: return "md5";
    case HashId::kSha1: return "sha";
    case HashId::kSha2_256: return "sha256";
    case HashId::kSha2_384: return "sha384";
    case HashId::kSha2_512: return "sha512";
  }
  return "unknown";
}

absl::StatusOr<Hash> Hash::ForId(uint16_t id, bool allow_legacy) {
  switch (static_cast<HashId>(id)) {
    case HashId::kMd5:
      if (!allow_legacy) return absl::InvalidArgumentError("hash md5 is legacy");
      return Hash(id, 16, "MD5");
    case HashId::kSha1: return Hash(id, 20, "SHA1");
    case HashId::kSha2_256: return Hash(id, 32, "SHA256");
    case HashId::kSha2_384: return Hash(id, 48, "SHA384");
    case HashId::kSha2_512: return Hash(id, 64, "SHA512");
  }
  return absl::InvalidArgumentError(absl::StrCat("phase-1 hash ", id, " is not supported"));
}

SecretBytes Hash::Prf(absl::string_view key, absl::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  const size_t n = crypto::Hmac(name_, key.data(), key.size(), data.data(), data.size(), out);
  SecretBytes r(std::string(reinterpret_cast<char*>(out), n));
  OPENSSL_cleanse(out, sizeof out);
  return r;
}

std::string Hash::Digest(absl::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD* md = EVP_MD_fetch(nullptr, name_, nullptr);
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) != 1) n = 0;
  EVP_MD_free(md);
  return std::string(reinterpret_cast<char*>(out), n);
}

SecretBytes SkeyidPsk(const Hash& h, absl::string_view psk, absl::string_view ni,
                      absl::string_view nr) {
  return h.Prf(psk, Cat({ni, nr}));
}

SecretBytes SkeyidSignature(const Hash& h, absl::string_view ni, absl::string_view nr,
                            absl::string_view gxy) {
  std::string key = Cat({ni, nr});
  SecretBytes out = h.Prf(key, gxy);
  crypto::ZeroizeString(&key);
  return out;
}

SecretBytes SkeyidEncryptedNonces(const Hash& h, absl::string_view ni, absl::string_view nr,
                                  absl::string_view cky_i, absl::string_view cky_r) {
  std::string key = h.Digest(Cat({ni, nr}));
  SecretBytes out = h.Prf(key, Cat({cky_i, cky_r}));
  crypto::ZeroizeString(&key);
  return out;
}

absl::StatusOr<Phase1Keys> DerivePhase1(const Hash& h, SecretBytes skeyid,
                                        absl::string_view gxy, absl::string_view cky_i,
                                        absl::string_view cky_r, absl::string_view gxi,
                                        absl::string_view gxr, size_t key_size,
                                        size_t block_size) {
  if (key_size == 0 || key_size > 64 || block_size == 0 || block_size > h.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no phase-1 keys of ", key_size, " octets in blocks of ", block_size,
                     " from ", HashName(h.id())));
  }
  Phase1Keys k;
  k.skeyid = std::move(skeyid);
  std::string in = Cat({gxy, cky_i, cky_r, absl::string_view("\0", 1)});
  k.skeyid_d = h.Prf(k.skeyid.view(), in);
  crypto::ZeroizeString(&in);
  in = Cat({k.skeyid_d.view(), gxy, cky_i, cky_r, absl::string_view("\1", 1)});
  k.skeyid_a = h.Prf(k.skeyid.view(), in);
  crypto::ZeroizeString(&in);
  in = Cat({k.skeyid_a.view(), gxy, cky_i, cky_r, absl::string_view("\2", 1)});
  k.skeyid_e = h.Prf(k.skeyid.view(), in);
  crypto::ZeroizeString(&in);
  if (k.skeyid_e.size() >= key_size) {
    k.encryption_key = k.skeyid_e.Sub(0, key_size);
  } else {
    // Appendix B: Ka = K1 | K2 | K3 ..., K1 = prf(SKEYID_e, 0), Kn+1 = prf(SKEYID_e, Kn).
    std::string ka;
    SecretBytes kn = h.Prf(k.skeyid_e.view(), absl::string_view("\0", 1));
    while (true) {
      ka.append(kn.view().data(), kn.size());
      if (ka.size() >= key_size) break;
      kn = h.Prf(k.skeyid_e.view(), kn.view());
    }
    k.encryption_key = SecretBytes(ka.substr(0, key_size));
    crypto::ZeroizeString(&ka);
  }
  k.iv = h.Digest(Cat({gxi, gxr})).substr(0, block_size);
  return k;
}

std::string PhaseOneHash(const Hash& h, absl::string_view skeyid, bool of_initiator,
                         absl::string_view gxi, absl::string_view gxr, absl::string_view cky_i,
                         absl::string_view cky_r, absl::string_view sai_b,
                         absl::string_view id_b) {
  const std::string in = of_initiator ? Cat({gxi, gxr, cky_i, cky_r, sai_b, id_b})
                                      : Cat({gxr, gxi, cky_r, cky_i, sai_b, id_b});
  return std::string(h.Prf(skeyid, in).view());
}

std::string MessageIdBytes(uint32_t message_id) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(message_id >> (24 - 8 * i));
  return s;
}

std::string Phase2Iv(const Hash& h, absl::string_view last_phase1_block, uint32_t message_id,
                     size_t block_size) {
  return h.Digest(Cat({last_phase1_block, MessageIdBytes(message_id)})).substr(0, block_size);
}

std::string ExchangeHash(const Hash& h, absl::string_view skeyid_a, uint32_t message_id,
                         absl::string_view rest) {
  return std::string(h.Prf(skeyid_a, Cat({MessageIdBytes(message_id), rest})).view());
}

std::string QuickModeHash3(const Hash& h, absl::string_view skeyid_a, uint32_t message_id,
                           absl::string_view ni, absl::string_view nr) {
  return std::string(
      h.Prf(skeyid_a, Cat({absl::string_view("\0", 1), MessageIdBytes(message_id), ni, nr}))
          .view());
}

absl::StatusOr<SecretBytes> QuickModeKeymat(const Hash& h, absl::string_view skeyid_d,
                                            absl::string_view gxy_qm, uint8_t protocol,
                                            uint32_t spi, absl::string_view ni,
                                            absl::string_view nr, size_t length) {
  if (length > kMaxKeymat) {
    return absl::InvalidArgumentError(absl::StrCat("KEYMAT of ", length, " octets"));
  }
  const char proto = static_cast<char>(protocol);
  std::string seed = Cat({gxy_qm, absl::string_view(&proto, 1), MessageIdBytes(spi), ni, nr});
  std::string out;
  SecretBytes kn = h.Prf(skeyid_d, seed);
  while (true) {
    out.append(kn.view().data(), kn.size());
    if (out.size() >= length) break;
    std::string in = Cat({kn.view(), seed});
    kn = h.Prf(skeyid_d, in);
    crypto::ZeroizeString(&in);
  }
  crypto::ZeroizeString(&seed);
  SecretBytes r(out.substr(0, length));
  crypto::ZeroizeString(&out);
  return r;
}

}  // namespace vpnfleet::ike::ikev1
