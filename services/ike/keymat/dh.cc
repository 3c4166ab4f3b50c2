#include "services/ike/keymat/dh.h"

#include <utility>
#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "absl/strings/str_cat.h"

namespace vpnfleet::ike {
namespace {

enum class Kind { kModp, kEcp, kX25519 };

struct GroupInfo {
  uint16_t id;
  Kind kind;
  const char* name;  // OpenSSL group name; nullptr: `prime` below
  size_t size;       // octets of a field element / prime
  bool legacy;
  // The Oakley groups of RFC 2409 §6.1/6.2, which OpenSSL has no name for
  // (generator 2). The primes were checked against the RFC's
  // formula 2^n - 2^(n-64) - 1 + 2^64 * ([2^(n-130) pi] + c) when written
  // down, and group 2 against strongSwan in interop.strongswan_ikev1.
  const char* prime = nullptr;
};

constexpr char kOakley1[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620"
    "FFFFFFFFFFFFFFFF";
constexpr char kOakley2[] =
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";

// RFC 7296 §3.3.2 Transform Type 4 IDs (the same numbers as IKEv1's groups).
constexpr GroupInfo kGroups[] = {
    {1, Kind::kModp, nullptr, 96, true, kOakley1},
    {2, Kind::kModp, nullptr, 128, true, kOakley2},
    {5, Kind::kModp, "modp_1536", 192, true},
    {14, Kind::kModp, "modp_2048", 256, false},
    {15, Kind::kModp, "modp_3072", 384, false},
    {16, Kind::kModp, "modp_4096", 512, false},
    {19, Kind::kEcp, "P-256", 32, false},
    {20, Kind::kEcp, "P-384", 48, false},
    {21, Kind::kEcp, "P-521", 66, false},
    // RFC 5114 §2.3. OpenSSL knows q, so the public check below is the full
    // y^q = 1 (mod p) test that RFC 6989 §2.2 requires for this group.
    {24, Kind::kModp, "dh_2048_256", 256, true},
    {31, Kind::kX25519, "X25519", 32, false},
};

const GroupInfo* Find(uint16_t id) {
  for (const GroupInfo& g : kGroups) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using BldPtr = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;

absl::Status SslError(absl::string_view what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[200] = "";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return absl::InvalidArgumentError(absl::StrCat(what, e != 0 ? ": " : "", buf));
}

// An EVP_PKEY from parameters (public and/or private parts).
KeyPtr FromData(const char* type, OSSL_PARAM* params, int selection) {
  CtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1) {
    return KeyPtr(nullptr, EVP_PKEY_free);
  }
  return KeyPtr(key, EVP_PKEY_free);
}

// p and g = 2 of an Oakley group onto a parameter builder. No q: OpenSSL's
// FIPS-style key generation refuses these sizes, and without q it draws a
// private value as long as p and checks peers' values for 1 < y < p-1.
bool PushOakley(const GroupInfo& g, OSSL_PARAM_BLD* bld, std::vector<BnPtr>& keep) {
  BIGNUM* p = nullptr;
  if (BN_hex2bn(&p, g.prime) == 0) return false;
  keep.emplace_back(p, BN_free);
  BnPtr two(BN_new(), BN_free);
  if (!two || BN_set_word(two.get(), 2) != 1) return false;
  keep.push_back(std::move(two));
  return OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, keep[keep.size() - 2].get()) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, keep[keep.size() - 1].get()) == 1;
}

// OpenSSL 3 looks a key type up by name (locks, string compares) for every
// new context, which costs a third of an X25519 key generation: each thread
// keeps one key-generation context per group, set up once. They hold no key.
EVP_PKEY_CTX* KeygenContext(const GroupInfo& g) {
  thread_local std::vector<std::pair<uint16_t, CtxPtr>> contexts;
  for (auto& [id, ctx] : contexts) {
    if (id == g.id) return ctx.get();
  }
  const char* type = g.kind == Kind::kX25519 ? "X25519" : g.kind == Kind::kEcp ? "EC" : "DH";
  CtxPtr ctx(nullptr, EVP_PKEY_CTX_free);
  if (g.prime != nullptr) {
    // No name to set: key generation from domain parameters.
    BldPtr bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
    std::vector<BnPtr> keep;
    if (!bld || !PushOakley(g, bld.get(), keep)) return nullptr;
    ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
    KeyPtr domain = params ? FromData("DH", params.get(), EVP_PKEY_KEY_PARAMETERS)
                           : KeyPtr(nullptr, EVP_PKEY_free);
    if (!domain) return nullptr;
    ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, domain.get(), nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return nullptr;
    contexts.emplace_back(g.id, std::move(ctx));
    return contexts.back().second.get();
  }
  ctx.reset(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) return nullptr;
  if (g.kind != Kind::kX25519) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                            const_cast<char*>(g.name), 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) return nullptr;
  }
  contexts.emplace_back(g.id, std::move(ctx));
  return contexts.back().second.get();
}

