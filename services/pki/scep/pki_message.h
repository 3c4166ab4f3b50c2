// SCEP pkiMessage codec (RFC 8894 §3): the CMS SignedData whose signed
// attributes carry messageType, transactionID, nonces, pkiStatus and
// failInfo, and whose content is an EnvelopedData (the CSR, the
// IssuerAndSubject of a poll, the IssuerAndSerialNumber of GetCert/GetCRL,
// or the degenerate certs-only reply). Parsing, signature verification and
// decryption are separate steps: a message that parses is not yet trusted.
// No I/O, no store; everything through OpenSSL's CMS.
#ifndef VPNFLEET_SERVICES_PKI_SCEP_PKI_MESSAGE_H_
#define VPNFLEET_SERVICES_PKI_SCEP_PKI_MESSAGE_H_

#include <memory>
#include <string>
#include <vector>

#include <openssl/cms.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/pki/ca/keys.h"

namespace vpnfleet::pki::scep {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, OpenSslDeleter<CMS_ContentInfo, CMS_ContentInfo_free>>;

// RFC 8894 §3.2.1.2.
enum class MessageType {
  kUnknown = 0,
  kCertRep = 3,
  kRenewalReq = 17,
  kPkcsReq = 19,
  kCertPoll = 20,
  kGetCert = 21,
  kGetCrl = 22,
};
// RFC 8894 §3.2.1.3.
enum class PkiStatus { kSuccess = 0, kFailure = 2, kPending = 3 };
// RFC 8894 §3.2.1.4.
enum class FailInfo { kBadAlg = 0, kBadMessageCheck = 1, kBadRequest = 2, kBadTime = 3, kBadCertId = 4 };

const char* MessageTypeName(MessageType type);
const char* FailInfoName(FailInfo info);

// The content encryption of an EnvelopedData. Single DES only to answer an
// old client in the cipher it used (OpenSSL's legacy provider).
enum class ContentCipher { kAes128Cbc, kAes192Cbc, kAes256Cbc, kDes3Cbc, kDesCbc };

// What a pkiMessage says; the fields that are absent stay empty.
struct PkiMessageFields {
  MessageType type = MessageType::kUnknown;
  std::string transaction_id;  // PrintableString
  std::string sender_nonce;    // 16 octets
  std::string recipient_nonce;
  PkiStatus status = PkiStatus::kSuccess;  // CertRep only
  FailInfo fail_info = FailInfo::kBadRequest;  // CertRep with FAILURE only
};

// A parsed, not yet verified, pkiMessage.
struct PkiMessage {
  PkiMessageFields fields;
  bool has_status = false;
  bool has_fail_info = false;
  // The signer's certificate as carried in the message (the requester's
  // self-signed or current certificate; the CA's or RA's in a reply).
  X509Ptr signer;
  std::string digest_name;  // the signer's digest, e.g. "SHA256"
  CmsPtr cms;
};

// Parses the DER of a pkiMessage: one SignerInfo whose certificate is in the
// message, the SCEP attributes well-formed. Does not verify the signature.
absl::StatusOr<PkiMessage> ParsePkiMessage(absl::string_view der);

// Checks the signature over the signed attributes and content with the
// signer's certificate (not its chain) and returns the signed content: the
// DER of the EnvelopedData, or empty when the message has none.
absl::StatusOr<std::string> VerifyPkiMessage(const PkiMessage& message);

// Builds a pkiMessage: `content` (an EnvelopedData, or empty for a FAILURE
// or PENDING reply) signed by `signer`/`key` with SHA-256, with `signer` and
// `extra_certs` in the certificates field. The encapsulated content is
// always present, empty when there is none, as other SCEP servers send and
// strict clients (certmonger) need.
absl::StatusOr<std::string> BuildPkiMessage(const PkiMessageFields& fields,
                                            absl::string_view content, X509* signer, EVP_PKEY* key,
                                            const std::vector<X509*>& extra_certs = {});

// EnvelopedData to `recipients` (RSA key transport or ECDH key agreement,
// as the recipient's key needs).
absl::StatusOr<std::string> SealEnvelope(absl::string_view content,
                                         const std::vector<X509*>& recipients,
                                         ContentCipher cipher);
// Decrypts an EnvelopedData for `cert`/`key`. Accepts AES, 3DES and, for
// old clients, single DES; `used` (optional) tells which, so that the reply
// can be sealed the same way.
absl::StatusOr<std::string> OpenEnvelope(absl::string_view der, X509* cert, EVP_PKEY* key,
                                         ContentCipher* used = nullptr);

// A degenerate certificates-only SignedData (RFC 8894 §3.4).
absl::StatusOr<std::string> DegenerateCertsOnly(const std::vector<X509*>& certs,
                                                absl::string_view crl_der = {});
// The same from certificates' DER, without parsing them (what a CA sends
// back after issuing; parsing would decode each public key once more). The
// certificates go in DER SET OF order, as OpenSSL's encoder writes them.
std::string DegenerateCertsOnlyDer(const std::vector<std::string>& cert_ders);
struct Degenerate {
  std::vector<X509Ptr> certs;
  std::vector<X509CrlPtr> crls;
};
absl::StatusOr<Degenerate> ParseDegenerate(absl::string_view der);

// IssuerAndSerialNumber (GetCert, GetCRL) and IssuerAndSubject (CertPoll),
// RFC 8894 §3.3.3 and §3.3.2.
struct IssuerAndSerial {
  std::string issuer_der;  // X.501 Name
  std::string serial_hex;  // lower-case, no leading zeros
};
absl::StatusOr<std::string> EncodeIssuerAndSerial(X509* cert);
absl::StatusOr<IssuerAndSerial> DecodeIssuerAndSerial(absl::string_view der);
struct IssuerAndSubject {
  std::string issuer_der;
  std::string subject_der;
};
std::string EncodeIssuerAndSubject(X509_NAME* issuer, X509_NAME* subject);
absl::StatusOr<IssuerAndSubject> DecodeIssuerAndSubject(absl::string_view der);

// Loads OpenSSL's legacy provider next to the default one, so that
// requests enveloped with single DES (older SCEP clients) can be opened.
// Idempotent; returns false if the provider is not installed.
bool EnableLegacyCiphers();

}  // namespace vpnfleet::pki::scep

#endif  // VPNFLEET_SERVICES_PKI_SCEP_PKI_MESSAGE_H_
