#include "services/pki/server/pki_service.h"

#include "common/status/grpc_status.h"

namespace vpnfleet::pki {

grpc::Status PkiServiceImpl::GetCaInfo(grpc::ServerContext*, const v1::GetCaInfoRequest*,
                                       v1::CaInfo*) {
  return NotYetImplemented("the certificate authority (GetCaInfo)");
}
grpc::Status PkiServiceImpl::IssueChallenge(grpc::ServerContext*, const v1::IssueChallengeRequest*,
                                            v1::Challenge*) {
  return NotYetImplemented("SCEP challenge passwords (IssueChallenge)");
}
grpc::Status PkiServiceImpl::ListCertificates(grpc::ServerContext*,
                                              const v1::ListCertificatesRequest*,
                                              v1::ListCertificatesResponse*) {
  return NotYetImplemented("the certificate store (ListCertificates)");
}
grpc::Status PkiServiceImpl::GetCertificate(grpc::ServerContext*, const v1::GetCertificateRequest*,
                                            v1::Certificate*) {
  return NotYetImplemented("the certificate store (GetCertificate)");
}
grpc::Status PkiServiceImpl::RevokeCertificate(grpc::ServerContext*,
                                               const v1::RevokeCertificateRequest*,
                                               v1::RevokeCertificateResponse*) {
  return NotYetImplemented("revocation (RevokeCertificate)");
}
grpc::Status PkiServiceImpl::GetCrl(grpc::ServerContext*, const v1::GetCrlRequest*, v1::Crl*) {
  return NotYetImplemented("CRL publishing (GetCrl)");
}
grpc::Status PkiServiceImpl::ListPendingRequests(grpc::ServerContext*,
                                                 const v1::ListPendingRequestsRequest*,
                                                 v1::ListPendingRequestsResponse*) {
  return NotYetImplemented("manual approval (ListPendingRequests)");
}
grpc::Status PkiServiceImpl::ApproveRequest(grpc::ServerContext*, const v1::ApproveRequestRequest*,
                                            v1::ApproveRequestResponse*) {
  return NotYetImplemented("manual approval (ApproveRequest)");
}
grpc::Status PkiServiceImpl::RejectRequest(grpc::ServerContext*, const v1::RejectRequestRequest*,
                                           v1::RejectRequestResponse*) {
  return NotYetImplemented("manual approval (RejectRequest)");
}

}  // namespace vpnfleet::pki
