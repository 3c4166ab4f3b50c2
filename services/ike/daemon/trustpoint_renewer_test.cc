#include "services/ike/daemon/trustpoint_renewer.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/files/files.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"
#include "services/pki/scep/loopback_transport.h"
#include "services/pki/scep/responder.h"

namespace vpnfleet::ike {
namespace {

namespace pv1 = vpnfleet::pki::v1;

std::string Pem(X509* cert) { return pki::DerToPem(pki::DerOf(cert), "CERTIFICATE"); }

std::string SerialOf(const std::string& path) {
  auto pem = files::ReadFile(path);
  if (!pem.ok()) return "";
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), BIO_free_all);
  pki::X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  return c ? pki::SerialHex(X509_get0_serialNumber(c.get())) : "";
}

class TrustpointRenewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = pki::TestPki::Make(pv1::KEY_ALGORITHM_RSA_2048);
    ASSERT_NE(pki_, nullptr);
    responder_ = std::make_unique<pki::scep::Responder>(pki_->enrollment.get(),
                                                        pki_->ca->certificate(), pki_->ca->key());
    char tmpl[] = "/tmp/vpnfleet-renewer-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(mkdir((dir_ + "/fleet").c_str(), 0700), 0);
    // The edge enrolls as `vpnfleet device enroll` does: CA, key, certificate.
    pki::scep::LoopbackTransport http(responder_.get());
    pki::scep::ScepClient client(&http);
    auto ca = client.Authenticate(pki_->ca->Describe().fingerprint_sha256());
    ASSERT_TRUE(ca.ok()) << ca.status();
    auto ch = pki_->enrollment->IssueChallenge("edge1", "edge1", {"DNS:edge1.example"},
                                               absl::Hours(1), false);
    ASSERT_TRUE(ch.ok());
    pki::EvpKey key = std::move(*pki::GenerateKey(pv1::KEY_ALGORITHM_ECDSA_P256));
    auto r = client.Enroll(*ca, {"CN=edge1", {"DNS:edge1.example"}, ch->password}, key.get());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(files::WriteFileAtomically(dir_ + "/fleet/ca.pem", Pem(ca->ca.get())).ok());
    ASSERT_TRUE(files::WriteFileAtomically(dir_ + "/fleet/cert.pem", Pem(r->certificate.get())).ok());
    ASSERT_TRUE(
        files::WriteFileAtomically(dir_ + "/fleet/key.pem", *pki::PrivateKeyToPem(key.get(), ""), 0600)
            .ok());
    first_serial_ = pki::SerialHex(X509_get0_serialNumber(r->certificate.get()));
    issued_ = pki::DescribeCertificate(r->certificate.get());

    auto* tp = config_.add_trustpoints();
    tp->set_name("fleet");
    tp->set_enrollment_url("http://pki.test/scep");
    tp->set_auto_enroll_percent(70);
    tp->set_revocation_check_crl(true);
  }
  void TearDown() override {
    renewer_.reset();
    std::string cmd = "rm -rf " + dir_;
    (void)!system(cmd.c_str());
  }

  void MakeRenewer(bool reachable = true) {
    RenewerOptions o;
    o.pki_dir = dir_;
    renewer_ = std::make_unique<TrustpointRenewer>(
        &clock_, [this] { return config_; },
        [this, reachable](const std::string& url)
            -> absl::StatusOr<std::unique_ptr<pki::scep::HttpTransport>> {
          urls_.push_back(url);
          if (!reachable) return absl::UnavailableError("cannot reach pki.test:80");
          return std::unique_ptr<pki::scep::HttpTransport>(
              new pki::scep::LoopbackTransport(responder_.get()));
        },
        &registry_, o);
  }

  std::string Metrics() {
    return prometheus::TextSerializer().Serialize(registry_.Collect());
  }

  std::unique_ptr<pki::TestPki> pki_;
  std::unique_ptr<pki::scep::Responder> responder_;
  std::string dir_;
  std::string first_serial_;
  pki::IssuedCertificate issued_;
  vpnfleet::ike::v1::IkeConfig config_;
  FakeClock clock_{absl::Now()};
  prometheus::Registry registry_;
  std::vector<std::string> urls_;
  std::unique_ptr<TrustpointRenewer> renewer_;
};

