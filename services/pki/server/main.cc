// vpnfleet-pki: certificate authority, SCEP server (RFC 8894) and CRL
// publisher. State lives in --data_dir: ca.pem, ca.key (0600, optionally
// passphrase-protected) — the issuing CA, created at first start or put
// there to import one; chain.pem, the issuing CA's issuers up to the root
// (with --intermediate also root.pem/root.key); ra.pem/ra.key when the CA
// key cannot decrypt SCEP envelopes itself (ECDSA); pki.db (SQLite).
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/log/log.h"
#include "absl/strings/escaping.h"
#include "common/security/tls.h"
#include "common/server/daemon.h"
#include "services/pki/ca/csr.h"
#include "common/files/files.h"
#include "services/pki/ca/keys.h"
#include "services/pki/http/scep_http.h"
#include "services/pki/scep/pki_message.h"
#include "services/pki/server/pki_metrics.h"
#include "services/pki/server/pki_service.h"

ABSL_FLAG(std::string, data_dir, "/var/lib/vpnfleet/pki",
          "Directory for the CA certificate and key, the RA and the SQLite store.");
ABSL_FLAG(std::string, scep_listen, "127.0.0.1:18080", "host:port of the SCEP/CRL HTTP server.");
ABSL_FLAG(std::string, public_url, "",
          "Base URL devices use to reach the SCEP server (default: http://<scep_listen>).");
ABSL_FLAG(std::string, ca_subject, "CN=vpnfleet root CA,O=vpnfleet",
          "Subject of a CA created at first start.");
ABSL_FLAG(std::string, ca_key, "rsa-3072",
          "Key of a CA created at first start: rsa-2048|rsa-3072|rsa-4096|ecdsa-p256|ecdsa-p384.");
ABSL_FLAG(bool, intermediate, false,
          "At first start, make a root (root.pem/root.key) and an intermediate that issues "
          "(ca.pem/ca.key), with the root in chain.pem.");
ABSL_FLAG(std::string, intermediate_subject, "CN=vpnfleet issuing CA,O=vpnfleet",
          "Subject of the intermediate made with --intermediate.");
ABSL_FLAG(std::string, ca_passphrase_file, "",
          "File holding the passphrase that encrypts the CA and RA keys (optional).");
ABSL_FLAG(uint32_t, certificate_days, 365, "Validity of issued certificates, in days.");
ABSL_FLAG(absl::Duration, certificate_lifetime, absl::ZeroDuration(),
          "Validity of issued certificates as a duration (e.g. 10m for a lab that watches "
          "renewals); overrides --certificate_days when set.");
ABSL_FLAG(bool, ocsp, true,
          "Answer OCSP (RFC 6960) at /ocsp on the SCEP server and name it in issued "
          "certificates (authorityInfoAccess).");
ABSL_FLAG(absl::Duration, ocsp_validity, absl::Hours(1),
          "How long an OCSP answer may be cached by clients (nextUpdate - thisUpdate).");
ABSL_FLAG(uint32_t, challenge_hours, 24, "Default validity of challenge passwords, in hours.");
ABSL_FLAG(uint32_t, crl_hours, 168, "Validity of each CRL, in hours; refreshed at 40% left.");
ABSL_FLAG(absl::Duration, supersede_overlap, absl::Hours(24),
          "How long a renewed certificate stays valid beside its successor before it is revoked "
          "(superseded); it can never be renewed again.");
ABSL_FLAG(uint32_t, scep_threads, 8,
          "Workers of the SCEP server: requests are handed to them only once whole, so a slow "
          "client holds a connection, never a worker.");
ABSL_FLAG(absl::Duration, scep_request_timeout, absl::Seconds(10),
          "Time a SCEP client has to send its whole request (its header within 5 s of that).");
ABSL_FLAG(uint32_t, scep_connections_per_client, 16,
          "Open connections one client address may hold on the SCEP server (1024 in all).");
ABSL_FLAG(bool, scep_ra, true,
          "Answer SCEP as an RA with its own certificate, separate from the CA (RFC 8894 "
          "§4.2.1.2): clients such as certmonger then find the CA to trust in GetCACert "
          "without being given it. Always on when the CA key is not RSA.");
