#include "services/ike/auth/parsed_certificates.h"

#include <deque>
#include <mutex>
#include <string>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "absl/container/flat_hash_map.h"

namespace vpnfleet::ike::auth {
namespace {

class Cache {
 public:
  ossl::X509Ptr Get(absl::string_view der) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_der_.find(der);
    if (it == by_der_.end()) return nullptr;
    X509_up_ref(it->second.get());
    return ossl::X509Ptr(it->second.get());
  }
  void Put(absl::string_view der, X509* cert) {
    std::lock_guard<std::mutex> lock(mu_);
    if (by_der_.contains(der)) return;  // already kept (another thread verified it too)
    if (order_.size() >= kParsedCertificates) {
      by_der_.erase(order_.front());
      order_.pop_front();
    }
    X509_up_ref(cert);
    order_.emplace_back(der);
    by_der_.emplace(order_.back(), ossl::X509Ptr(cert));
  }

 private:
  std::mutex mu_;
  std::deque<std::string> order_;  // oldest first; owns the keys' octets
  absl::flat_hash_map<absl::string_view, ossl::X509Ptr> by_der_;
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // lives as long as the process
  return *cache;
}

}  // namespace

ossl::X509Ptr ParseCertificate(absl::string_view der) {
  if (ossl::X509Ptr hit = TheCache().Get(der)) return hit;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  return x;
}

void KeepParsedCertificate(absl::string_view der, X509* cert) { TheCache().Put(der, cert); }

}  // namespace vpnfleet::ike::auth
