#include "services/ike/daemon/trustpoint_renewer.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files/files.h"
#include "common/log/log.h"
#include "services/pki/ca/authority.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"

namespace vpnfleet::ike {
namespace {

// `revocation-check` names crl (or, written the old way, revocation_check_crl
// alone): the CRL is then fetched on schedule.
bool UsesCrl(const vpnfleet::ike::v1::Trustpoint& tp) {
  for (int m : tp.revocation_check()) {
    if (m == vpnfleet::ike::v1::REVOCATION_METHOD_CRL) return true;
  }
  return tp.revocation_check().empty() && tp.revocation_check_crl();
}

using pki::EvpKey;
using pki::X509Ptr;

std::string PathOf(const std::string& dir, const std::string& trustpoint, const char* file) {
  return absl::StrCat(dir, "/", trustpoint, "/", file);
}

X509Ptr ReadFirstCertificate(const std::string& path) {
  auto pem = files::ReadFile(path);
  if (!pem.ok()) return nullptr;
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free_all);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

absl::Time AsTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

// The key a renewal's request is made for: the same kind as the current one.
absl::StatusOr<EvpKey> NextKeyLike(EVP_PKEY* current) {
  return pki::GenerateKey(pki::KeyAlgorithmOf(current));
}

void Wipe(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

}  // namespace

TrustpointRenewer::TrustpointRenewer(const Clock* clock, ConfigSource config,
                                     TransportFactory transport, prometheus::Registry* registry,
                                     RenewerOptions options)
    : clock_(clock),
      config_(std::move(config)),
      transport_(std::move(transport)),
      options_(std::move(options)) {
  if (registry != nullptr) {
    expiry_ = &prometheus::BuildGauge()
                   .Name("vpnfleet_ike_trustpoint_certificate_expiry_timestamp_seconds")
                   .Help("When each trustpoint's own certificate expires (Unix time).")
                   .Register(*registry);
    renewals_ = &prometheus::BuildCounter()
                     .Name("vpnfleet_ike_trustpoint_renewals_total")
                     .Help("Automatic renewals of trustpoint certificates (auto-enroll), by outcome.")
                     .Register(*registry);
    crl_fetches_ = &prometheus::BuildCounter()
                        .Name("vpnfleet_ike_trustpoint_crl_fetches_total")
                        .Help("CRLs fetched for trustpoints that check revocation, by outcome.")
                        .Register(*registry);
  }
}

TrustpointRenewer::~TrustpointRenewer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TrustpointRenewer::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      for (const Outcome& o : RunOnce()) {
        if (o.action == Outcome::Action::kRenewFailed || o.action == Outcome::Action::kCrlFailed) {
          log::Warn("trustpoint: automatic enrollment step failed",
                    {{"trustpoint", o.trustpoint}, {"error", o.detail}});
        }
      }
      lock.lock();
      wake_.wait_for(lock, absl::ToChronoSeconds(options_.check_interval),
                     [this] { return stopping_; });
    }
  });
}