ABSL_FLAG(std::string, trust_domain, "vpnfleet",
          "The trust domain of the identities the CA writes: spiffe://DOMAIN/ROLE/NAME.");

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;


bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The CA and an RSA RA certificate for SCEP: needed when the CA key is not
// RSA (clients envelope requests by RSA key transport, RFC 8894 §2.2), and
// wanted otherwise too (--scep_ra), because a client shown a lone
// self-signed certificate takes it for the RA and trusts no CA at all.
struct Authority {
  std::optional<CertificateAuthority> ca;
  std::vector<X509Ptr> above;  // chain.pem: the issuing CA's issuers
  EvpKey ra_key;
  X509Ptr ra_cert;
};

std::string CertPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(const std::string& path) {
  auto pem = files::ReadFile(path);
  if (!pem.ok()) return pem.status();
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free_all);
  std::vector<X509Ptr> out;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  ERR_clear_error();
  if (out.empty()) return absl::DataLossError(absl::StrCat(path, " holds no certificate"));
  return out;
}

absl::Status LoadOrCreate(const std::string& dir, const std::string& passphrase,
                          const Clock* clock, Authority* out) {
  const std::string cert_path = dir + "/ca.pem", key_path = dir + "/ca.key";
  if (Exists(cert_path) && Exists(key_path)) {
    auto cert = files::ReadFile(cert_path);
    auto key = files::ReadFile(key_path);
    if (!cert.ok()) return cert.status();
    if (!key.ok()) return key.status();
    auto ca = CertificateAuthority::Import(*cert, *key, passphrase, clock);
    if (!ca.ok()) return ca.status();
    out->ca.emplace(std::move(*ca));
    log::Info("pki: CA loaded", {{"subject", out->ca->Describe().subject()},
                                 {"fingerprint", out->ca->Describe().fingerprint_sha256()}});
  } else {
    auto alg = ParseKeyAlgorithmName(absl::GetFlag(FLAGS_ca_key));
    if (!alg.ok()) return alg.status();
    RootOptions root;
    root.subject = absl::GetFlag(FLAGS_ca_subject);
    root.key_algorithm = *alg;
    auto ca = CertificateAuthority::CreateRoot(root, clock);
    if (!ca.ok()) return ca.status();
    if (absl::GetFlag(FLAGS_intermediate)) {
      // The root signs the intermediate and is then only kept on disk.
      auto root_key = ca->KeyPem(passphrase);
      if (!root_key.ok()) return root_key.status();
      if (auto st = files::WriteFileAtomically(dir + "/root.key", *root_key, 0600); !st.ok()) return st;
      if (auto st = files::WriteFileAtomically(dir + "/root.pem", ca->CertificatePem(), 0644); !st.ok()) {
        return st;
      }
      if (auto st = files::WriteFileAtomically(dir + "/chain.pem", ca->CertificatePem(), 0644); !st.ok()) {
        return st;
      }
      RootOptions sub = root;
      sub.subject = absl::GetFlag(FLAGS_intermediate_subject);
      sub.validity = root.validity / 2;
      auto inter = ca->CreateIntermediate(sub);
      if (!inter.ok()) return inter.status();
      ca = std::move(inter);
    }
    auto key_pem = ca->KeyPem(passphrase);
    if (!key_pem.ok()) return key_pem.status();
    if (auto st = files::WriteFileAtomically(key_path, *key_pem, 0600); !st.ok()) return st;
    if (auto st = files::WriteFileAtomically(cert_path, ca->CertificatePem(), 0644); !st.ok()) return st;
    out->ca.emplace(std::move(*ca));
    log::Info("pki: CA created", {{"subject", out->ca->Describe().subject()},
                                  {"fingerprint", out->ca->Describe().fingerprint_sha256()}});
  }
  if (Exists(dir + "/chain.pem")) {
    auto above = ReadCertificates(dir + "/chain.pem");
    if (!above.ok()) return above.status();
    out->above = std::move(*above);
  }
  if (EVP_PKEY_get_base_id(out->ca->key()) == EVP_PKEY_RSA && !absl::GetFlag(FLAGS_scep_ra)) {
    return absl::OkStatus();
  }

  const std::string ra_cert_path = dir + "/ra.pem", ra_key_path = dir + "/ra.key";
  if (Exists(ra_cert_path) && Exists(ra_key_path)) {
    auto key_pem = files::ReadFile(ra_key_path);
    auto cert_pem = files::ReadFile(ra_cert_path);
    if (!key_pem.ok() || !cert_pem.ok()) return absl::DataLossError("cannot read the RA");
    auto key = PrivateKeyFromPem(*key_pem, passphrase);
    if (!key.ok()) return key.status();
    out->ra_key = std::move(*key);
    std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
        BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())), BIO_free_all);
    out->ra_cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!out->ra_cert) return absl::DataLossError("ra.pem is not a certificate");
    return absl::OkStatus();
  }
  auto key = GenerateKey(v1::KEY_ALGORITHM_RSA_2048);
  if (!key.ok()) return key.status();
  auto csr = BuildCsr({"CN=vpnfleet SCEP RA,O=vpnfleet", {}, ""}, key->get());
  if (!csr.ok()) return csr.status();
  IssueRequest req;
  req.csr_der = *csr;
  req.profile = Profile::kRa;
  req.validity = absl::FromUnixSeconds(out->ca->Describe().not_after_unix_seconds()) - clock->Now();
  auto issued = out->ca->Issue(req);
  if (!issued.ok()) return issued.status();
  out->ra_cert = ParseCertificateDer(issued->der);
  out->ra_key = std::move(*key);
  auto key_pem = PrivateKeyToPem(out->ra_key.get(), passphrase);
  if (!key_pem.ok()) return key_pem.status();
  if (auto st = files::WriteFileAtomically(ra_key_path, *key_pem, 0600); !st.ok()) return st;
  return files::WriteFileAtomically(ra_cert_path, CertPem(out->ra_cert.get()), 0644);
}

