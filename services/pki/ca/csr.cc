#include "services/pki/ca/csr.h"

#include <ctime>

#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/pki/ca/authority.h"

namespace vpnfleet::pki {
namespace {

using NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;

void FreeExtStack(STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }

}  // namespace

absl::StatusOr<std::string> BuildCsr(const CsrParams& params, EVP_PKEY* key) {
  NamePtr subject;
  if (params.subject_name != nullptr) {
    subject.reset(X509_NAME_dup(params.subject_name));
  } else {
    auto name = ParseName(params.subject);
    if (!name.ok()) return name.status();
    subject.reset(*name);
  }
  X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1) {
    return absl::InternalError("cannot build the CSR");
  }
  if (!params.subject_alt_names.empty()) {
    const std::string sans = absl::StrJoin(params.subject_alt_names, ",");
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str()));
    if (!ext) return absl::InvalidArgumentError(absl::StrCat("bad subject alt names \"", sans, "\""));
    std::unique_ptr<STACK_OF(X509_EXTENSION), decltype(&FreeExtStack)> exts(
        sk_X509_EXTENSION_new_null(), FreeExtStack);
    sk_X509_EXTENSION_push(exts.get(), ext.release());
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
      return absl::InternalError("cannot add the extension request");
    }
  }
  if (!params.challenge_password.empty() &&
      X509_REQ_add1_attr_by_NID(
          req.get(), NID_pkcs9_challengePassword, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(params.challenge_password.data()),
          static_cast<int>(params.challenge_password.size())) != 1) {
    return absl::InternalError("cannot add the challenge password");
  }
  if (X509_REQ_sign(req.get(), key, DigestFor(key)) <= 0) {
    return absl::InternalError("cannot sign the CSR");
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) return absl::InternalError("cannot encode the CSR");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<X509Ptr> SelfSigned(EVP_PKEY* key, const std::string& subject) {
  auto name = ParseName(subject);
  if (!name.ok()) return name.status();
  NamePtr n(*name);
  X509Ptr cert(X509_new());
  time_t now = time(nullptr);
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !SetRandomSerial(cert.get()) ||
      X509_set_subject_name(cert.get(), n.get()) != 1 ||
      X509_set_issuer_name(cert.get(), n.get()) != 1 ||
      X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -300, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 1, 0, &now) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1 || X509_sign(cert.get(), key, DigestFor(key)) <= 0) {
    return absl::InternalError("cannot make the self-signed request certificate");
  }
  return cert;
}

}  // namespace vpnfleet::pki