TEST_F(TrustpointRenewerTest, RenewsAtItsPercentageAndKeepsItsNames) {
  MakeRenewer();
  // Not due yet: only the CRL is fetched, and the expiry is exported.
  auto first = renewer_->RunOnce();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].action, TrustpointRenewer::Outcome::Action::kCrlFetched) << first[0].detail;
  EXPECT_EQ(SerialOf(dir_ + "/fleet/cert.pem"), first_serial_);
  auto crl = files::ReadFile(dir_ + "/fleet/crl.pem");
  ASSERT_TRUE(crl.ok());
  EXPECT_NE(crl->find("BEGIN X509 CRL"), std::string::npos);
  EXPECT_NE(Metrics().find(absl::StrCat(
                "vpnfleet_ike_trustpoint_certificate_expiry_timestamp_seconds{trustpoint=\"fleet\"} ",
                absl::ToUnixSeconds(issued_.not_after))),
            std::string::npos)
      << Metrics();

  // 71% of the lifetime on: renewed with a new key, the same names.
  const auto old_key = files::ReadFile(dir_ + "/fleet/key.pem");
  clock_.Advance((issued_.not_after - issued_.not_before) * 0.71);
  pki_->clock.Advance((issued_.not_after - issued_.not_before) * 0.71);  // the CA's time too
  auto second = renewer_->RunOnce();
  ASSERT_GE(second.size(), 1u);
  EXPECT_EQ(second[0].action, TrustpointRenewer::Outcome::Action::kRenewed) << second[0].detail;
  const std::string serial = SerialOf(dir_ + "/fleet/cert.pem");
  EXPECT_EQ(serial, second[0].detail);
  EXPECT_NE(serial, first_serial_);
  EXPECT_NE(*files::ReadFile(dir_ + "/fleet/key.pem"), *old_key);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/fleet/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto record = pki_->store->GetCertificate(serial);
  ASSERT_TRUE(record.ok() && record->has_value());
  EXPECT_EQ((*record)->subject, issued_.subject);
  EXPECT_NE(std::find((*record)->subject_alt_names.begin(), (*record)->subject_alt_names.end(),
                      "DNS:edge1.example"),
            (*record)->subject_alt_names.end());
  // The old certificate is superseded at the CA.
  auto old = pki_->store->GetCertificate(first_serial_);
  ASSERT_TRUE(old.ok() && old->has_value());
  EXPECT_EQ((*old)->revocation_reason, pv1::REVOCATION_REASON_SUPERSEDED);
  EXPECT_NE(Metrics().find("vpnfleet_ike_trustpoint_renewals_total{result=\"ok\",trustpoint=\"fleet\"} 1"),
            std::string::npos)
      << Metrics();
  EXPECT_EQ(urls_.front(), "http://pki.test/scep");

  // The new certificate is far from due: nothing more happens.
  for (const auto& o : renewer_->RunOnce()) {
    EXPECT_NE(o.action, TrustpointRenewer::Outcome::Action::kRenewed);
  }
  EXPECT_EQ(SerialOf(dir_ + "/fleet/cert.pem"), serial);
}

TEST_F(TrustpointRenewerTest, AFailedRenewalKeepsTheCertificateAndRetriesLater) {
  MakeRenewer(/*reachable=*/false);
  clock_.Advance((issued_.not_after - issued_.not_before) * 0.8);
  auto r = renewer_->RunOnce();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].action, TrustpointRenewer::Outcome::Action::kRenewFailed);
  EXPECT_NE(r[0].detail.find("cannot reach"), std::string::npos);
  EXPECT_EQ(r[1].action, TrustpointRenewer::Outcome::Action::kCrlFailed);
  EXPECT_EQ(SerialOf(dir_ + "/fleet/cert.pem"), first_serial_);
  // Not again at once; again after the retry delay.
  EXPECT_TRUE(renewer_->RunOnce().empty());
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(renewer_->RunOnce().size(), 2u);
  EXPECT_NE(Metrics().find("vpnfleet_ike_trustpoint_renewals_total{result=\"failed\",trustpoint=\"fleet\"} 2"),
            std::string::npos)
      << Metrics();
}

TEST_F(TrustpointRenewerTest, TrustpointsWithoutAutoEnrollAreLeftAlone) {
  config_.mutable_trustpoints(0)->set_auto_enroll_percent(0);
  config_.mutable_trustpoints(0)->set_revocation_check_crl(false);
  MakeRenewer();
  clock_.Advance((issued_.not_after - issued_.not_before) * 0.99);
  EXPECT_TRUE(renewer_->RunOnce().empty());
  EXPECT_TRUE(urls_.empty());
  EXPECT_EQ(SerialOf(dir_ + "/fleet/cert.pem"), first_serial_);
}

}  // namespace
}  // namespace vpnfleet::ike
