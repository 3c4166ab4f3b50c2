// `vpnfleet pki ...` and `vpnfleet show crypto pki certificates`: the
// router's `crypto pki authenticate/enroll` for an edge (SCEP client), and
// the operator's side of the CA through vpnfleet.pki.v1 (challenges,
// approvals, revocation, CRL, inventory).
#ifndef VPNFLEET_CLI_PKI_COMMAND_H_
#define VPNFLEET_CLI_PKI_COMMAND_H_

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "vpnfleet/pki/v1/pki.pb.h"

namespace vpnfleet::cli {

struct PkiCliOptions {
  bool json = false;
  std::string pki_target;  // gRPC address of the PKI service
  std::chrono::milliseconds timeout{3000};
  // SCEP client side.
  std::string url;          // http://host:port/scep
  std::string fingerprint;  // CA SHA-256 to pin
  std::string challenge;
  std::string subject;      // "CN=edge1,O=Example"
  std::vector<std::string> sans;  // "DNS:x", "IP:y"
  std::string key_type = "ecdsa-p256";
  std::string key_file, cert_file, ca_file;
  std::string crl_file;     // enroll: also fetch the CA's CRL (SCEP GetCRL) into it
  int poll_seconds = 5;
  int wait_seconds = 300;  // how long to poll a pending request
  int days_before = 30;    // renew when fewer days are left
  bool watch = false;      // renew: keep checking and renewing
  // API side.
  std::string device, cn, reason;
  bool approval = false;
  int valid_seconds = 0;
};

// args: what follows "pki" (e.g. {"enroll"}). Returns the exit code.
int RunPki(const std::vector<std::string>& args, const PkiCliOptions& options, std::ostream& out,
           std::ostream& err);

// `show crypto pki certificates`, in the IOS layout.
void PrintCertificatesIos(const vpnfleet::pki::v1::CaInfo& ca,
                          const std::vector<vpnfleet::pki::v1::Certificate>& certs,
                          std::ostream& out);

}  // namespace vpnfleet::cli

#endif  // VPNFLEET_CLI_PKI_COMMAND_H_
