// The SCEP server's protocol side (RFC 8894 §4), without HTTP: an operation
// and its message in, status/content type/body out. GetCACaps, GetCACert
// and PKIOperation (PKCSReq, RenewalReq, CertPoll, GetCert, GetCRL). The
// HTTP glue (civetweb) lives in scep_http.
#ifndef VPNFLEET_SERVICES_PKI_SCEP_RESPONDER_H_
#define VPNFLEET_SERVICES_PKI_SCEP_RESPONDER_H_

#include <atomic>
#include <string>
#include <vector>

#include "services/pki/enrollment/enrollment.h"
#include "services/pki/scep/pki_message.h"

namespace vpnfleet::pki::scep {

struct ScepRequest {
  std::string operation;  // "GetCACaps", "GetCACert", "PKIOperation", ...
  std::string message;    // PKIOperation: the DER pkiMessage (already base64-decoded for GET)
};

struct ScepReply {
  int http_status = 200;
  std::string content_type;
  std::string body;
};

// What the responder has refused or answered, by kind; monotonic.
struct ScepCounters {
  std::atomic<uint64_t> requests{0}, malformed{0}, bad_signature{0}, bad_envelope{0};
};

class Responder {
 public:
  // `identity`/`key`: what decrypts requests and signs replies — the CA
  // itself, or an RA whose certificate `ra_chain` puts before the CA's in
  // GetCACert. `above` are the issuing CA's own issuers up to the root,
  // which GetCACert sends after it.
  Responder(Enrollment* enrollment, X509* identity, EVP_PKEY* key, std::vector<X509*> ra_chain = {},
            std::vector<X509*> above = {})
      : enrollment_(enrollment),
        identity_(identity),
        key_(key),
        ra_chain_(std::move(ra_chain)),
        above_(std::move(above)) {}

  ScepReply Handle(const ScepRequest& request);
  ScepCounters& counters() { return counters_; }

  static const std::vector<std::string>& Capabilities();

 private:
  ScepReply PkiOperation(const std::string& der);
  ScepReply CertRep(const PkiMessage& request, const EnrollOutcome& outcome, X509* recipient,
                    ContentCipher cipher);
  ScepReply Failure(const PkiMessage& request, FailInfo info);
  ScepReply SuccessWith(const PkiMessage& request, const std::string& degenerate,
                        X509* recipient, ContentCipher cipher);

  Enrollment* enrollment_;
  X509* identity_;
  EVP_PKEY* key_;
  std::vector<X509*> ra_chain_;
  std::vector<X509*> above_;
  ScepCounters counters_;
};

FailInfo FailInfoFor(Refusal refusal);

}  // namespace vpnfleet::pki::scep

#endif  // VPNFLEET_SERVICES_PKI_SCEP_RESPONDER_H_
