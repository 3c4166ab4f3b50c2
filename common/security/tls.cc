#include "common/security/tls.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_ptr.h"
#include "common/files/files.h"
#include "common/log/log.h"
#include "common/log/rate_limit.h"
#include "common/security/authz_policy.h"
#include "grpc/support/log.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace vpnfleet::security {
namespace {

using ossl::X509CrlPtr;
using ossl::X509Ptr;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (c == nullptr) break;
    out.emplace_back(c);
  }
  ERR_clear_error();
  return out;
}

std::string NameOf(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n > 0 ? n : 0));
}

// The CA's CRL, re-read whenever the file changes; a file that is missing,
// unreadable or not signed by a CA of the bundle leaves the last good list in
// force (and is logged), so that a renewal in progress never opens the door.
class RevocationList {
 public:
  RevocationList(std::string crl_path, std::string ca_path)
      : crl_path_(std::move(crl_path)), ca_path_(std::move(ca_path)) {}

  // OK, or PERMISSION_DENIED-worthy text when `cert` is revoked.
  absl::Status Check(X509* cert) {
    std::lock_guard<std::mutex> lock(mu_);
    Refresh();
    if (!crl_) return absl::OkStatus();
    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_CRL_get_issuer(crl_.get())) != 0) {
      return absl::OkStatus();  // another CA's certificate: not this CRL's to judge
    }
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_serial(crl_.get(), &entry, X509_get0_serialNumber(cert)) == 1) {
      return absl::PermissionDeniedError("certificate revoked");
    }
    return absl::OkStatus();
  }

 private:
  void Refresh() {
    struct stat st {};
    if (stat(crl_path_.c_str(), &st) != 0) return;
    if (st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec &&
        st.st_size == size_) {
      return;
    }
    mtime_ = st.st_mtim;
    size_ = st.st_size;
    auto pem = files::ReadFile(crl_path_);
    auto ca = files::ReadFile(ca_path_);
    if (!pem.ok() || !ca.ok()) {
      log::Warn("cannot read the CRL or CA bundle; keeping the last CRL", {{"crl", crl_path_}});
      return;
    }
    BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    X509CrlPtr crl(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    ERR_clear_error();
    if (!crl) {
      log::Warn("the CRL file holds no PEM CRL; keeping the last one", {{"crl", crl_path_}});
      return;
    }
    for (auto& c : ReadCertificates(*ca)) {
      if (X509_NAME_cmp(X509_get_subject_name(c.get()), X509_CRL_get_issuer(crl.get())) != 0) {
        continue;
      }
      EVP_PKEY* key = X509_get0_pubkey(c.get());
      if (key != nullptr && X509_CRL_verify(crl.get(), key) == 1) {
        crl_ = std::move(crl);
        log::Info("CRL loaded", {{"crl", crl_path_},
                                 {"revoked", static_cast<uint64_t>(
                                                 sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl_.get())))}});
        return;
      }
    }
    ERR_clear_error();
    log::Warn("the CRL is not signed by a CA of the bundle; keeping the last one",
              {{"crl", crl_path_}, {"ca", ca_path_}});
  }

  const std::string crl_path_, ca_path_;
  std::mutex mu_;
  struct timespec mtime_ {};
  off_t size_ = -1;
  X509CrlPtr crl_;
};

