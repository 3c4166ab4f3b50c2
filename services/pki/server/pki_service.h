// vpnfleet.pki.v1.PkiService. The CA, SCEP server and store arrive with the
// PKI issue; until then every RPC answers UNIMPLEMENTED.
#ifndef VPNFLEET_SERVICES_PKI_SERVER_PKI_SERVICE_H_
#define VPNFLEET_SERVICES_PKI_SERVER_PKI_SERVICE_H_

#include "vpnfleet/pki/v1/pki.grpc.pb.h"

namespace vpnfleet::pki {


class PkiServiceImpl final : public v1::PkiService::Service {
 public:
  grpc::Status GetCaInfo(grpc::ServerContext*, const v1::GetCaInfoRequest*, v1::CaInfo*) override;
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
  grpc::Status ApproveRequest(grpc::ServerContext*, const v1::ApproveRequestRequest*,
                              v1::ApproveRequestResponse*) override;
  grpc::Status RejectRequest(grpc::ServerContext*, const v1::RejectRequestRequest*,
                             v1::RejectRequestResponse*) override;
};

}  // namespace vpnfleet::pki

#endif  // VPNFLEET_SERVICES_PKI_SERVER_PKI_SERVICE_H_
