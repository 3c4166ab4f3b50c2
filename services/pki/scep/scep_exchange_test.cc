// Our SCEP client against our SCEP responder, message by message, over the
// in-process transport: every operation, and every refusal with its failInfo.
#include <openssl/x509.h>

#include "gtest/gtest.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"
#include "services/pki/scep/client.h"
#include "services/pki/scep/loopback_transport.h"
#include "services/pki/scep/responder.h"

namespace vpnfleet::pki::scep {
namespace {

namespace v1 = vpnfleet::pki::v1;

class ScepExchange : public ::testing::TestWithParam<v1::KeyAlgorithm> {
 protected:
  void SetUp() override {
    pki_ = TestPki::Make(GetParam());
    ASSERT_NE(pki_, nullptr);
    responder_ = std::make_unique<Responder>(pki_->enrollment.get(), pki_->ca->certificate(),
                                             pki_->ca->key());
    http_ = std::make_unique<LoopbackTransport>(responder_.get());
    client_ = std::make_unique<ScepClient>(http_.get());
    auto ca = client_->Authenticate(pki_->ca->Describe().fingerprint_sha256());
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = std::move(*ca);
  }
  std::string Challenge(const std::string& device, bool approval = false) {
    return pki_->enrollment->IssueChallenge(device, "", {"DNS:" + device + ".example", "IP:192.0.2.10"}, absl::Hours(1), approval)->password;
  }
  bool VerifiesAgainstCa(X509* cert) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, pki_->ca->certificate());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, cert, nullptr);
    const bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
  }

  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<Responder> responder_;
  std::unique_ptr<LoopbackTransport> http_;
  std::unique_ptr<ScepClient> client_;
  CaCerts ca_;
};

TEST_P(ScepExchange, AuthenticatePinsTheFingerprintAndReadsCapabilities) {
  EXPECT_NE(std::find(ca_.capabilities.begin(), ca_.capabilities.end(), "POSTPKIOperation"),
            ca_.capabilities.end());
  auto wrong = client_->Authenticate(std::string(64, 'a'));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  // Colons and upper case as `show crypto pki certificates` prints them.
  std::string fp = pki_->ca->Describe().fingerprint_sha256();
  std::string pretty;
  for (size_t i = 0; i < fp.size(); i += 2) {
    if (!pretty.empty()) pretty += ':';
    pretty += absl::AsciiStrToUpper(fp.substr(i, 2));
  }
  EXPECT_TRUE(client_->Authenticate(pretty).ok());
}

TEST_P(ScepExchange, EnrollRsaAndEcdsaKeys) {
  for (auto alg : {v1::KEY_ALGORITHM_RSA_2048, v1::KEY_ALGORITHM_ECDSA_P256}) {
    EvpKey key = std::move(*GenerateKey(alg));
    CsrParams params{"CN=edge1,O=vpnfleet", {"DNS:edge1.example", "IP:192.0.2.10"},
                     Challenge("edge1")};
    auto r = client_->Enroll(ca_, params, key.get());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, EnrollResult::Status::kIssued);
    EXPECT_TRUE(VerifiesAgainstCa(r->certificate.get()));
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(r->certificate.get()), key.get()), 1);
  }
  EXPECT_GE(http_->posts(), 2);
  EXPECT_EQ(pki_->store->ListCertificates({"edge1", ""})->size(), 2u);
}

TEST_P(ScepExchange, GetIsUsedWhenPostIsNotAdvertised) {
  LoopbackTransport get_only(responder_.get(), "POSTPKIOperation");
  ScepClient client(&get_only);
  auto ca = client.Authenticate("");
  ASSERT_TRUE(ca.ok());
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto r = client.Enroll(*ca, {"CN=edge2", {}, Challenge("edge2")}, key.get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, EnrollResult::Status::kIssued);
  EXPECT_EQ(get_only.gets(), 1);
  EXPECT_EQ(get_only.posts(), 0);
}