// Runs after gRPC verified the chain against the CA bundle.
class PeerVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  PeerVerifier(std::shared_ptr<RevocationList> crl, std::string peer_identity, RefusalFn on_refusal)
      : crl_(std::move(crl)), peer_identity_(std::move(peer_identity)),
        on_refusal_(std::move(on_refusal)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
    *sync_status = Decide(std::string(request->peer_cert().data(), request->peer_cert().size()));
    return true;  // decided synchronously
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  grpc::Status Decide(const std::string& pem) {
    auto certs = ReadCertificates(pem);
    if (certs.empty()) return Refuse("no-certificate", "", "the peer sent no certificate");
    const std::string identity = IdentityOf(certs.front().get());
    if (crl_) {
      if (auto st = crl_->Check(certs.front().get()); !st.ok()) {
        return Refuse("revoked", identity, "the peer's certificate is revoked");
      }
    }
    if (!peer_identity_.empty() && !GlobMatch(peer_identity_, identity)) {
      return Refuse("wrong-identity", identity,
                    absl::StrCat("the peer is '", identity, "', expected '", peer_identity_, "'"));
    }
    return grpc::Status::OK;
  }

  grpc::Status Refuse(const std::string& reason, const std::string& identity,
                      const std::string& why) {
    if (on_refusal_) on_refusal_(reason);
    uint64_t held = 0;
    bool write = false;
    {
      std::lock_guard<std::mutex> lock(log_mu_);
      write = log_limit_.Allow(absl::Now(), &held);
    }
    if (write) {
      log::Warn("TLS peer refused", {{"reason", reason}, {"identity", identity}, {"suppressed", held}});
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
  }

  std::shared_ptr<RevocationList> crl_;
  const std::string peer_identity_;
  RefusalFn on_refusal_;
  std::mutex log_mu_;
  log::RateLimit log_limit_{absl::Seconds(10), 5};
};

absl::Status NeedFiles(const TlsFiles& f) {
  if (f.cert.empty() || f.key.empty() || f.ca.empty()) {
    return absl::InvalidArgumentError(
        "mutual TLS needs a certificate, its key and the CA bundle (--tls_cert, --tls_key, "
        "--tls_ca)");
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::experimental::CertificateProviderInterface> Provider(const TlsSettings& s) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      s.files.key, s.files.cert, s.files.ca, std::max(1u, s.refresh_seconds));
}

std::shared_ptr<grpc::experimental::CertificateVerifier> Verifier(const TlsSettings& s,
                                                                  RefusalFn on_refusal) {
  std::shared_ptr<RevocationList> crl;
  if (!s.files.crl.empty()) crl = std::make_shared<RevocationList>(s.files.crl, s.files.ca);
  return grpc::experimental::ExternalCertificateVerifier::Create<PeerVerifier>(
      std::move(crl), s.peer_identity, std::move(on_refusal));
}

}  // namespace

std::string IdentityOf(X509* cert) {
  if (cert == nullptr) return "";
  std::string spiffe;
  int uris = 0;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type != GEN_URI) continue;
    std::string uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.uniformResourceIdentifier)),
                    static_cast<size_t>(ASN1_STRING_length(g->d.uniformResourceIdentifier)));
    if (absl::StartsWith(uri, "spiffe://")) {
      spiffe = std::move(uri);
      ++uris;
    }
  }
  GENERAL_NAMES_free(names);
  if (uris == 1 && spiffe.find_first_of(" \t\r\n") == std::string::npos) return spiffe;
  return NameOf(X509_get_subject_name(cert));
}

std::string IdentityOfPem(const std::string& pem) {
  auto certs = ReadCertificates(pem);
  return certs.empty() ? "" : IdentityOf(certs.front().get());
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsSettings& settings, RefusalFn on_refusal) {
  if (auto st = NeedFiles(settings.files); !st.ok()) return st;
  grpc::experimental::TlsServerCredentialsOptions options(Provider(settings));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.set_certificate_verifier(Verifier(settings, std::move(on_refusal)));
  auto creds = grpc::experimental::TlsServerCredentials(options);
  if (!creds) return absl::InternalError("gRPC refused the TLS server options");
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsSettings& settings) {
  if (auto st = NeedFiles(settings.files); !st.ok()) return st;
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(Provider(settings));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  // Servers are named by identity (peer_identity), not by the address dialled:
  // edges are reached by WAN address, which their certificates need not carry.
  options.set_check_call_host(false);
  options.set_certificate_verifier(Verifier(settings, nullptr));
  auto creds = grpc::experimental::TlsCredentials(options);
  if (!creds) return absl::InternalError("gRPC refused the TLS channel options");
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const std::string& target,
                                                    const ClientSecurity& security,
                                                    const grpc::ChannelArguments& args) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (absl::StartsWith(target, "unix:") || security.insecure) {
    creds = grpc::InsecureChannelCredentials();
  } else if (!security.tls.files.configured()) {
    return absl::FailedPreconditionError(absl::StrCat(
        target, " is a TCP address: it needs mutual TLS (--tls_cert, --tls_key, --tls_ca or "
                "$VPNFLEET_TLS_CERT/_KEY/_CA), or --insecure for a lab"));
  } else {
    auto tls = MakeChannelCredentials(security.tls);
    if (!tls.ok()) return tls.status();
    creds = *tls;
  }
  return grpc::CreateCustomChannel(target, creds, args);
}

