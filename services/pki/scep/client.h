// The SCEP client an edge gateway runs (RFC 8894 §4), the way a router runs
// `crypto pki authenticate` and `crypto pki enroll`: fetch and pin the CA,
// enroll a key with a challenge password, poll while the request is held,
// renew with the current certificate, fetch the CRL. HTTP is a seam
// (HttpTransport) so the library runs over civetweb or straight into a
// Responder.
#ifndef VPNFLEET_SERVICES_PKI_SCEP_CLIENT_H_
#define VPNFLEET_SERVICES_PKI_SCEP_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/pki/ca/csr.h"
#include "services/pki/scep/pki_message.h"

namespace vpnfleet::pki::scep {

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // `query` is "operation=...&message=..." already escaped.
  virtual absl::StatusOr<HttpResponse> Get(const std::string& query) = 0;
  virtual absl::StatusOr<HttpResponse> Post(const std::string& query, const std::string& body) = 0;
};

struct CaCerts {
  X509Ptr ca;               // the issuing CA
  X509Ptr ra;               // set when the server uses an RA
  std::vector<X509Ptr> above;  // the issuing CA's issuers, up to the root
  std::vector<std::string> capabilities;
  X509* recipient() const { return ra ? ra.get() : ca.get(); }
};

struct EnrollResult {
  enum class Status { kIssued, kPending } status = Status::kPending;
  X509Ptr certificate;  // kIssued
  std::string transaction_id;
};

// A SCEP failure reply; the message carries the failInfo name.
bool IsScepFailure(const absl::Status& status, FailInfo* info = nullptr);

class ScepClient {
 public:
  explicit ScepClient(HttpTransport* http) : http_(http) {}

  // GetCACert + GetCACaps. When `fingerprint_sha256` (hex, any case, colons
  // allowed) is not empty, the issuing CA or one of its issuers must have it.
  absl::StatusOr<CaCerts> Authenticate(const std::string& fingerprint_sha256);

  // PKCSReq for `key` (RSA or ECDSA). Pending is not an error: poll.
  absl::StatusOr<EnrollResult> Enroll(const CaCerts& ca, const CsrParams& params, EVP_PKEY* key);
  // CertPoll for a request made by Enroll with the same key and subject.
  absl::StatusOr<EnrollResult> Poll(const CaCerts& ca, const std::string& subject, EVP_PKEY* key);
  // RenewalReq: `new_key` certified, the request signed by the current pair.
  absl::StatusOr<EnrollResult> Renew(const CaCerts& ca, const CsrParams& params, EVP_PKEY* new_key,
                                     X509* current_cert, EVP_PKEY* current_key);
  // GetCert: the certificate with `wanted`'s issuer and serial, asked with
  // the requester's own pair.
  absl::StatusOr<X509Ptr> GetCert(const CaCerts& ca, X509* wanted, X509* cert, EVP_PKEY* key);
  // GetCRL with a certificate of this CA; returns the CRL's DER.
  absl::StatusOr<std::string> GetCrl(const CaCerts& ca, X509* cert, EVP_PKEY* key);

 private:
  absl::StatusOr<std::string> Exchange(const CaCerts& ca, MessageType type,
                                       const std::string& transaction_id,
                                       const std::string& content, X509* signer, EVP_PKEY* key,
                                       PkiStatus* status);
  // A CertRep's outcome: pending, or the certificate for `key` in it.
  static absl::StatusOr<EnrollResult> ResultOf(const absl::StatusOr<std::string>& content,
                                               PkiStatus status, EVP_PKEY* key,
                                               const std::string& transaction_id);
  // GetCert/GetCRL: an IssuerAndSerialNumber of `about` asked, a certs-only reply.
  absl::StatusOr<Degenerate> FetchAbout(const CaCerts& ca, MessageType type, X509* about,
                                        X509* cert, EVP_PKEY* key);

  HttpTransport* http_;
};

// RFC 8894 §3.2.1.1 suggests a transaction ID derived from the key: here
// the hex SHA-256 of the DER public key.
std::string TransactionIdFor(EVP_PKEY* key);

}  // namespace vpnfleet::pki::scep

#endif  // VPNFLEET_SERVICES_PKI_SCEP_CLIENT_H_