std::vector<TrustpointRenewer::Outcome> TrustpointRenewer::RunOnce() {
  std::vector<Outcome> out;
  const vpnfleet::ike::v1::IkeConfig config = config_();
  const absl::Time now = clock_->Now();
  for (const auto& tp : config.trustpoints()) {
    X509Ptr cert = ReadFirstCertificate(PathOf(options_.pki_dir, tp.name(), "cert.pem"));
    if (cert && expiry_ != nullptr) {
      expiry_->Add({{"trustpoint", tp.name()}})
          .Set(static_cast<double>(absl::ToUnixSeconds(AsTime(X509_get0_notAfter(cert.get())))));
    }
    if (tp.enrollment_url().empty() || !cert) continue;
    if (tp.auto_enroll_percent() > 0) {
      auto retry = next_renew_try_.find(tp.name());
      const absl::Time not_before = AsTime(X509_get0_notBefore(cert.get()));
      const absl::Time not_after = AsTime(X509_get0_notAfter(cert.get()));
      const absl::Time due =
          not_before + (not_after - not_before) * (tp.auto_enroll_percent() / 100.0);
      if (now >= due && (retry == next_renew_try_.end() || now >= retry->second)) {
        Outcome o = Renew(tp, now);
        if (renewals_ != nullptr) {
          renewals_->Add({{"trustpoint", tp.name()},
                          {"result", o.action == Outcome::Action::kRenewed ? "ok" : "failed"}})
              .Increment();
        }
        if (o.action == Outcome::Action::kRenewed) {
          next_renew_try_.erase(tp.name());
          log::Info("trustpoint: certificate renewed (auto-enroll)",
                    {{"trustpoint", tp.name()}, {"serial", o.detail},
                     {"percent", static_cast<int64_t>(tp.auto_enroll_percent())}});
        } else {
          next_renew_try_[tp.name()] = now + options_.retry_after;
        }
        out.push_back(std::move(o));
      }
    }
    if (UsesCrl(tp)) {
      auto next = next_crl_.find(tp.name());
      if (next == next_crl_.end() || now >= next->second) {
        Outcome o = FetchCrl(tp, now);
        if (crl_fetches_ != nullptr) {
          crl_fetches_->Add({{"trustpoint", tp.name()},
                             {"result", o.action == Outcome::Action::kCrlFetched ? "ok" : "failed"}})
              .Increment();
        }
        next_crl_[tp.name()] =
            now + (o.action == Outcome::Action::kCrlFetched ? options_.crl_refresh : options_.retry_after);
        out.push_back(std::move(o));
      }
    }
  }
  return out;
}

TrustpointRenewer::Outcome TrustpointRenewer::Renew(const vpnfleet::ike::v1::Trustpoint& tp,
                                                    absl::Time) {
  Outcome o{tp.name(), Outcome::Action::kRenewFailed, ""};
  auto fail = [&o](absl::string_view why) {
    o.detail = std::string(why);
    return o;
  };
  const std::string cert_path = PathOf(options_.pki_dir, tp.name(), "cert.pem");
  const std::string key_path = PathOf(options_.pki_dir, tp.name(), "key.pem");
  X509Ptr cert = ReadFirstCertificate(cert_path);
  auto key_pem = files::ReadFile(key_path);
  if (!cert || !key_pem.ok()) return fail("no certificate and key to renew");
  auto key = pki::PrivateKeyFromPem(*key_pem, "");
  Wipe(&*key_pem);
  if (!key.ok()) return fail(key.status().message());
  // The CA is the one pinned at `authenticate`: by the configured
  // fingerprint, else by the CA certificate on disk.
  std::string pin = tp.ca_fingerprint_sha256();
  if (pin.empty()) {
    X509Ptr ca = ReadFirstCertificate(PathOf(options_.pki_dir, tp.name(), "ca.pem"));
    if (!ca) return fail("no CA certificate to check the CA against (authenticate first)");
    pin = pki::Sha256Hex(pki::DerOf(ca.get()));
  }
  auto http = transport_(tp.enrollment_url());
  if (!http.ok()) return fail(http.status().message());
  pki::scep::ScepClient client(http->get());
  auto ca = client.Authenticate(pin);
  if (!ca.ok()) return fail(ca.status().message());
  auto next = NextKeyLike(key->get());
  if (!next.ok()) return fail(next.status().message());
  const pki::IssuedCertificate d = pki::DescribeCertificate(cert.get());
  pki::CsrParams params;
  params.subject_name = X509_get_subject_name(cert.get());
  for (const auto& san : d.subject_alt_names) {
    // The CA writes URI identities itself (and refuses them in requests).
    if (!absl::StartsWith(san, "URI:")) params.subject_alt_names.push_back(san);
  }
  auto r = client.Renew(*ca, params, next->get(), cert.get(), key->get());
  if (!r.ok()) return fail(r.status().message());
  if (r->status != pki::scep::EnrollResult::Status::kIssued) {
    return fail(absl::StrCat("the CA holds the renewal for approval (transaction ",
                             r->transaction_id, ")"));
  }
  // New pair beside the old one, then swapped in: a crash leaves at worst a
  // ".next" pair beside a working one. The key goes first, so that a reader
  // between the two renames sees a new key with an old certificate at most
  // for an instant (the daemon's file check then sees both change).
  auto new_key_pem = pki::PrivateKeyToPem(next->get(), "");
  if (!new_key_pem.ok()) return fail(new_key_pem.status().message());
  const std::string cert_pem = pki::DerToPem(pki::DerOf(r->certificate.get()), "CERTIFICATE");
  absl::Status st = files::WriteFileAtomically(key_path + ".next", *new_key_pem, 0600);
  Wipe(&*new_key_pem);
  if (st.ok()) st = files::WriteFileAtomically(cert_path + ".next", cert_pem, 0644);
  if (!st.ok()) return fail(st.message());
  if (rename((key_path + ".next").c_str(), key_path.c_str()) != 0 ||
      rename((cert_path + ".next").c_str(), cert_path.c_str()) != 0) {
    return fail("cannot replace the trustpoint's key and certificate files");
  }
  o.action = Outcome::Action::kRenewed;
  o.detail = pki::SerialHex(X509_get0_serialNumber(r->certificate.get()));
  if (expiry_ != nullptr) {
    expiry_->Add({{"trustpoint", tp.name()}})
        .Set(static_cast<double>(
            absl::ToUnixSeconds(AsTime(X509_get0_notAfter(r->certificate.get())))));
  }
  return o;
}