TEST_P(ScepExchange, RefusalsCarryFailInfoAndStoreNothing) {
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto wrong = client_->Enroll(ca_, {"CN=edge1", {}, "wrong-password"}, key.get());
  FailInfo info = FailInfo::kBadAlg;
  ASSERT_TRUE(IsScepFailure(wrong.status(), &info)) << wrong.status();
  EXPECT_EQ(info, FailInfo::kBadRequest);

  const std::string pw = Challenge("edge1");
  ASSERT_TRUE(client_->Enroll(ca_, {"CN=edge1", {}, pw}, key.get()).ok());
  EvpKey other = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto reused = client_->Enroll(ca_, {"CN=edge1", {}, pw}, other.get());
  ASSERT_TRUE(IsScepFailure(reused.status(), &info));
  EXPECT_EQ(info, FailInfo::kBadRequest);

  // RSA-1024 is below what we issue for: badAlg.
  EvpKey weak(EVP_RSA_gen(1024));
  auto small = client_->Enroll(ca_, {"CN=edge1", {}, Challenge("edge1")}, weak.get());
  ASSERT_TRUE(IsScepFailure(small.status(), &info)) << small.status();
  EXPECT_EQ(info, FailInfo::kBadAlg);
  EXPECT_EQ(pki_->store->ListCertificates({})->size(), 1u);

  // Garbage and truncated bodies get HTTP 400, not a crash.
  ScepReply garbage = responder_->Handle({"PKIOperation", "\x30\x03garbage"});
  EXPECT_EQ(garbage.http_status, 400);
  EXPECT_EQ(responder_->Handle({"Nonsense", ""}).http_status, 400);
}

TEST_P(ScepExchange, PendingThenApprovedThenPolled) {
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto r = client_->Enroll(ca_, {"CN=edge3", {}, Challenge("edge3", true)}, key.get());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, EnrollResult::Status::kPending);
  auto still = client_->Poll(ca_, "CN=edge3", key.get());
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->status, EnrollResult::Status::kPending);
  auto pending = pki_->store->ListPending(true);
  ASSERT_EQ(pending->size(), 1u);
  ASSERT_TRUE(pki_->enrollment->Approve((*pending)[0].transaction_id).ok());
  auto done = client_->Poll(ca_, "CN=edge3", key.get());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->status, EnrollResult::Status::kIssued);
  EXPECT_TRUE(VerifiesAgainstCa(done->certificate.get()));
}

TEST_P(ScepExchange, RenewalThenRevocationShowsInTheCrl) {
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto first = client_->Enroll(ca_, {"CN=edge4", {}, Challenge("edge4")}, key.get());
  ASSERT_TRUE(first.ok() && first->status == EnrollResult::Status::kIssued);
  EvpKey next = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto renewed = client_->Renew(ca_, {"CN=edge4", {}, ""}, next.get(),
                                first->certificate.get(), key.get());
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  ASSERT_EQ(renewed->status, EnrollResult::Status::kIssued);
  EXPECT_TRUE(VerifiesAgainstCa(renewed->certificate.get()));

  const std::string serial = SerialHex(X509_get0_serialNumber(first->certificate.get()));
  ASSERT_TRUE(pki_->enrollment->Revoke(serial, v1::REVOCATION_REASON_SUPERSEDED).ok());
  auto crl_der = client_->GetCrl(ca_, renewed->certificate.get(), next.get());
  ASSERT_TRUE(crl_der.ok()) << crl_der.status();
  const auto* p = reinterpret_cast<const unsigned char*>(crl_der->data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, crl_der->size()));
  ASSERT_TRUE(crl);
  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &entry,
                                    X509_get_serialNumber(first->certificate.get())), 1);
  // The revoked certificate cannot renew any more.
  EvpKey third = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto refused = client_->Renew(ca_, {"CN=edge4", {}, ""}, third.get(),
                                first->certificate.get(), key.get());
  FailInfo info = FailInfo::kBadAlg;
  ASSERT_TRUE(IsScepFailure(refused.status(), &info)) << refused.status();
  EXPECT_EQ(info, FailInfo::kBadCertId);
}

// A PKCSReq whose signed content was altered on the way, and one whose
// signed attributes were: badMessageCheck, nothing stored, the challenge
// still usable.
TEST_P(ScepExchange, TamperedRequestsGetBadMessageCheckAndStoreNothing) {
  const std::string pw = Challenge("edge6");
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_RSA_2048));
  X509Ptr self = std::move(*SelfSigned(key.get(), "CN=edge6"));
  const std::string csr = *BuildCsr({"CN=edge6", {}, pw}, key.get());
  const std::string env =
      *SealEnvelope(csr, {pki_->ca->certificate()}, ContentCipher::kAes128Cbc);
  PkiMessageFields f;
  f.type = MessageType::kPkcsReq;
  f.transaction_id = TransactionIdFor(key.get());
  f.sender_nonce = "0123456789abcdef";
  std::string msg = *BuildPkiMessage(f, env, self.get(), key.get());
  // Flip one octet inside the enveloped content (its last octets are
  // ciphertext, well before the signer info).
  const size_t at = msg.find(env.substr(env.size() - 32, 16));
  ASSERT_NE(at, std::string::npos);
  msg[at] ^= 0x01;
  auto reply = ParsePkiMessage(responder_->Handle({"PKIOperation", msg}).body);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->fields.status, PkiStatus::kFailure);
  EXPECT_EQ(reply->fields.fail_info, FailInfo::kBadMessageCheck);
  EXPECT_EQ(reply->fields.recipient_nonce, f.sender_nonce);

  // A signed attribute changed after signing (the transaction ID).
  std::string relabeled = *BuildPkiMessage(f, env, self.get(), key.get());
  const size_t tx = relabeled.find(f.transaction_id);
  ASSERT_NE(tx, std::string::npos);
  relabeled[tx] = relabeled[tx] == 'a' ? 'b' : 'a';
  auto forged = ParsePkiMessage(responder_->Handle({"PKIOperation", relabeled}).body);
  ASSERT_TRUE(forged.ok());
  EXPECT_EQ(forged->fields.fail_info, FailInfo::kBadMessageCheck);
  EXPECT_TRUE(pki_->store->ListCertificates({})->empty());
  EXPECT_EQ(responder_->counters().bad_signature.load(), 2u);
  // The untouched request still enrolls: the challenge was not used up.
  auto good = ParsePkiMessage(
      responder_->Handle({"PKIOperation", *BuildPkiMessage(f, env, self.get(), key.get())}).body);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->fields.status, PkiStatus::kSuccess);
}

