#include "services/ike/crypto/sk_cipher.h"

#include <memory>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "common/crypto/hmac.h"

namespace vpnfleet::ike {
namespace {

using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)>;

constexpr size_t kSaltSize = 4;
constexpr size_t kAeadIcv = 16;
constexpr size_t kCbcBlock = 16;

struct Integ {
  uint16_t id;
  const char* digest;
  size_t key, icv;
};
constexpr Integ kIntegs[] = {
    {kIntegHmacSha1_96, "SHA1", 20, 12},
    {kIntegHmacSha2_256_128, "SHA256", 32, 16},
    {kIntegHmacSha2_384_192, "SHA384", 48, 24},
    {kIntegHmacSha2_512_256, "SHA512", 64, 32},
};

const Integ* FindInteg(uint16_t id) {
  for (const Integ& i : kIntegs) {
    if (i.id == id) return &i;
  }
  return nullptr;
}

const char* AesName(uint16_t encr, uint16_t bits) {
  if (encr == kEncrAesCbc) {
    return bits == 128 ? "AES-128-CBC" : bits == 192 ? "AES-192-CBC" : bits == 256 ? "AES-256-CBC" : nullptr;
  }
  return bits == 128 ? "AES-128-GCM" : bits == 192 ? "AES-192-GCM" : bits == 256 ? "AES-256-GCM" : nullptr;
}

absl::Status Refused(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("Encrypted payload refused: ", why));
}

// One EVP pass; for AEAD with `aad` and the tag in/out.
bool Crypt(const char* name, bool encrypt, absl::string_view key, absl::string_view iv,
           absl::string_view aad, absl::string_view in, std::string* out, std::string* tag) {
  CipherPtr cipher(EVP_CIPHER_fetch(nullptr, name, nullptr), EVP_CIPHER_free);
  CtxPtr ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!cipher || !ctx) return false;
  const bool aead = tag != nullptr;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_CipherInit_ex2(ctx.get(), cipher.get(), nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
    return false;
  }
  if (aead && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(iv.size()),
                                  nullptr) != 1) {
    return false;
  }
  if (EVP_CipherInit_ex2(ctx.get(), nullptr, k, reinterpret_cast<const unsigned char*>(iv.data()),
                         encrypt ? 1 : 0, nullptr) != 1) {
    return false;
  }
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  int n = 0;
  if (aead && !aad.empty() &&
      EVP_CipherUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                       static_cast<int>(aad.size())) != 1) {
    return false;
  }
  out->assign(in.size() + kCbcBlock, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out->data());
  if (EVP_CipherUpdate(ctx.get(), o, &n, reinterpret_cast<const unsigned char*>(in.data()),
                       static_cast<int>(in.size())) != 1) {
    return false;
  }
  int total = n;
  if (aead && !encrypt &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(tag->size()),
                          tag->data()) != 1) {
    return false;
  }
  if (EVP_CipherFinal_ex(ctx.get(), o + total, &n) != 1) return false;  // tag mismatch too
  total += n;
  out->resize(static_cast<size_t>(total));
  if (aead && encrypt) {
    tag->assign(kAeadIcv, '\0');
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadIcv, tag->data()) != 1) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<IkeKeyLengths> SkCipher::KeyLengths(uint16_t encr_id, uint16_t key_bits,
                                                   uint16_t integ_id) {
  IkeKeyLengths l;
  switch (encr_id) {
    case kEncrAesCbc: {
      const Integ* integ = FindInteg(integ_id);
      if (AesName(encr_id, key_bits) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("AES-CBC with a ", key_bits, "-bit key"));
      }
      if (integ == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("AES-CBC needs a supported integrity transform, not ", integ_id));
      }
      l.encr = key_bits / 8;
      l.integ = integ->key;
      return l;
    }
    case kEncrAesGcm16:
    case kEncrChaCha20Poly1305: {
      // RFC 5282 §8: combined-mode ciphers are offered without integrity.
      if (integ_id != 0) {
        return absl::InvalidArgumentError("an AEAD cipher takes no integrity transform");
      }
      if (encr_id == kEncrAesGcm16 && AesName(encr_id, key_bits) == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("AES-GCM with a ", key_bits, "-bit key"));
      }
      if (encr_id == kEncrChaCha20Poly1305 && key_bits != 0 && key_bits != 256) {
        return absl::InvalidArgumentError("ChaCha20-Poly1305 has a 256-bit key");
      }
      l.encr = (encr_id == kEncrChaCha20Poly1305 ? 32 : key_bits / 8) + kSaltSize;
      return l;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("encryption transform ", encr_id,
                                                     " is not supported for IKE SAs"));
  }
}