TrustpointRenewer::Outcome TrustpointRenewer::FetchCrl(const vpnfleet::ike::v1::Trustpoint& tp,
                                                       absl::Time) {
  Outcome o{tp.name(), Outcome::Action::kCrlFailed, ""};
  X509Ptr cert = ReadFirstCertificate(PathOf(options_.pki_dir, tp.name(), "cert.pem"));
  auto key_pem = files::ReadFile(PathOf(options_.pki_dir, tp.name(), "key.pem"));
  X509Ptr ca_cert = ReadFirstCertificate(PathOf(options_.pki_dir, tp.name(), "ca.pem"));
  if (!cert || !key_pem.ok() || !ca_cert) {
    o.detail = "no certificate, key and CA to ask for the CRL with";
    return o;
  }
  auto key = pki::PrivateKeyFromPem(*key_pem, "");
  Wipe(&*key_pem);
  if (!key.ok()) {
    o.detail = std::string(key.status().message());
    return o;
  }
  auto http = transport_(tp.enrollment_url());
  if (!http.ok()) {
    o.detail = std::string(http.status().message());
    return o;
  }
  pki::scep::ScepClient client(http->get());
  auto ca = client.Authenticate(pki::Sha256Hex(pki::DerOf(ca_cert.get())));
  if (!ca.ok()) {
    o.detail = std::string(ca.status().message());
    return o;
  }
  auto der = client.GetCrl(*ca, cert.get(), key->get());
  if (!der.ok()) {
    o.detail = std::string(der.status().message());
    return o;
  }
  // Only a CRL the CA signed is kept.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  pki::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der->size())));
  if (!crl || X509_CRL_verify(crl.get(), X509_get0_pubkey(ca->ca.get())) != 1) {
    o.detail = "the CRL does not verify with the CA's key";
    return o;
  }
  const std::string path = PathOf(options_.pki_dir, tp.name(), "crl.pem");
  const std::string pem = pki::DerToPem(*der, "X509 CRL");
  auto old = files::ReadFile(path);
  if (!old.ok() || *old != pem) {  // unchanged files do not make the daemon reload
    if (auto st = files::WriteFileAtomically(path, pem, 0644); !st.ok()) {
      o.detail = std::string(st.message());
      return o;
    }
  }
  o.action = Outcome::Action::kCrlFetched;
  return o;
}

}  // namespace vpnfleet::ike
