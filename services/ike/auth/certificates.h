// Certificate authentication for IKEv2 (RFC 7296 §2.15, §3.6-3.8; RFC 7427):
// our side of a `crypto pki trustpoint` (private key and certificate chain)
// signs the AUTH octets, and the trust anchors of all trustpoints judge what
// a peer sends: the chain, its revocation (`revocation-check crl`, `ocsp`,
// `none`, tried in order), that its identity is in its certificate, and its
// signature.
//
// Sans-I/O like the rest of the IKE SA: the caller loads PEM text and gives
// the time of validation. Nothing here logs; errors say what was wrong with
// the peer's certificate without quoting key material.
#ifndef VPNFLEET_SERVICES_IKE_AUTH_CERTIFICATES_H_
#define VPNFLEET_SERVICES_IKE_AUTH_CERTIFICATES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/crypto/openssl_ptr.h"
#include "services/ike/auth/ocsp.h"
#include "services/ike/codec/ikev2_message.h"

namespace vpnfleet::ike::auth {

// AUTH methods (IANA "IKEv2 Authentication Method").
inline constexpr uint8_t kAuthRsaSignature = 1;      // PKCS#1 v1.5 with SHA-1
inline constexpr uint8_t kAuthSharedKey = 2;
inline constexpr uint8_t kAuthEcdsaP256 = 9;         // RFC 4754, SHA-256, r|s
inline constexpr uint8_t kAuthEcdsaP384 = 10;        // SHA-384
inline constexpr uint8_t kAuthEcdsaP521 = 11;        // SHA-512
inline constexpr uint8_t kAuthDigitalSignature = 14;  // RFC 7427
// IKEv1 `rsa-encr` has no IKEv2 AUTH method: a private-use number (201..255)
// says how a peer authenticated.
inline constexpr uint8_t kAuthRsaEncryptedNonces = 201;

// CERT and CERTREQ encoding (§3.6): X.509 certificate, signature.
inline constexpr uint8_t kCertX509Signature = 4;

// SIGNATURE_HASH_ALGORITHMS (RFC 7427 §4) values.
inline constexpr uint16_t kHashSha256 = 2;
inline constexpr uint16_t kHashSha384 = 3;
inline constexpr uint16_t kHashSha512 = 4;

// The notify data we send: SHA2-256, SHA2-384, SHA2-512.
std::string OurHashAlgorithms();
// The peer's list, two octets each; malformed trailing octets are ignored.
std::vector<uint16_t> ParseHashAlgorithms(absl::string_view data);

// ID payload types (§3.5).
inline constexpr uint8_t kIdIpv4 = 1;
inline constexpr uint8_t kIdFqdn = 2;
inline constexpr uint8_t kIdRfc822 = 3;
inline constexpr uint8_t kIdIpv6 = 5;
inline constexpr uint8_t kIdDn = 9;

// Our key and certificate chain (leaf first), from one trustpoint.
class LocalCredential {
 public:
  static absl::StatusOr<std::shared_ptr<const LocalCredential>> FromPem(
      std::string trustpoint, absl::string_view key_pem, absl::string_view certs_pem);

  const std::string& trustpoint() const { return trustpoint_; }
  // DER of each certificate to send in CERT payloads, leaf first.
  const std::vector<std::string>& chain_der() const { return chain_der_; }
  // ID_DER_ASN1_DN of the leaf's subject (`crypto isakmp identity dn`).
  v2::IdPayload DnIdentity() const;
  X509* leaf() const { return leaf_.get(); }
  bool is_rsa() const;

  // AUTH over `octets` (§2.15 signed octets): RFC 7427 with a hash the peer
  // announced (`peer_hashes` non-empty), else the key type's classic method.
  absl::StatusOr<v2::AuthPayload> Sign(absl::string_view octets,
                                       const std::vector<uint16_t>& peer_hashes) const;
  // IKEv1's SIG_I/SIG_R (RFC 2409 §5.1, RFC 4754 §7): the already computed
  // HASH_I/HASH_R signed as it is, without a DigestInfo: PKCS#1 v1.5
  // padding for RSA, r|s in fixed-size halves for ECDSA (what strongSwan
  // and IOS send).
  absl::StatusOr<std::string> SignDigest(absl::string_view digest) const;
  // The curve's size in bits for an ECDSA key (256, 384, 521); 0 for RSA.
  int ec_bits() const;

