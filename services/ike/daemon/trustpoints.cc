#include "services/ike/daemon/trustpoints.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/files/files.h"

namespace vpnfleet::ike {
namespace {

namespace v1 = vpnfleet::ike::v1;

constexpr const char* kFiles[] = {"ca.pem", "cert.pem", "key.pem", "crl.pem"};

std::vector<const v1::Trustpoint*> ByName(const v1::IkeConfig& config) {
  std::vector<const v1::Trustpoint*> out;
  for (const v1::Trustpoint& t : config.trustpoints()) out.push_back(&t);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name() < b->name(); });
  return out;
}

// The file's contents, or "" when it does not exist.
std::string ReadIfThere(const std::string& path) {
  auto data = files::ReadFile(path);
  return data.ok() ? *std::move(data) : std::string();
}

}  // namespace

std::string TrustpointFilesFingerprint(const v1::IkeConfig& config, const std::string& dir) {
  std::string out;
  for (const v1::Trustpoint* t : ByName(config)) {
    for (const char* f : kFiles) {
      struct stat st {};
      const std::string path = absl::StrCat(dir, "/", t->name(), "/", f);
      if (stat(path.c_str(), &st) == 0) {
        absl::StrAppend(&out, path, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                        st.st_mtim.tv_nsec, ";");
      }
    }
  }
  return out;
}

std::vector<auth::Revocation> RevocationMethods(const v1::Trustpoint& tp) {
  std::vector<auth::Revocation> out;
  for (int m : tp.revocation_check()) {
    switch (m) {
      case v1::REVOCATION_METHOD_CRL: out.push_back(auth::Revocation::kCrl); break;
      case v1::REVOCATION_METHOD_OCSP: out.push_back(auth::Revocation::kOcsp); break;
      case v1::REVOCATION_METHOD_NONE: out.push_back(auth::Revocation::kNone); break;
      default: break;
    }
  }
  if (out.empty() && tp.revocation_check_crl()) out.push_back(auth::Revocation::kCrl);
  return out;
}

bool ChecksCrl(const v1::Trustpoint& tp) {
  for (auth::Revocation m : RevocationMethods(tp)) {
    if (m == auth::Revocation::kCrl) return true;
  }
  return false;
}

LoadedTrustpoints LoadTrustpoints(const v1::IkeConfig& config, const std::string& dir,
                                  std::shared_ptr<auth::OcspCache> ocsp) {
  LoadedTrustpoints out;
  out.fingerprint = TrustpointFilesFingerprint(config, dir);
  std::vector<auth::TrustStore::TrustpointPem> anchors;
  for (const v1::Trustpoint* t : ByName(config)) {
    const std::string base = absl::StrCat(dir, "/", t->name(), "/");
    const std::string where = absl::StrCat("crypto pki trustpoint ", t->name());
    auth::TrustStore::TrustpointPem tp;
    tp.name = t->name();
    tp.ca_pem = ReadIfThere(base + "ca.pem");
    tp.revocation = RevocationMethods(*t);
    tp.ocsp_url = t->ocsp_url();
    if (ChecksCrl(*t)) {
      tp.crl_pem = ReadIfThere(base + "crl.pem");
      if (tp.crl_pem.empty()) {
        out.warnings.push_back(absl::StrCat(where, ": revocation-check crl but no ", base,
                                            "crl.pem; the CRL cannot vouch for its peers' certificates"));
      }
    }
    if (tp.ca_pem.empty()) {
      out.warnings.push_back(absl::StrCat(where, ": not authenticated (no ", base,
                                          "ca.pem; run `vpnfleet pki authenticate`)"));
    } else {
      // Checked alone so that one bad trustpoint does not hide the others.
      auto single = auth::TrustStore::Make({tp});
      if (single.ok()) {
        anchors.push_back(std::move(tp));
      } else {
        out.warnings.push_back(absl::StrCat(where, ": ", single.status().message()));
      }
    }
    const std::string key = ReadIfThere(base + "key.pem");
    if (!out.rsa_key && !key.empty()) {
      auto pair = auth::RsaKeyPair::FromPem(t->name(), key);
      if (pair.ok()) out.rsa_key = *std::move(pair);
    }
    if (out.credential) continue;
    const std::string cert = ReadIfThere(base + "cert.pem");
    if (key.empty() || cert.empty()) {
      out.warnings.push_back(absl::StrCat(where, ": not enrolled (no ", base, "key.pem and ",
                                          base, "cert.pem; run `vpnfleet pki enroll`)"));
      continue;
    }
    auto credential = auth::LocalCredential::FromPem(t->name(), key, cert);
    if (credential.ok()) {
      out.credential = *std::move(credential);
    } else {
      out.warnings.push_back(absl::StrCat(where, ": ", credential.status().message()));
    }
  }
  if (!anchors.empty()) {
    auto trust = auth::TrustStore::Make(anchors, std::move(ocsp));
    if (trust.ok()) out.trust = *std::move(trust);
  }
  return out;
}

}  // namespace vpnfleet::ike
