// vpnfleet.pki.v1.PkiService over the enrollment rules: CA information,
// one-time challenges, the certificate inventory, revocation, the CRL and
// the approval queue. API requests are validated here; the rules and the
// store are in Enrollment.
#ifndef VPNFLEET_SERVICES_PKI_SERVER_PKI_SERVICE_H_
#define VPNFLEET_SERVICES_PKI_SERVER_PKI_SERVICE_H_

#include <string>
#include <vector>

#include "services/pki/enrollment/enrollment.h"
#include "common/security/authorizer.h"
#include "vpnfleet/pki/v1/pki.grpc.pb.h"

namespace vpnfleet::pki {

struct PkiServiceInfo {
  std::string scep_url;  // as devices reach it
  std::string crl_url;
  std::vector<std::string> scep_capabilities;
  std::vector<v1::CaCertificate> chain_above;  // the issuing CA's issuers, root last
  std::vector<v1::CaCertificate> ra;  // SCEP RA certificates, if any
};

class PkiServiceImpl final : public v1::PkiService::Service {
 public:
  PkiServiceImpl(Enrollment* enrollment, PkiServiceInfo info, const security::Authorizer* authz)
      : authz_(authz), enrollment_(enrollment), info_(std::move(info)) {}

  grpc::Status GetCaInfo(grpc::ServerContext*, const v1::GetCaInfoRequest*, v1::CaInfo*) override;
  grpc::Status RegisterDevice(grpc::ServerContext*, const v1::RegisterDeviceRequest*,
                              v1::DeviceRegistration*) override;
  grpc::Status IssueChallenge(grpc::ServerContext*, const v1::IssueChallengeRequest*,
                              v1::Challenge*) override;
  grpc::Status ListCertificates(grpc::ServerContext*, const v1::ListCertificatesRequest*,
                                v1::ListCertificatesResponse*) override;
  grpc::Status GetCertificate(grpc::ServerContext*, const v1::GetCertificateRequest*,
                              v1::Certificate*) override;
  grpc::Status RevokeCertificate(grpc::ServerContext*, const v1::RevokeCertificateRequest*,
                                 v1::RevokeCertificateResponse*) override;
  grpc::Status GetCrl(grpc::ServerContext*, const v1::GetCrlRequest*, v1::Crl*) override;
  grpc::Status ListPendingRequests(grpc::ServerContext*, const v1::ListPendingRequestsRequest*,
                                   v1::ListPendingRequestsResponse*) override;
  grpc::Status IssueIdentity(grpc::ServerContext*, const v1::IssueIdentityRequest*,
                             v1::IssuedIdentity*) override;
  grpc::Status ApproveRequest(grpc::ServerContext*, const v1::ApproveRequestRequest*,
                              v1::ApproveRequestResponse*) override;
  grpc::Status RejectRequest(grpc::ServerContext*, const v1::RejectRequestRequest*,
                             v1::RejectRequestResponse*) override;

 private:
  v1::Certificate ToProto(const CertificateRecord& c) const;

  const security::Authorizer* authz_;
  Enrollment* enrollment_;
  PkiServiceInfo info_;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_SERVER_PKI_SERVICE_H_
