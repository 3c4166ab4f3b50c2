// `crypto pki trustpoint NAME` on disk: what `vpnfleet pki authenticate`
// and `vpnfleet pki enroll` leave in DIR/NAME/ —
//   ca.pem    the CA certificate(s) (`crypto pki authenticate`)
//   cert.pem  our certificate, then any issuing CAs to send with it
//   key.pem   our private key (unencrypted PKCS#8, mode 0600)
//   crl.pem   the CA's CRL, read when `revocation-check` names crl
// loaded into what IKE SAs sign and verify with. The daemon reloads when
// the configuration changes and when any of these files does.
#ifndef VPNFLEET_SERVICES_IKE_DAEMON_TRUSTPOINTS_H_
#define VPNFLEET_SERVICES_IKE_DAEMON_TRUSTPOINTS_H_

#include <memory>
#include <string>
#include <vector>

#include "services/ike/auth/certificates.h"
#include "services/ike/auth/rsa_encryption.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::ike {

struct LoadedTrustpoints {
  // The first trustpoint (by name) holding both a key and a certificate.
  std::shared_ptr<const auth::LocalCredential> credential;
  // Our RSA key pair for `authentication rsa-encr`: the first trustpoint
  // (by name) whose key.pem is an RSA key, enrolled or not (IOS uses the
  // router's RSA keys, no certificate needed).
  std::shared_ptr<const auth::RsaKeyPair> rsa_key;
  // Every authenticated trustpoint's CAs; null when there is none.
  std::shared_ptr<const auth::TrustStore> trust;
  std::vector<std::string> warnings;
  // Size and modification time of every file looked at, to notice changes.
  std::string fingerprint;
};

// `ocsp` (may be null) is the daemon's OCSP verdict cache, kept across reloads.
LoadedTrustpoints LoadTrustpoints(const vpnfleet::ike::v1::IkeConfig& config,
                                  const std::string& dir,
                                  std::shared_ptr<auth::OcspCache> ocsp = nullptr);

// A trustpoint's `revocation-check` methods in order (revocation_check_crl
// alone is [crl]); and whether one of them is crl (its CRL is then fetched).
std::vector<auth::Revocation> RevocationMethods(const vpnfleet::ike::v1::Trustpoint& tp);
bool ChecksCrl(const vpnfleet::ike::v1::Trustpoint& tp);

// The `fingerprint` LoadTrustpoints would give now, without reading keys.
std::string TrustpointFilesFingerprint(const vpnfleet::ike::v1::IkeConfig& config,
                                       const std::string& dir);

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DAEMON_TRUSTPOINTS_H_
