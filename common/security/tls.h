// Mutual TLS for vpnfleet's gRPC APIs, on gRPC's own TLS credentials: the
// certificate, key and CA bundle are watched files (a renewed certificate is
// served without a restart), client certificates are required and verified
// against the CA, and a verifier of ours adds what gRPC lacks: the CRL
// (re-read when the file changes) and, for clients, the identity the server
// must have.
#ifndef VPNFLEET_COMMON_SECURITY_TLS_H_
#define VPNFLEET_COMMON_SECURITY_TLS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/security/server_credentials.h"

typedef struct x509_st X509;

namespace vpnfleet::security {

struct TlsFiles {
  std::string cert;  // PEM: the certificate, then any intermediates
  std::string key;   // PEM private key
  std::string ca;    // PEM bundle of the CAs whose certificates the peer may have
  std::string crl;   // PEM CRL of that CA; empty: no revocation check
  bool configured() const { return !cert.empty() || !key.empty() || !ca.empty(); }
};

struct TlsSettings {
  TlsFiles files;
  // Clients: the identity (glob, see IdentityOf) the server must present;
  // empty: any certificate from the CA.
  std::string peer_identity;
  // How often the watched files are checked for changes.
  unsigned refresh_seconds = 5;
};

// Why a peer's certificate was refused by our verifier, for a counter.
using RefusalFn = std::function<void(const std::string& reason)>;

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsSettings& settings, RefusalFn on_refusal);
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsSettings& settings);

// How a client reaches a vpnfleet service.
struct ClientSecurity {
  TlsSettings tls;        // TCP targets: mutual TLS with these files
  bool insecure = false;  // TCP targets in plaintext (labs only)
};

// A channel to `target`: "unix:PATH" as it is (the server names us by our
// uid), "host:port" with mutual TLS, or in plaintext only when insecure.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Dial(const std::string& target,
                                                    const ClientSecurity& security,
                                                    const grpc::ChannelArguments& args = {});

// After a call to a TCP `target` failed as unavailable: one TLS handshake of
// our own with the same files, to say what gRPC does not (the server's
// certificate is from another CA, names someone else, or the server refused
// ours). OK when the handshake succeeds or never reached TLS (nothing to add).
absl::Status DiagnoseTlsPeer(const std::string& target, const ClientSecurity& security);

// Checks the files as a user would want before the first handshake: each
// readable, the key matching the certificate, the certificate valid now and
// issued by a CA of the bundle, not revoked. The message says what is wrong
// and in which file.
absl::Status CheckTlsFiles(const TlsFiles& files, absl::Time now);

// The name a certificate gives its holder: its spiffe:// URI name when it has
// exactly one, else its subject ("CN=alice,O=Example").
std::string IdentityOf(X509* cert);
std::string IdentityOfPem(const std::string& pem);

// TLS 1.3 only unless allow_tls12 (gRPC 1.51 has no API for it: see the .cc).
// Call first thing in main, before gRPC makes any TLS context; a user's own
// GRPC_SSL_CIPHER_SUITES is left alone.
void RestrictTlsVersions(bool allow_tls12);

// Sends gRPC's own log lines through ours, dropping the one its TLS server
// writes for every client that sends an address as server name (SNI).
void RouteGrpcLogs();

}  // namespace vpnfleet::security

#endif  // VPNFLEET_COMMON_SECURITY_TLS_H_