// Our KE data from a key pair.
absl::StatusOr<std::string> PublicOf(const GroupInfo& g, EVP_PKEY* key) {
  if (g.kind == Kind::kX25519) {
    std::string out(32, '\0');
    size_t n = out.size();
    if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &n) != 1) {
      return SslError("X25519 public key");
    }
    return out;
  }
  if (g.kind == Kind::kEcp) {
    // RFC 5903 §7: x | y, each the size of the field, without the 0x04.
    unsigned char buf[1 + 2 * 66];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &n) != 1 ||
        n != 1 + 2 * g.size || buf[0] != 0x04) {
      return SslError("EC public key");
    }
    return std::string(reinterpret_cast<char*>(buf + 1), 2 * g.size);
  }
  BIGNUM* y = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &y) != 1) return SslError("DH public key");
  BnPtr owned(y, BN_free);
  // RFC 7296 §3.4: the value is padded with zeros to the prime's length.
  std::string out(g.size, '\0');
  if (BN_bn2binpad(y, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(g.size)) < 0) {
    return SslError("DH public key size");
  }
  return out;
}

// The peer's KE data as an EVP_PKEY (public part only), checked.
absl::StatusOr<KeyPtr> PeerKey(const GroupInfo& g, absl::string_view data) {
  if (data.size() != DhExchange::PublicValueSize(g.id)) {
    return absl::InvalidArgumentError(absl::StrCat("group ", g.id, " key exchange data of ",
                                                   data.size(), " octets, not ",
                                                   DhExchange::PublicValueSize(g.id)));
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (g.kind == Kind::kX25519) {
    KeyPtr k(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes, data.size()),
             EVP_PKEY_free);
    if (!k) return SslError("X25519 peer value");
    return k;
  }
  BldPtr bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  std::string point;
  BnPtr y(nullptr, BN_free);
  std::vector<BnPtr> keep;
  bool ok = g.prime != nullptr
                ? PushOakley(g, bld.get(), keep)
                : OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g.name,
                                                  0) == 1;
  if (g.kind == Kind::kEcp) {
    point = std::string(1, '\x04') + std::string(data);
    ok = ok && OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                                point.size()) == 1;
  } else {
    y.reset(BN_bin2bn(bytes, static_cast<int>(data.size()), nullptr));
    ok = ok && y && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) == 1;
  }
  ParamsPtr params(ok ? OSSL_PARAM_BLD_to_param(bld.get()) : nullptr, OSSL_PARAM_free);
  if (!params) return SslError("peer value");
  KeyPtr k = FromData(g.kind == Kind::kEcp ? "EC" : "DH", params.get(), EVP_PKEY_PUBLIC_KEY);
  if (!k) return SslError(absl::StrCat("group ", g.id, " peer value is not a valid public key"));
  // On the curve (EC) or 1 < y < p-1 with the subgroup check (DH).
  CtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, k.get(), nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return SslError(absl::StrCat("group ", g.id, " peer value fails the public key check"));
  }
  return k;
}

}  // namespace

size_t DhExchange::PublicValueSize(uint16_t group) {
  const GroupInfo* g = Find(group);
  if (g == nullptr) return 0;
  return g->kind == Kind::kEcp ? 2 * g->size : g->size;
}

