#include "services/pki/server/pki_service.h"

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

class PkiServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = TestPki::Make();
    ASSERT_NE(pki_, nullptr);
    service_ = std::make_unique<PkiServiceImpl>(
        pki_->enrollment.get(),
        PkiServiceInfo{"http://127.0.0.1:18080/scep", "http://127.0.0.1:18080/crl/ca.crl",
                       {"POSTPKIOperation"}, {}, {}},
        authz_.get());
  }
  // Enrolls through the rules the SCEP responder uses; returns the serial.
  std::string Enroll(const std::string& device, bool approval = false) {
    v1::IssueChallengeRequest req;
    req.set_device(device);
    req.add_subject_alt_names("DNS:" + device);
    req.set_require_approval(approval);
    v1::Challenge ch;
    EXPECT_TRUE(service_->IssueChallenge(nullptr, &req, &ch).ok());
    EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
    X509Ptr self = std::move(*SelfSigned(key.get(), "CN=" + device));
    unsigned char* der = nullptr;
    const int n = i2d_X509(self.get(), &der);
    std::string self_der(reinterpret_cast<char*>(der), n);
    OPENSSL_free(der);
    const std::string csr = *BuildCsr({"CN=" + device, {"DNS:" + device}, ch.password()}, key.get());
    EnrollOutcome o = pki_->enrollment->Enroll(csr, "tx-" + device, self_der);
    return o.certificate.serial_hex;
  }

  std::unique_ptr<TestPki> pki_;
  std::shared_ptr<security::Authorizer> authz_ = security::Authorizer::AllowAllForTests();
  std::unique_ptr<PkiServiceImpl> service_;
};

TEST_F(PkiServiceTest, CaInfoAndChallenge) {
  v1::CaInfo info;
  ASSERT_TRUE(service_->GetCaInfo(nullptr, nullptr, &info).ok());
  ASSERT_EQ(info.chain_size(), 1);
  EXPECT_EQ(info.chain(0).role(), v1::CaCertificate::ROLE_ROOT);
  EXPECT_EQ(info.scep_url(), "http://127.0.0.1:18080/scep");
  EXPECT_GT(info.crl_next_update_unix_seconds(), 0);

  v1::IssueChallengeRequest req;
  v1::Challenge ch;
  EXPECT_EQ(service_->IssueChallenge(nullptr, &req, &ch).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_device("edge1");
  req.set_valid_seconds(3600);
  ASSERT_TRUE(service_->IssueChallenge(nullptr, &req, &ch).ok());
  EXPECT_FALSE(ch.password().empty());
  EXPECT_EQ(ch.device(), "edge1");
  req.set_valid_seconds(90 * 24 * 3600);
  EXPECT_EQ(service_->IssueChallenge(nullptr, &req, &ch).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PkiServiceTest, ListGetRevokeAndCrl) {
  const std::string s1 = Enroll("edge1");
  const std::string s2 = Enroll("edge2");
  ASSERT_FALSE(s1.empty());
  v1::ListCertificatesRequest list;
  v1::ListCertificatesResponse all;
  ASSERT_TRUE(service_->ListCertificates(nullptr, &list, &all).ok());
  ASSERT_EQ(all.certificates_size(), 2);
  EXPECT_EQ(all.certificates(0).state(), v1::CERTIFICATE_STATE_VALID);
  EXPECT_GT(all.certificates(0).extended_key_usage_size(), 0);
  EXPECT_EQ(all.certificates(0).crl_distribution_points_size(), 1);

  v1::GetCertificateRequest get;
  v1::Certificate cert;
  get.set_serial_hex(absl::AsciiStrToUpper(s1));
  ASSERT_TRUE(service_->GetCertificate(nullptr, &get, &cert).ok());
  EXPECT_EQ(cert.device(), "edge1");
  get.set_serial_hex("not hex");
  EXPECT_EQ(service_->GetCertificate(nullptr, &get, &cert).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  get.set_serial_hex("abcdef");
  EXPECT_EQ(service_->GetCertificate(nullptr, &get, &cert).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::Crl before;
  ASSERT_TRUE(service_->GetCrl(nullptr, nullptr, &before).ok());
  EXPECT_EQ(before.revoked_count(), 0u);
  v1::RevokeCertificateRequest revoke;
  revoke.set_serial_hex(s2);
  revoke.set_reason(v1::REVOCATION_REASON_KEY_COMPROMISE);
  v1::RevokeCertificateResponse revoked;
  ASSERT_TRUE(service_->RevokeCertificate(nullptr, &revoke, &revoked).ok());
  EXPECT_EQ(revoked.certificate().state(), v1::CERTIFICATE_STATE_REVOKED);
  EXPECT_EQ(service_->RevokeCertificate(nullptr, &revoke, &revoked).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  list.set_state(v1::CERTIFICATE_STATE_REVOKED);
  v1::ListCertificatesResponse only_revoked;
  ASSERT_TRUE(service_->ListCertificates(nullptr, &list, &only_revoked).ok());
  ASSERT_EQ(only_revoked.certificates_size(), 1);
  EXPECT_EQ(only_revoked.certificates(0).serial_hex(), s2);

  v1::Crl crl;
  ASSERT_TRUE(service_->GetCrl(nullptr, nullptr, &crl).ok());
  EXPECT_EQ(crl.revoked_count(), 1u);
  EXPECT_EQ(crl.crl_number(), before.crl_number() + 1);
}

TEST_F(PkiServiceTest, ApproveAndRejectPendingRequests) {
  EXPECT_TRUE(Enroll("edge5", true).empty());
  EXPECT_TRUE(Enroll("edge6", true).empty());
  v1::ListPendingRequestsResponse pending;
  ASSERT_TRUE(service_->ListPendingRequests(nullptr, nullptr, &pending).ok());
  ASSERT_EQ(pending.requests_size(), 2);
  v1::ApproveRequestRequest approve;
  approve.set_transaction_id("tx-edge5");
  v1::ApproveRequestResponse ok;
  ASSERT_TRUE(service_->ApproveRequest(nullptr, &approve, &ok).ok());
  EXPECT_EQ(service_->ApproveRequest(nullptr, &approve, &ok).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  v1::RejectRequestRequest reject;
  reject.set_transaction_id("tx-edge6");
  reject.set_reason("unknown device");
  v1::RejectRequestResponse rej;
  ASSERT_TRUE(service_->RejectRequest(nullptr, &reject, &rej).ok());
  reject.set_transaction_id("tx-none");
  EXPECT_EQ(service_->RejectRequest(nullptr, &reject, &rej).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::ListPendingRequestsResponse after;
  ASSERT_TRUE(service_->ListPendingRequests(nullptr, nullptr, &after).ok());
  EXPECT_EQ(after.requests_size(), 0);
  v1::ListCertificatesRequest list;
  list.set_device("edge5");
  v1::ListCertificatesResponse certs;
  ASSERT_TRUE(service_->ListCertificates(nullptr, &list, &certs).ok());
  EXPECT_EQ(certs.certificates_size(), 1);
}

}  // namespace
}  // namespace vpnfleet::pki