// Keeps the CRL fresh without waiting for a request to notice.
// Keeps the CRL signed and, when the PKI serves its API with its own
// identity, the CRL file its TLS listener reads current (a revoked operator
// is refused within seconds).
class CrlRefresher {
 public:
  CrlRefresher(Enrollment* e, std::string crl_file) : thread_([this, e, crl_file] {
    std::string written;
    absl::Time signed_at = absl::InfinitePast();
    do {
      if (absl::Now() - signed_at >= absl::Minutes(1) || !crl_file.empty()) {
        auto crl = e->CurrentCrl();
        if (!crl.ok()) {
          log::Error("pki: CRL refresh failed", {{"error", crl.status().message()}});
        } else {
          signed_at = absl::Now();
          if (!crl_file.empty() && crl->der != written &&
              files::WriteFileAtomically(crl_file, DerToPem(crl->der, "X509 CRL"), 0644).ok()) {
            written = crl->der;
          }
        }
      }
    } while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(crl_file.empty() ? 60 : 2)));
  }) {}
  ~CrlRefresher() {
    stop_.Notify();
    thread_.join();
  }

 private:
  absl::Notification stop_;
  std::thread thread_;
};

// The PKI's own identity for its gRPC API, issued by its CA into DIR/tls/ and
// issued again when less than a third of its life is left.
absl::StatusOr<security::TlsFiles> OwnIdentity(const std::string& dir, Enrollment* enrollment,
                                               const std::string& ca_pem) {
  security::TlsFiles f;
  const std::string tls = dir + "/tls";
  std::error_code ec;
  std::filesystem::create_directories(tls, ec);
  f.cert = tls + "/cert.pem";
  f.key = tls + "/key.pem";
  f.ca = tls + "/ca.pem";
  f.crl = tls + "/crl.pem";
  if (auto st = files::WriteFileAtomically(f.ca, ca_pem, 0644); !st.ok()) return st;
  if (Exists(f.cert) && Exists(f.key)) {
    auto pem = files::ReadFile(f.cert);
    if (pem.ok()) {
      std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
          BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free_all);
      X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      ERR_clear_error();
      const time_t soon = absl::ToTimeT(absl::Now() + absl::Hours(24 * 30));
      if (cert && X509_cmp_time(X509_get0_notAfter(cert.get()), const_cast<time_t*>(&soon)) > 0 &&
          security::CheckTlsFiles(f, absl::Now()).ok()) {
        return f;
      }
    }
  }
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  if (!key.ok()) return key.status();
  CsrParams params;
  params.subject = "CN=vpnfleet-pki,O=vpnfleet";
  auto csr = BuildCsr(params, key->get());
  if (!csr.ok()) return csr.status();
  auto cert = enrollment->IssueIdentity(*csr, "pki", "pki", absl::Hours(24 * 90));
  if (!cert.ok()) return cert.status();
  auto key_pem = PrivateKeyToPem(key->get(), "");
  if (!key_pem.ok()) return key_pem.status();
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
      BIO_new_mem_buf(cert->der.data(), static_cast<int>(cert->der.size())), BIO_free_all);
  X509Ptr x(d2i_X509_bio(bio.get(), nullptr));
  if (!x) return absl::InternalError("cannot read back the PKI's own certificate");
  if (auto st = files::WriteFileAtomically(f.key, *key_pem, 0600); !st.ok()) return st;
  if (auto st = files::WriteFileAtomically(f.cert, CertPem(x.get()), 0644); !st.ok()) return st;
  log::Info("pki: issued its own API identity", {{"serial", cert->serial_hex}});
  return f;
}