 private:
  LocalCredential() = default;
  std::string trustpoint_;
  ossl::EvpKey key_;
  ossl::X509Ptr leaf_;
  std::vector<std::string> chain_der_;
};

// `revocation-check` methods (IOS): tried in order until one gives an
// answer; kNone at the end accepts a certificate nobody could vouch for.
enum class Revocation { kCrl, kOcsp, kNone };

// The trust anchors of every trustpoint, each with its CRLs and how it
// checks revocation.
class TrustStore {
 public:
  struct TrustpointPem {
    std::string name;
    std::string ca_pem;   // one or more certificates: the root and any issuing CAs
    std::string crl_pem;  // zero or more CRLs (PEM or DER)
    bool check_crl = false;  // `revocation-check crl` (when `revocation` is empty)
    std::vector<Revocation> revocation = {};
    std::string ocsp_url = "";  // `ocsp url`: instead of the certificates' own
  };
  // `ocsp` holds the OCSP verdicts the daemon fetched (may be null: OCSP
  // then never answers and the next method is tried).
  static absl::StatusOr<std::shared_ptr<const TrustStore>> Make(
      const std::vector<TrustpointPem>& trustpoints, std::shared_ptr<OcspCache> ocsp = nullptr);
  ~TrustStore();

  // CERTREQ data (§3.7): SHA-1 of every anchor's SubjectPublicKeyInfo.
  const std::string& certreq_data() const { return certreq_; }
  // IKEv1's CR data (RFC 4945 §3.2.4): the DER subject name of every CA
  // certificate of every trustpoint.
  const std::vector<std::string>& ca_names() const { return ca_names_; }

  // The peer's CERT payloads (leaf first, X.509 signature encoding) checked
  // against each trustpoint at `now`: chain, validity, key usage and, where
  // configured, revocation. On success the leaf and the trustpoint's name.
  // When OCSP is to be asked and the cache has no verdict yet, and `ask` is
  // given: UNAVAILABLE, with the question in `*ask` (the caller fetches the
  // answer into the cache and verifies again). Without `ask` OCSP counts as
  // unavailable.
  struct Verified {
    ossl::X509Ptr leaf;
    std::string trustpoint;
    std::string subject;  // RFC 2253 text, for logs and `show`
    std::string revocation;  // how its status was established: "crl", "ocsp", "none", ""
  };
  absl::StatusOr<Verified> Verify(const std::vector<const v2::CertPayload*>& certs,
                                  absl::Time now, OcspQuery* ask = nullptr) const;

 private:
  struct Anchor;
  TrustStore() = default;
  std::vector<std::unique_ptr<Anchor>> anchors_;
  std::string certreq_;
  std::vector<std::string> ca_names_;
  std::shared_ptr<OcspCache> ocsp_;
};

// Is `id` a name of `cert`: its subject DN (ID_DER_ASN1_DN), or one of its
// subjectAltNames (IP address, dNSName, rfc822Name)?
absl::Status IdMatchesCertificate(const v2::IdPayload& id, X509* cert);

// Checks a peer's AUTH (methods 1, 9, 10, 11, 14) made with `cert`'s key.
absl::Status VerifySignature(X509* cert, const v2::AuthPayload& auth, absl::string_view octets);

// Checks an IKEv1 SIG over `digest` (see LocalCredential::SignDigest) with
// `cert`'s key, which must be RSA (`ecdsa` false) or ECDSA (`ecdsa` true).
absl::Status VerifyDigestSignature(X509* cert, bool ecdsa, absl::string_view digest,
                                   absl::string_view sig);

// The subject of `cert` as RFC 2253 text.
std::string SubjectText(X509* cert);
// An ID_DER_ASN1_DN's data as RFC 2253 text; "" if it is not a DN.
std::string DnText(absl::string_view der);

}  // namespace vpnfleet::ike::auth

#endif  // VPNFLEET_SERVICES_IKE_AUTH_CERTIFICATES_H_