TEST_P(ScepExchange, GetCertReturnsAnIssuedCertificateAndRefusesUnknownOnes) {
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto mine = client_->Enroll(ca_, {"CN=edge5", {}, Challenge("edge5")}, key.get());
  ASSERT_TRUE(mine.ok() && mine->status == EnrollResult::Status::kIssued);
  auto fetched = client_->GetCert(ca_, mine->certificate.get(), mine->certificate.get(), key.get());
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(X509_cmp(fetched->get(), mine->certificate.get()), 0);
  // A certificate this CA never issued (the self-signed one).
  X509Ptr stranger = std::move(*SelfSigned(key.get(), "CN=nobody"));
  auto unknown = client_->GetCert(ca_, stranger.get(), mine->certificate.get(), key.get());
  FailInfo info = FailInfo::kBadAlg;
  ASSERT_TRUE(IsScepFailure(unknown.status(), &info)) << unknown.status();
  EXPECT_EQ(info, FailInfo::kBadCertId);
}

// An intermediate issues; GetCACert sends it with the root; the client
// picks the intermediate as the issuing CA, pins the root's fingerprint, and
// what it gets verifies up to the root.
TEST(ScepIntermediate, EnrollUnderAnIntermediateChainsToTheRoot) {
  FakeClock clock(absl::Now());
  auto store = PkiStore::Open(":memory:");
  ASSERT_TRUE(store.ok());
  RootOptions root_options;
  root_options.subject = "CN=vpnfleet test root";
  auto root = CertificateAuthority::CreateRoot(root_options, &clock);
  ASSERT_TRUE(root.ok());
  RootOptions inter_options;
  inter_options.subject = "CN=vpnfleet issuing CA";
  inter_options.key_algorithm = v1::KEY_ALGORITHM_RSA_2048;
  auto inter = root->CreateIntermediate(inter_options);
  ASSERT_TRUE(inter.ok()) << inter.status();
  EXPECT_EQ(inter->Describe().role(), v1::CaCertificate::ROLE_INTERMEDIATE);
  Enrollment enrollment(&*inter, store->get(), &clock, {});
  Responder responder(&enrollment, inter->certificate(), inter->key(), {}, {root->certificate()});
  LoopbackTransport http(&responder);
  ScepClient client(&http);
  auto ca = client.Authenticate(root->Describe().fingerprint_sha256());
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(X509_cmp(ca->ca.get(), inter->certificate()), 0);
  ASSERT_EQ(ca->above.size(), 1u);
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  auto pw = enrollment.IssueChallenge("edge7", "", {}, absl::Hours(1), false);
  auto r = client.Enroll(*ca, {"CN=edge7", {}, pw->password}, key.get());
  ASSERT_TRUE(r.ok()) << r.status();
  X509_STORE* trust = X509_STORE_new();
  X509_STORE_add_cert(trust, root->certificate());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, inter->certificate());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, trust, r->certificate.get(), untrusted);
  EXPECT_EQ(X509_verify_cert(ctx), 1) << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(trust);
}

INSTANTIATE_TEST_SUITE_P(CaKeys, ScepExchange,
                         ::testing::Values(v1::KEY_ALGORITHM_ECDSA_P256,
                                           v1::KEY_ALGORITHM_RSA_2048),
                         [](const ::testing::TestParamInfo<v1::KeyAlgorithm>& info) {
                           return info.param == v1::KEY_ALGORITHM_RSA_2048 ? "RsaCa" : "EcdsaCa";
                         });

}  // namespace
}  // namespace vpnfleet::pki::scep
