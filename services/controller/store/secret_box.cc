#include "services/controller/store/secret_box.h"

#include <openssl/evp.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_ptr.h"
#include "common/crypto/zeroize.h"
#include "common/files/files.h"

namespace vpnfleet::controller {
namespace {
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
}  // namespace

absl::StatusOr<SecretBox> SecretBox::FromKey(std::string key, Rng* rng) {
  if (key.size() != kKeySize) {
    crypto::ZeroizeString(&key);
    return absl::InvalidArgumentError(absl::StrCat("secret key must be ", kKeySize, " bytes"));
  }
  return SecretBox(std::move(key), rng);
}

absl::StatusOr<SecretBox> SecretBox::FromKeyFile(const std::string& path, Rng* rng) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::string key = rng->Bytes(kKeySize);
    absl::Status st = files::WriteFileAtomically(path, key, 0600);
    crypto::ZeroizeString(&key);
    if (!st.ok()) return st;
  }
  auto key = files::ReadFile(path);
  if (!key.ok()) return key.status();
  if (key->size() != kKeySize) {
    crypto::ZeroizeString(&*key);
    return absl::FailedPreconditionError(absl::StrCat(
        "secret key file ", path, " must hold ", kKeySize, " bytes; it was not written by vpnfleet"));
  }
  return SecretBox(std::move(*key), rng);
}

SecretBox::SecretBox(SecretBox&& other) noexcept : key_(std::move(other.key_)), rng_(other.rng_) {
  other.key_.clear();
}

SecretBox::~SecretBox() { crypto::ZeroizeString(&key_); }

std::string SecretBox::Seal(const std::string& plaintext, const std::string& associated) const {
  std::string out = rng_->Bytes(kNonce);
  out.resize(kNonce + plaintext.size() + kTag);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  ossl::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(key_.data()), o);
  EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(associated.data()),
                    static_cast<int>(associated.size()));
  EVP_EncryptUpdate(ctx.get(), o + kNonce, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx.get(), o + kNonce + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + plaintext.size());
  return out;
}

absl::StatusOr<std::string> SecretBox::Open(const std::string& sealed,
                                            const std::string& associated) const {
  if (sealed.size() < kNonce + kTag) return absl::DataLossError("sealed secret is truncated");
  const size_t n = sealed.size() - kNonce - kTag;
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string out(n, '\0');
  ossl::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                     reinterpret_cast<const unsigned char*>(key_.data()), in);
  EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(associated.data()),
                    static_cast<int>(associated.size()));
  EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, in + kNonce,
                    static_cast<int>(n));
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag,
                      const_cast<unsigned char*>(in + kNonce + n));
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    crypto::ZeroizeString(&out);
    return absl::DataLossError("sealed secret does not open: wrong master key or altered record");
  }
  return out;
}

absl::Status CheckSealingKey(Store& store, const SecretBox& box, bool may_record, int64_t unix_seconds) {
  constexpr char kKind[] = "schema", kName[] = "sealing-key-check", kPlain[] = "vpnfleet sealing key";
  auto stored = store.Get(kKind, kName);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    if (!may_record) return absl::OkStatus();
    return store.Commit({{kKind, kName, box.Seal(kPlain, kName)}}, /*new_revision=*/false, unix_seconds).status();
  }
  auto opened = box.Open(**stored, kName);
  if (!opened.ok() || *opened != kPlain) {
    return absl::FailedPreconditionError(
        "this controller's secret key is not the one the store's pair keys are sealed with: every replica "
        "needs the same --secret_key file");
  }
  return absl::OkStatus();
}

}  // namespace vpnfleet::controller