struct Pki {
  Authority authority;
  std::unique_ptr<PkiStore> store;
  std::unique_ptr<Enrollment> enrollment;
  std::unique_ptr<scep::Responder> responder;
  std::unique_ptr<OcspResponder> ocsp;
  std::unique_ptr<ScepHttpServer> http;
  std::unique_ptr<CrlRefresher> refresher;
  std::unique_ptr<PkiServiceImpl> service;
};

absl::Status Setup(server::DaemonContext& ctx) {
  scep::EnableLegacyCiphers();
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot create --data_dir ", dir, ": ", ec.message()));
  }
  // Keys and the store: nobody else may look in.
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  std::string passphrase;
  if (!absl::GetFlag(FLAGS_ca_passphrase_file).empty()) {
    auto p = files::ReadFile(absl::GetFlag(FLAGS_ca_passphrase_file));
    if (!p.ok()) return p.status();
    passphrase = std::string(absl::StripTrailingAsciiWhitespace(*p));
  }
  auto pki = std::make_shared<Pki>();
  const Clock* clock = SystemClock::Get();
  if (auto st = LoadOrCreate(dir, passphrase, clock, &pki->authority); !st.ok()) return st;
  auto store = PkiStore::Open(dir + "/pki.db");
  if (!store.ok()) return store.status();
  pki->store = std::move(*store);

  const std::string listen = absl::GetFlag(FLAGS_scep_listen);
  std::string base = absl::GetFlag(FLAGS_public_url);
  if (base.empty()) base = absl::StrCat("http://", listen);
  EnrollmentOptions options;
  options.certificate_validity = absl::GetFlag(FLAGS_certificate_lifetime) > absl::ZeroDuration()
                                     ? absl::GetFlag(FLAGS_certificate_lifetime)
                                     : absl::Hours(24) * absl::GetFlag(FLAGS_certificate_days);
  options.supersede_overlap = absl::GetFlag(FLAGS_supersede_overlap);
  options.challenge_validity = absl::Hours(absl::GetFlag(FLAGS_challenge_hours));
  options.crl_validity = absl::Hours(absl::GetFlag(FLAGS_crl_hours));
  options.crl_refresh_before = options.crl_validity * 0.4;
  options.crl_urls = {base + "/crl/ca.crl"};
  if (absl::GetFlag(FLAGS_ocsp)) options.ocsp_urls = {base + "/ocsp"};
  options.trust_domain = absl::GetFlag(FLAGS_trust_domain);
  pki->enrollment = std::make_unique<Enrollment>(&*pki->authority.ca, pki->store.get(), clock,
                                                 options);
  Authority& a = pki->authority;
  std::vector<X509*> above;
  for (const auto& c : a.above) above.push_back(c.get());
  if (a.ra_cert) {
    pki->responder = std::make_unique<scep::Responder>(
        pki->enrollment.get(), a.ra_cert.get(), a.ra_key.get(), std::vector<X509*>{a.ra_cert.get()},
        above);
  } else {
    pki->responder = std::make_unique<scep::Responder>(pki->enrollment.get(), a.ca->certificate(),
                                                       a.ca->key(), std::vector<X509*>{}, above);
  }
  Enrollment* enrollment = pki->enrollment.get();
  if (absl::GetFlag(FLAGS_ocsp)) {
    OcspResponderOptions ocsp_options;
    ocsp_options.validity = absl::GetFlag(FLAGS_ocsp_validity);
    pki->ocsp = std::make_unique<OcspResponder>(&*a.ca, StoreLookup(pki->store.get()), clock,
                                                ocsp_options);
  }
  HttpFrontOptions http_options;
  http_options.listen = listen;
  http_options.workers = static_cast<int>(absl::GetFlag(FLAGS_scep_threads));
  http_options.request_timeout = absl::GetFlag(FLAGS_scep_request_timeout);
  http_options.header_timeout = std::min(http_options.request_timeout, absl::Seconds(5));
  http_options.max_connections_per_client =
      static_cast<int>(absl::GetFlag(FLAGS_scep_connections_per_client));
  auto http = ScepHttpServer::Start(http_options, pki->responder.get(),
                                    [enrollment]() -> absl::StatusOr<std::string> {
                                      auto crl = enrollment->CurrentCrl();
                                      if (!crl.ok()) return crl.status();
                                      return crl->der;
                                    },
                                    pki->ocsp.get());
  if (!http.ok()) return http.status();
  pki->http = std::move(*http);
  std::string own_crl;
  if (!ctx.host->options().insecure && !ctx.host->options().grpc_listen.empty() &&
      !ctx.host->options().tls.files.configured()) {
    std::string chain = a.ca->CertificatePem();
    for (const auto& c : a.above) chain += CertPem(c.get());
    auto own = OwnIdentity(dir, enrollment, chain);
    if (!own.ok()) return own.status();
    own_crl = own->crl;
    ctx.host->SetTlsFiles(*own);
    // Written before the listener starts, so the first handshake has it.
    if (auto crl = enrollment->CurrentCrl(); crl.ok()) {
      (void)files::WriteFileAtomically(own_crl, DerToPem(crl->der, "X509 CRL"), 0644);
    }
  }
  pki->refresher = std::make_unique<CrlRefresher>(enrollment, own_crl);

  PkiServiceInfo info;
  info.scep_url = base + "/scep";
  info.crl_url = options.crl_urls.front();
  info.scep_capabilities = scep::Responder::Capabilities();
  for (const auto& c : a.above) info.chain_above.push_back(DescribeCa(c.get()));
  if (a.ra_cert) {
    v1::CaCertificate ra = DescribeCa(a.ra_cert.get());
    ra.set_role(v1::CaCertificate::ROLE_RA);
    info.ra.push_back(ra);
  }
  pki->service = std::make_unique<PkiServiceImpl>(enrollment, info, ctx.host->authorizer());
  ctx.host->AddService(pki->service.get(), "vpnfleet.pki.v1.PkiService");
  ctx.host->AddCollectable(std::make_shared<PkiMetrics>(
      enrollment, pki->responder.get(), &pki->http->counters(), pki,
      pki->ocsp ? &pki->ocsp->counters() : nullptr));
  log::Info("pki: SCEP server listening",
            {{"listen", listen}, {"port", pki->http->port()}, {"url", info.scep_url}});
  ctx.keep_alive.push_back(pki);
  return absl::OkStatus();
}

}  // namespace
}  // namespace vpnfleet::pki

int main(int argc, char** argv) {
  return vpnfleet::server::RunDaemon(argc, argv, {"pki", 7402, 9402, /*makes_own_tls=*/true},
                                     vpnfleet::pki::Setup);
}