absl::StatusOr<SkCipher> SkCipher::Create(uint16_t encr_id, uint16_t key_bits, uint16_t integ_id,
                                          SecretBytes encr_key, SecretBytes integ_key) {
  auto lengths = KeyLengths(encr_id, key_bits, integ_id);
  if (!lengths.ok()) return lengths.status();
  if (encr_key.size() != lengths->encr || integ_key.size() != lengths->integ) {
    return absl::InvalidArgumentError("key material of the wrong size for the suite");
  }
  SkCipher c;
  c.encr_id_ = encr_id;
  c.aead_ = encr_id != kEncrAesCbc;
  if (c.aead_) {
    c.cipher_ = encr_id == kEncrChaCha20Poly1305 ? "ChaCha20-Poly1305" : AesName(encr_id, key_bits);
    c.key_ = encr_key.Sub(0, lengths->encr - kSaltSize);
    c.salt_ = encr_key.Sub(lengths->encr - kSaltSize, kSaltSize);
    c.icv_size_ = kAeadIcv;
  } else {
    const Integ* integ = FindInteg(integ_id);
    c.cipher_ = AesName(encr_id, key_bits);
    c.digest_ = integ->digest;
    c.icv_size_ = integ->icv;
    c.key_ = std::move(encr_key);
    c.integ_key_ = std::move(integ_key);
  }
  return c;
}

absl::StatusOr<std::string> SkCipher::Icv(absl::string_view covered) const {
  unsigned char md[EVP_MAX_MD_SIZE];
  if (crypto::Hmac(digest_, integ_key_.view().data(), integ_key_.size(), covered.data(),
                   covered.size(), md) == 0) {
    return absl::InternalError("HMAC failed");
  }
  return std::string(reinterpret_cast<char*>(md), icv_size_);
}

size_t SkCipher::Overhead(bool fragment) const {
  return v2::kHeaderSize + (fragment ? 8 : 4) + iv_size() + (aead_ ? 1 : kCbcBlock) + icv_size_;
}

absl::StatusOr<std::string> SkCipher::Seal(const v2::Header& header, uint8_t first_inner,
                                           absl::string_view inner, absl::string_view iv,
                                           uint16_t fragment, uint16_t total) const {
  if (iv.size() != iv_size()) return absl::InvalidArgumentError("IV of the wrong size");
  // Plaintext: the payloads, padding, the Pad Length octet. CBC needs whole
  // blocks; AEAD needs no padding at all (RFC 5282 §3).
  std::string plain(inner);
  size_t pad = 0;
  if (!aead_) pad = (kCbcBlock - (plain.size() + 1) % kCbcBlock) % kCbcBlock;
  plain.append(pad, '\0');
  plain.push_back(static_cast<char>(pad));

  v2::Message m;
  m.header = header;
  v2::Payload sk;
  std::string room(iv.size() + plain.size() + icv_size_, '\0');
  if (total == 0) {
    sk.type = static_cast<uint8_t>(v2::PayloadType::kSk);
    sk.body = v2::SkPayload{first_inner, std::move(room)};
  } else {
    if (fragment == 0 || fragment > total) return absl::InvalidArgumentError("fragment number");
    sk.type = static_cast<uint8_t>(v2::PayloadType::kSkf);
    sk.body = v2::SkfPayload{fragment == 1 ? first_inner : uint8_t{0}, fragment, total,
                             std::move(room)};
  }
  m.payloads.push_back(std::move(sk));
  auto datagram = Encode(m);
  if (!datagram.ok()) return datagram.status();
  const size_t data_at = v2::kHeaderSize + (total == 0 ? 4 : 8);
  datagram->replace(data_at, iv.size(), iv.data(), iv.size());
  std::string ct, tag;
  const bool ok =
      aead_ ? Crypt(cipher_, true, key_.view(), absl::StrCat(salt_.view(), iv),
                    absl::string_view(*datagram).substr(0, data_at), plain, &ct, &tag)
            : Crypt(cipher_, true, key_.view(), iv, "", plain, &ct, nullptr);
  crypto::ZeroizeString(&plain);
  if (!ok || ct.size() != datagram->size() - data_at - iv.size() - icv_size_) {
    return absl::InternalError("encrypting the SK payload failed");
  }
  datagram->replace(data_at + iv.size(), ct.size(), ct);
  if (aead_) {
    datagram->replace(datagram->size() - icv_size_, icv_size_, tag);
  } else {
    auto icv = Icv(absl::string_view(*datagram).substr(0, datagram->size() - icv_size_));
    if (!icv.ok()) return icv.status();
    datagram->replace(datagram->size() - icv_size_, icv_size_, *icv);
  }
  return std::move(*datagram);
}

