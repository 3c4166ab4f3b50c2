#include "services/pki/server/pki_service.h"

#include "gtest/gtest.h"

namespace vpnfleet::pki {
namespace {

// Until the CA exists, every RPC says so; none answers with empty data that
// a client could take for "no certificates".
TEST(PkiService, EveryRpcIsUnimplemented) {
  PkiServiceImpl s;
  v1::CaInfo ca;
  v1::Challenge ch;
  v1::ListCertificatesResponse certs;
  v1::Certificate cert;
  v1::RevokeCertificateResponse rev;
  v1::Crl crl;
  v1::ListPendingRequestsResponse pending;
  v1::ApproveRequestResponse approve;
  v1::RejectRequestResponse reject;
  for (const grpc::Status& st :
       {s.GetCaInfo(nullptr, nullptr, &ca), s.IssueChallenge(nullptr, nullptr, &ch),
        s.ListCertificates(nullptr, nullptr, &certs), s.GetCertificate(nullptr, nullptr, &cert),
        s.RevokeCertificate(nullptr, nullptr, &rev), s.GetCrl(nullptr, nullptr, &crl),
        s.ListPendingRequests(nullptr, nullptr, &pending),
        s.ApproveRequest(nullptr, nullptr, &approve), s.RejectRequest(nullptr, nullptr, &reject)}) {
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
    EXPECT_FALSE(st.error_message().empty());
  }
  EXPECT_EQ(certs.certificates_size(), 0);
}

}  // namespace
}  // namespace vpnfleet::pki