absl::StatusOr<DhExchange> DhExchange::Generate(uint16_t group, bool allow_legacy) {
  const GroupInfo* g = Find(group);
  if (g == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("Diffie-Hellman group ", group, " is not supported"));
  }
  if (g->legacy && !allow_legacy) {
    return absl::FailedPreconditionError(
        absl::StrCat("Diffie-Hellman group ", group, " is legacy; allow it explicitly"));
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_CTX* ctx = KeygenContext(*g); ctx == nullptr || EVP_PKEY_generate(ctx, &key) != 1) {
    EVP_PKEY_free(key);
    key = nullptr;
  }
  if (key == nullptr) return SslError(absl::StrCat("generating a group ", group, " key"));
  KeyPtr owned(key, EVP_PKEY_free);
  auto pub = PublicOf(*g, key);
  if (!pub.ok()) return pub.status();
  return DhExchange(group, owned.release(), std::move(*pub));
}

absl::StatusOr<DhExchange> DhExchange::FromPrivate(uint16_t group, absl::string_view private_key,
                                                   absl::string_view public_value) {
  const GroupInfo* g = Find(group);
  if (g == nullptr || (g->kind == Kind::kModp && g->prime != nullptr)) {
    return absl::InvalidArgumentError("known keys only for named MODP, ECP and Curve25519 groups");
  }
  const auto* priv = reinterpret_cast<const unsigned char*>(private_key.data());
  if (g->kind == Kind::kX25519) {
    EVP_PKEY* k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, priv, private_key.size());
    if (k == nullptr) return SslError("X25519 private key");
    KeyPtr owned(k, EVP_PKEY_free);
    auto pub = PublicOf(*g, k);
    if (!pub.ok()) return pub.status();
    return DhExchange(group, owned.release(), std::move(*pub));
  }
  if (public_value.size() != PublicValueSize(group)) {
    return absl::InvalidArgumentError("public value of the wrong size");
  }
  const bool ec = g->kind == Kind::kEcp;
  BldPtr bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  BnPtr d(BN_bin2bn(priv, static_cast<int>(private_key.size()), nullptr), BN_free);
  const std::string point = ec ? std::string(1, '\x04') + std::string(public_value) : "";
  BnPtr y(ec ? nullptr
             : BN_bin2bn(reinterpret_cast<const unsigned char*>(public_value.data()),
                         static_cast<int>(public_value.size()), nullptr),
          BN_free);
  ParamsPtr params(nullptr, OSSL_PARAM_free);
  if (bld && d && (ec || y) &&
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, g->name, 0) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) == 1 &&
      (ec ? OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                             point.size()) == 1
          : OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) == 1)) {
    params.reset(OSSL_PARAM_BLD_to_param(bld.get()));
  }
  BN_clear(d.get());
  KeyPtr k = params ? FromData(ec ? "EC" : "DH", params.get(), EVP_PKEY_KEYPAIR)
                    : KeyPtr(nullptr, EVP_PKEY_free);
  if (!k) return SslError(ec ? "EC key pair" : "DH key pair");
  return DhExchange(group, k.release(), std::string(public_value));
}

absl::StatusOr<SecretBytes> DhExchange::Compute(absl::string_view peer_public) const {
  const GroupInfo* g = Find(group_);
  if (g == nullptr || !key_) return absl::FailedPreconditionError("no key");
  auto peer = PeerKey(*g, peer_public);
  if (!peer.ok()) return peer.status();
  CtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return SslError("derive");
  // MODP: the secret keeps its leading zeros (RFC 7296 §2.14: g^ir is as
  // long as the prime).
  if (g->kind == Kind::kModp && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) != 1) {
    return SslError("DH padding");
  }
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer->get()) != 1) return SslError("peer value");
  size_t n = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &n) != 1) return SslError("derive");
  std::string out(n, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n) != 1) {
    crypto::ZeroizeString(&out);
    return SslError("derive");  // includes X25519's all-zero result (RFC 7748 §6.1)
  }
  out.resize(n);
  return SecretBytes(std::move(out));
}

}  // namespace vpnfleet::ike