absl::StatusOr<SkCipher::Opened> SkCipher::Open(absl::string_view datagram) const {
  auto m = v2::Decode(datagram);
  if (!m.ok()) return m.status();
  if (m->payloads.empty()) return Refused("no Encrypted payload");
  const auto* sk = std::get_if<v2::SkPayload>(&m->payloads.back().body);
  const auto* skf = std::get_if<v2::SkfPayload>(&m->payloads.back().body);
  if (sk == nullptr && skf == nullptr) return Refused("the last payload is not SK or SKF");
  if (skf != nullptr && (skf->fragment_number == 0 || skf->total_fragments == 0 ||
                         skf->fragment_number > skf->total_fragments)) {
    return Refused("SKF fragment number outside 1..total");
  }
  const size_t n = sk != nullptr ? sk->data.size() : skf->data.size();
  const size_t min = iv_size() + icv_size_ + (aead_ ? 1 : kCbcBlock);
  if (n < min || (!aead_ && (n - iv_size() - icv_size_) % kCbcBlock != 0)) {
    return Refused(absl::StrCat(n, " octets of encrypted data do not fit the cipher"));
  }
  const size_t data_at = datagram.size() - n;
  const absl::string_view iv = datagram.substr(data_at, iv_size());
  const absl::string_view ct = datagram.substr(data_at + iv_size(), n - iv_size() - icv_size_);
  std::string icv(datagram.substr(datagram.size() - icv_size_));
  std::string plain;
  if (aead_) {
    if (!Crypt(cipher_, false, key_.view(), absl::StrCat(salt_.view(), iv),
               datagram.substr(0, data_at), ct, &plain, &icv)) {
      return Refused("integrity check failed");
    }
  } else {
    // Integrity before decryption (RFC 7296 §3.14).
    auto want = Icv(datagram.substr(0, datagram.size() - icv_size_));
    if (!want.ok()) return want.status();
    if (CRYPTO_memcmp(want->data(), icv.data(), icv_size_) != 0) {
      return Refused("integrity check failed");
    }
    if (!Crypt(cipher_, false, key_.view(), iv, "", ct, &plain, nullptr)) {
      return Refused("decryption failed");
    }
  }
  const size_t pad = static_cast<uint8_t>(plain.back());
  if (pad + 1 > plain.size()) {
    crypto::ZeroizeString(&plain);
    return Refused("pad length longer than the content");
  }
  Opened out;
  out.header = m->header;
  if (sk != nullptr) {
    out.first_inner = sk->first_inner;
  } else {
    out.first_inner = skf->first_inner;
    out.fragment_number = skf->fragment_number;
    out.total_fragments = skf->total_fragments;
  }
  out.inner = plain.substr(0, plain.size() - pad - 1);
  crypto::ZeroizeString(&plain);
  return out;
}

}  // namespace vpnfleet::ike