absl::Status DiagnoseTlsPeer(const std::string& target, const ClientSecurity& security) {
  if (security.insecure || absl::StartsWith(target, "unix:") || !security.tls.files.configured()) {
    return absl::OkStatus();
  }
  std::string host = target, port;
  if (absl::StartsWith(target, "[")) {
    const size_t close = target.find(']');
    if (close == std::string::npos || target.size() < close + 2) return absl::OkStatus();
    host = target.substr(1, close - 1);
    port = target.substr(close + 2);
  } else {
    const size_t colon = target.rfind(':');
    if (colon == std::string::npos) return absl::OkStatus();
    host = target.substr(0, colon);
    port = target.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0 || ai == nullptr) return absl::OkStatus();
  const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const bool connected = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
  freeaddrinfo(ai);
  if (!connected) {
    if (fd >= 0) close(fd);
    return absl::OkStatus();  // not a TLS question
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_use_certificate_chain_file(ctx, security.tls.files.cert.c_str());
  SSL_CTX_use_PrivateKey_file(ctx, security.tls.files.key.c_str(), SSL_FILETYPE_PEM);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx, kAlpn, sizeof kAlpn);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  absl::Status verdict = absl::OkStatus();
  if (SSL_connect(ssl) != 1) {
    const unsigned long e = ERR_peek_last_error();
    const char* reason = ERR_reason_error_string(e);
    verdict = absl::UnauthenticatedError(absl::StrCat(
        "the TLS handshake with ", target, " failed (", reason != nullptr ? reason : "no reason given",
        "): the server refused our certificate (revoked, expired or from a CA it does not "
        "trust) or speaks no TLS 1.3"));
  } else {
    X509* peer = SSL_get1_peer_certificate(ssl);
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    const std::string identity = IdentityOf(peer);
    auto ca_pem = files::ReadFile(security.tls.files.ca);
    ossl::X509StorePtr store(X509_STORE_new());
    if (ca_pem.ok()) {
      for (auto& c : ReadCertificates(*ca_pem)) X509_STORE_add_cert(store.get(), c.get());
    }
    X509_STORE_CTX* vctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(vctx, store.get(), peer, chain);
    const bool ok = peer != nullptr && X509_verify_cert(vctx) == 1;
    const int err = X509_STORE_CTX_get_error(vctx);
    X509_STORE_CTX_free(vctx);
    if (!ok) {
      verdict = absl::UnauthenticatedError(absl::StrCat(
          "the server at ", target, " presents '", identity, "' issued by '",
          peer != nullptr ? NameOf(X509_get_issuer_name(peer)) : "", "', which does not verify against ",
          security.tls.files.ca, ": ", X509_verify_cert_error_string(err)));
    } else if (!security.tls.peer_identity.empty() && !GlobMatch(security.tls.peer_identity, identity)) {
      verdict = absl::UnauthenticatedError(absl::StrCat("the server at ", target, " is '", identity,
                                                        "', not '", security.tls.peer_identity, "'"));
    } else {
      // TLS 1.3 sends a refusal of our certificate after the handshake.
      char byte;
      if (SSL_read(ssl, &byte, 1) <= 0 && SSL_get_error(ssl, 0) == SSL_ERROR_SSL) {
        const char* reason = ERR_reason_error_string(ERR_peek_last_error());
        verdict = absl::UnauthenticatedError(absl::StrCat(
            "the server at ", target, " ('", identity, "') refused our certificate (",
            reason != nullptr ? reason : "no reason given", "): revoked, expired, or from a CA it "
            "does not trust"));
      }
    }
    X509_free(peer);
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  return verdict;
}

absl::Status CheckTlsFiles(const TlsFiles& f, absl::Time now) {
  if (auto st = NeedFiles(f); !st.ok()) return st;
  auto cert_pem = files::ReadFile(f.cert);
  if (!cert_pem.ok()) return absl::NotFoundError(absl::StrCat("cannot read the certificate ", f.cert));
  auto key_pem = files::ReadFile(f.key);
  if (!key_pem.ok()) return absl::NotFoundError(absl::StrCat("cannot read the key ", f.key));
  auto ca_pem = files::ReadFile(f.ca);
  if (!ca_pem.ok()) return absl::NotFoundError(absl::StrCat("cannot read the CA bundle ", f.ca));
  auto certs = ReadCertificates(*cert_pem);
  if (certs.empty()) return absl::InvalidArgumentError(absl::StrCat(f.cert, " holds no PEM certificate"));
  auto cas = ReadCertificates(*ca_pem);
  if (cas.empty()) return absl::InvalidArgumentError(absl::StrCat(f.ca, " holds no PEM certificate"));
  BioPtr bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  ossl::EvpKey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  ERR_clear_error();
  if (!key) return absl::InvalidArgumentError(absl::StrCat(f.key, " holds no PEM private key"));
  X509* leaf = certs.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("the key in ", f.key, " does not belong to the certificate in ", f.cert));
  }
  const time_t t = absl::ToTimeT(now);
  if (X509_cmp_time(X509_get0_notAfter(leaf), const_cast<time_t*>(&t)) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the certificate in ", f.cert, " (", IdentityOf(leaf), ") has expired; renew it"));
  }
  if (X509_cmp_time(X509_get0_notBefore(leaf), const_cast<time_t*>(&t)) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the certificate in ", f.cert, " is not valid yet (check the clock)"));
  }
  ossl::X509StorePtr store(X509_STORE_new());
  for (auto& c : cas) X509_STORE_add_cert(store.get(), c.get());
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(chain, certs[i].get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store.get(), leaf, chain);
  X509_STORE_CTX_set_time(ctx, 0, t);
  const bool ok = X509_verify_cert(ctx) == 1;
  const int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain);
  ERR_clear_error();
  if (!ok) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the certificate in ", f.cert, " is not issued by a CA in ", f.ca, ": ",
        X509_verify_cert_error_string(err)));
  }
  if (!f.crl.empty()) {
    RevocationList crl(f.crl, f.ca);
    if (!crl.Check(leaf).ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the certificate in ", f.cert, " is revoked (", f.crl, ")"));
    }
  }
  return absl::OkStatus();
}

void RouteGrpcLogs() {
  gpr_set_log_function([](gpr_log_func_args* args) {
    if (args->message == nullptr || args->severity < GPR_LOG_SEVERITY_ERROR) return;
    absl::string_view m = args->message;
    if (absl::StartsWith(m, "No match found for server name")) return;
    log::Warn("grpc", {{"message", std::string(m)}});
  });
}

void RestrictTlsVersions(bool allow_tls12) {
  // gRPC 1.51 pins TLS 1.2 as its minimum on every SSL_CTX it makes (so
  // OpenSSL's MinProtocol is overridden) and offers no setter for TLS
  // credentials. It does read its TLS 1.2 cipher list from this variable:
  // naming only pre-shared-key suites, which neither side can use (no PSK
  // callback is installed), leaves TLS 1.2 with no cipher to agree on, while
  // TLS 1.3's suites are configured apart and untouched. The lab test checks
  // with `openssl s_client -tls1_2` that the handshake is refused.
  if (allow_tls12 || getenv("GRPC_SSL_CIPHER_SUITES") != nullptr) return;
  setenv("GRPC_SSL_CIPHER_SUITES", "PSK-AES256-GCM-SHA384", 1);
}

}  // namespace vpnfleet::security
