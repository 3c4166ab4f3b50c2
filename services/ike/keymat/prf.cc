#include "services/ike/keymat/prf.h"

#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/hmac.h"

namespace vpnfleet::ike {
namespace {

constexpr size_t kMaxPrfPlusBlocks = 255;

std::string SpiBytes(uint64_t spi) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[i] = static_cast<char>(spi & 0xff);
    spi >>= 8;
  }
  return s;
}

}  // namespace

absl::StatusOr<Prf> Prf::ForId(uint16_t transform_id) {
  switch (static_cast<PrfId>(transform_id)) {
    case PrfId::kHmacSha1:
      return Prf(PrfId::kHmacSha1, 20, "SHA1");
    case PrfId::kHmacSha2_256:
      return Prf(PrfId::kHmacSha2_256, 32, "SHA256");
    case PrfId::kHmacSha2_384:
      return Prf(PrfId::kHmacSha2_384, 48, "SHA384");
    case PrfId::kHmacSha2_512:
      return Prf(PrfId::kHmacSha2_512, 64, "SHA512");
  }
  return absl::InvalidArgumentError(absl::StrCat("PRF transform ", transform_id, " is not supported"));
}

SecretBytes Prf::Compute(absl::string_view key, absl::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  const size_t n = crypto::Hmac(digest_, key.data(), key.size(), data.data(), data.size(), out);
  SecretBytes r(std::string(reinterpret_cast<char*>(out), n));
  OPENSSL_cleanse(out, sizeof out);
  return r;
}

absl::StatusOr<SecretBytes> Prf::Plus(absl::string_view key, absl::string_view seed,
                                      size_t length) const {
  // T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n); the counter is one
  // octet, so prf+ ends at 255 blocks.
  if (length > kMaxPrfPlusBlocks * size_) {
    return absl::InvalidArgumentError(absl::StrCat("prf+ cannot give ", length, " octets"));
  }
  std::string out;
  std::string block;
  for (size_t n = 1; out.size() < length; ++n) {
    std::string input = block;
    input.append(seed.data(), seed.size());
    input.push_back(static_cast<char>(n));
    SecretBytes t = Compute(key, input);
    crypto::ZeroizeString(&input);
    block.assign(t.view().data(), t.size());
    out.append(block);
  }
  crypto::ZeroizeString(&block);
  SecretBytes result(out.substr(0, length));
  crypto::ZeroizeString(&out);
  return result;
}

SecretBytes SkeySeed(const Prf& prf, absl::string_view ni, absl::string_view nr,
                     absl::string_view shared_secret) {
  return prf.Compute(absl::StrCat(ni, nr), shared_secret);
}

absl::StatusOr<IkeSaKeys> DeriveIkeSaKeys(const Prf& prf, absl::string_view skeyseed,
                                          absl::string_view ni, absl::string_view nr,
                                          uint64_t spi_i, uint64_t spi_r,
                                          const IkeKeyLengths& len) {
  const size_t p = prf.size();
  const size_t total = 3 * p + 2 * len.integ + 2 * len.encr;
  auto km = prf.Plus(skeyseed, absl::StrCat(ni, nr, SpiBytes(spi_i), SpiBytes(spi_r)), total);
  if (!km.ok()) return km.status();
  IkeSaKeys k;
  size_t at = 0;
  auto take = [&](size_t n) {
    SecretBytes s = km->Sub(at, n);
    at += n;
    return s;
  };
  k.sk_d = take(p);
  k.sk_ai = take(len.integ);
  k.sk_ar = take(len.integ);
  k.sk_ei = take(len.encr);
  k.sk_er = take(len.encr);
  k.sk_pi = take(p);
  k.sk_pr = take(p);
  return k;
}

SecretBytes RekeySkeySeed(const Prf& old_prf, absl::string_view old_sk_d,
                          absl::string_view new_shared_secret, absl::string_view ni,
                          absl::string_view nr) {
  std::string data = absl::StrCat(new_shared_secret, ni, nr);
  SecretBytes r = old_prf.Compute(old_sk_d, data);
  crypto::ZeroizeString(&data);  // it holds g^ir
  return r;
}

absl::StatusOr<SecretBytes> ChildKeyMaterial(const Prf& prf, absl::string_view sk_d,
                                             absl::string_view new_shared_secret,
                                             absl::string_view ni, absl::string_view nr,
                                             size_t length) {
  std::string seed = absl::StrCat(new_shared_secret, ni, nr);
  auto r = prf.Plus(sk_d, seed, length);
  crypto::ZeroizeString(&seed);  // it may hold g^ir
  return r;
}

}  // namespace vpnfleet::ike
