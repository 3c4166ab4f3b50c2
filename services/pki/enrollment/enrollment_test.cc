#include "services/pki/enrollment/enrollment.h"

#include <openssl/x509.h>

#include "gtest/gtest.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"
#include "services/pki/enrollment/test_pki.h"

namespace vpnfleet::pki {
namespace {

namespace v1 = vpnfleet::pki::v1;

std::string Der(X509* c) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(c, &out);
  std::string s(reinterpret_cast<char*>(out), n);
  OPENSSL_free(out);
  return s;
}

struct Device {
  EvpKey key;
  X509Ptr self;
  std::string csr;
};

Device MakeDevice(const std::string& cn, const std::string& password,
                  v1::KeyAlgorithm alg = v1::KEY_ALGORITHM_ECDSA_P256) {
  Device d;
  d.key = std::move(*GenerateKey(alg));
  d.self = std::move(*SelfSigned(d.key.get(), "CN=" + cn));
  d.csr = *BuildCsr({"CN=" + cn, {"DNS:" + cn + ".example"}, password}, d.key.get());
  return d;
}

int64_t StoredCertificates(TestPki& pki) { return pki.store->ListCertificates({})->size(); }

TEST(Enrollment, ChallengeIssuesOnceForItsDevice) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto ch = pki->enrollment->IssueChallenge("edge1", "edge1", {"DNS:edge1.example"}, absl::Hours(1), false);
  ASSERT_TRUE(ch.ok()) << ch.status();
  EXPECT_GE(ch->password.size(), 24u);
  EXPECT_NE(ch->record.password_hash, ch->password);

  Device d = MakeDevice("edge1", ch->password);
  EnrollOutcome o = pki->enrollment->Enroll(d.csr, "tx1", Der(d.self.get()));
  ASSERT_EQ(o.kind, EnrollOutcome::Kind::kIssued) << o.why;
  EXPECT_EQ(o.certificate.device, "edge1");
  EXPECT_EQ(o.certificate.subject, "CN=edge1");
  // A resent request gets the same certificate, not a second one.
  EnrollOutcome again = pki->enrollment->Enroll(d.csr, "tx1", Der(d.self.get()));
  ASSERT_EQ(again.kind, EnrollOutcome::Kind::kIssued);
  EXPECT_EQ(again.certificate.serial_hex, o.certificate.serial_hex);
  // The password does not work for another key.
  Device other = MakeDevice("edge1", ch->password);
  EnrollOutcome reused = pki->enrollment->Enroll(other.csr, "tx2", Der(other.self.get()));
  EXPECT_EQ(reused.kind, EnrollOutcome::Kind::kRefused);
  EXPECT_EQ(reused.refusal, Refusal::kBadRequest);
  EXPECT_NE(reused.why.find("already used"), std::string::npos);
  EXPECT_EQ(StoredCertificates(*pki), 1);
  EXPECT_EQ(pki->enrollment->counters().issued.load(), 1u);
}

TEST(Enrollment, WrongExpiredAndMismatchedChallengesChangeNothing) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto ch = pki->enrollment->IssueChallenge("edge1", "edge1", {"DNS:edge1.example"}, absl::Minutes(10), false);
  ASSERT_TRUE(ch.ok());

  Device wrong = MakeDevice("edge1", "not-the-password");
  EXPECT_EQ(pki->enrollment->Enroll(wrong.csr, "a", Der(wrong.self.get())).refusal,
            Refusal::kBadRequest);
  Device none = MakeDevice("edge1", "");
  EXPECT_EQ(pki->enrollment->Enroll(none.csr, "b", Der(none.self.get())).refusal,
            Refusal::kBadRequest);
  // The challenge is bound to CN=edge1.
  Device other_cn = MakeDevice("edge2", ch->password);
  EnrollOutcome cn = pki->enrollment->Enroll(other_cn.csr, "c", Der(other_cn.self.get()));
  EXPECT_EQ(cn.refusal, Refusal::kBadRequest);
  EXPECT_EQ(StoredCertificates(*pki), 0);
  // The refusals did not use the challenge up ...
  EXPECT_FALSE((*pki->store->FindChallenge(ch->record.password_hash))->used);
  // ... but time does.
  pki->clock.Advance(absl::Minutes(11));
  Device late = MakeDevice("edge1", ch->password);
  EnrollOutcome expired = pki->enrollment->Enroll(late.csr, "d", Der(late.self.get()));
  EXPECT_EQ(expired.refusal, Refusal::kBadRequest);
  EXPECT_NE(expired.why.find("expired"), std::string::npos);
  EXPECT_EQ(StoredCertificates(*pki), 0);
  EXPECT_FALSE(pki->enrollment->Enroll("garbage", "e", "").kind == EnrollOutcome::Kind::kIssued);
  EXPECT_EQ(pki->enrollment->counters().refused.load(), 5u);
}

TEST(Enrollment, ApprovalHoldsTheRequestUntilAnOperatorDecides) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto ch = pki->enrollment->IssueChallenge("edge1", "", {"DNS:edge1.example"}, absl::Hours(1), true);
  ASSERT_TRUE(ch.ok());
  Device d = MakeDevice("edge1", ch->password);
  const std::string self = Der(d.self.get());
  EXPECT_EQ(pki->enrollment->Enroll(d.csr, "tx", self).kind, EnrollOutcome::Kind::kPending);
  EXPECT_EQ(StoredCertificates(*pki), 0);
  EXPECT_EQ(pki->enrollment->Poll("tx", self).kind, EnrollOutcome::Kind::kPending);
  // Only the requester may poll.
  Device stranger = MakeDevice("edge1", "");
  EXPECT_EQ(pki->enrollment->Poll("tx", Der(stranger.self.get())).refusal,
            Refusal::kBadMessageCheck);
  EXPECT_EQ(pki->enrollment->Poll("nope", self).refusal, Refusal::kBadCertId);

  auto cert = pki->enrollment->Approve("tx");
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_EQ(pki->enrollment->Approve("tx").status().code(), absl::StatusCode::kFailedPrecondition);
  EnrollOutcome polled = pki->enrollment->Poll("tx", self);
  ASSERT_EQ(polled.kind, EnrollOutcome::Kind::kIssued);
  EXPECT_EQ(polled.certificate.serial_hex, cert->serial_hex);

  auto ch2 = pki->enrollment->IssueChallenge("edge2", "", {"DNS:edge2.example"}, absl::Hours(1), true);
  Device d2 = MakeDevice("edge2", ch2->password);
  ASSERT_EQ(pki->enrollment->Enroll(d2.csr, "tx2", Der(d2.self.get())).kind,
            EnrollOutcome::Kind::kPending);
  ASSERT_TRUE(pki->enrollment->Reject("tx2", "not in inventory").ok());
  EnrollOutcome rejected = pki->enrollment->Poll("tx2", Der(d2.self.get()));
  EXPECT_EQ(rejected.refusal, Refusal::kBadRequest);
  EXPECT_NE(rejected.why.find("not in inventory"), std::string::npos);
}

TEST(Enrollment, RenewalWithTheCurrentCertificateKeepsSubjectAndDevice) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto ch = pki->enrollment->IssueChallenge("edge1", "", {"DNS:edge1.example"}, absl::Hours(1), false);
  Device d = MakeDevice("edge1", ch->password);
  EnrollOutcome first = pki->enrollment->Enroll(d.csr, "tx", Der(d.self.get()));
  ASSERT_EQ(first.kind, EnrollOutcome::Kind::kIssued);

  EvpKey next = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  const std::string csr = *BuildCsr({"CN=edge1", {}, ""}, next.get());
  const std::string other_subject = *BuildCsr({"CN=edge9", {}, ""}, next.get());
  EXPECT_EQ(pki->enrollment->Renew(other_subject, "tx-x", first.certificate.der).refusal,
            Refusal::kBadRequest);
  // A certificate from elsewhere (here: the device's self-signed one).
  EXPECT_EQ(pki->enrollment->Renew(csr, "tx-y", Der(d.self.get())).refusal, Refusal::kBadCertId);

  EnrollOutcome renewed = pki->enrollment->Renew(csr, "tx-r", first.certificate.der);
  ASSERT_EQ(renewed.kind, EnrollOutcome::Kind::kIssued) << renewed.why;
  EXPECT_EQ(renewed.certificate.device, "edge1");
  EXPECT_NE(renewed.certificate.serial_hex, first.certificate.serial_hex);
  // A revoked certificate renews nothing.
  ASSERT_TRUE(pki->enrollment->Revoke(renewed.certificate.serial_hex,
                                      v1::REVOCATION_REASON_KEY_COMPROMISE)
                  .ok());
  EvpKey third = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  EXPECT_EQ(pki->enrollment->Renew(*BuildCsr({"CN=edge1", {}, ""}, third.get()), "tx-z",
                                   renewed.certificate.der).refusal,
            Refusal::kBadCertId);
  EXPECT_EQ(pki->enrollment->counters().renewed.load(), 1u);
}

TEST(Enrollment, RevocationReachesTheNextCrl) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto crl0 = pki->enrollment->CurrentCrl();
  ASSERT_TRUE(crl0.ok()) << crl0.status();
  EXPECT_EQ(crl0->number, 1u);
  // Unchanged and fresh: the same CRL.
  EXPECT_EQ(pki->enrollment->CurrentCrl()->number, 1u);

  auto ch = pki->enrollment->IssueChallenge("edge1", "", {"DNS:edge1.example"}, absl::Hours(1), false);
  Device d = MakeDevice("edge1", ch->password);
  EnrollOutcome o = pki->enrollment->Enroll(d.csr, "tx", Der(d.self.get()));
  ASSERT_EQ(o.kind, EnrollOutcome::Kind::kIssued);
  ASSERT_TRUE(pki->enrollment->Revoke(o.certificate.serial_hex,
                                      v1::REVOCATION_REASON_KEY_COMPROMISE).ok());
  EXPECT_EQ(pki->enrollment->Revoke(o.certificate.serial_hex,
                                    v1::REVOCATION_REASON_KEY_COMPROMISE).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto crl = pki->enrollment->CurrentCrl();
  ASSERT_TRUE(crl.ok());
  EXPECT_EQ(crl->number, 2u);
  const auto* p = reinterpret_cast<const unsigned char*>(crl->der.data());
  X509CrlPtr parsed(d2i_X509_CRL(nullptr, &p, crl->der.size()));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(X509_CRL_verify(parsed.get(), X509_get0_pubkey(pki->ca->certificate())), 1);
  X509_REVOKED* entry = nullptr;
  const auto* cp = reinterpret_cast<const unsigned char*>(o.certificate.der.data());
  X509Ptr cert(d2i_X509(nullptr, &cp, o.certificate.der.size()));
  EXPECT_EQ(X509_CRL_get0_by_serial(parsed.get(), &entry,
                                    X509_get_serialNumber(cert.get())), 1);
  // Refreshed before it runs out.
  pki->clock.Advance(absl::Hours(24 * 5));
  EXPECT_EQ(pki->enrollment->CurrentCrl()->number, 3u);
}

}  // namespace
}  // namespace vpnfleet::pki

namespace vpnfleet::pki {
namespace {

bool HasSan(const CertificateRecord& c, const std::string& san) {
  for (const auto& s : c.subject_alt_names) {
    if (s == san) return true;
  }
  return false;
}

TEST(EnrollmentIdentity, ADeviceCertificateNamesTheDeviceForMtls) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto ch = pki->enrollment->IssueChallenge("edge1", "edge1", {"DNS:edge1.example"}, absl::Hours(1), false);
  ASSERT_TRUE(ch.ok());
  Device d = MakeDevice("edge1", ch->password);
  EnrollOutcome o = pki->enrollment->Enroll(d.csr, "tx-id", Der(d.self.get()));
  ASSERT_EQ(o.kind, EnrollOutcome::Kind::kIssued) << o.why;
  EXPECT_TRUE(HasSan(o.certificate, "URI:spiffe://vpnfleet/edge/edge1"));
  EXPECT_TRUE(HasSan(o.certificate, "DNS:edge1.example"));  // the request's own names kept
}

TEST(EnrollmentIdentity, IssuesRoleIdentitiesAndRefusesOthers) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  ASSERT_TRUE(key.ok());
  auto csr = BuildCsr({"CN=alice", {}, ""}, key->get());
  ASSERT_TRUE(csr.ok());
  auto c = pki->enrollment->IssueIdentity(*csr, "operator", "alice", absl::ZeroDuration());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(HasSan(*c, "URI:spiffe://vpnfleet/operator/alice"));
  EXPECT_EQ(c->device, "operator/alice");
  EXPECT_LE(c->not_after - c->not_before, absl::Hours(24 * 91));  // 90 days by default
  // Roles outside the policy's, names that would escape the path, too long a life.
  EXPECT_FALSE(pki->enrollment->IssueIdentity(*csr, "root", "alice", absl::ZeroDuration()).ok());
  EXPECT_FALSE(pki->enrollment->IssueIdentity(*csr, "admin", "../admin", absl::ZeroDuration()).ok());
  EXPECT_FALSE(pki->enrollment->IssueIdentity(*csr, "admin", "a/b", absl::ZeroDuration()).ok());
  EXPECT_FALSE(pki->enrollment->IssueIdentity(*csr, "admin", "", absl::ZeroDuration()).ok());
  EXPECT_FALSE(pki->enrollment->IssueIdentity(*csr, "admin", "a", absl::Hours(24 * 400)).ok());
  EXPECT_FALSE(pki->enrollment->IssueIdentity("not a csr", "admin", "a", absl::ZeroDuration()).ok());
}

TEST(EnrollmentIdentity, ARequestCannotNameItsOwnIdentity) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  auto ch = pki->enrollment->IssueChallenge("edge2", "edge2", {"DNS:edge2.example"}, absl::Hours(1), false);
  ASSERT_TRUE(ch.ok());
  auto key = GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256);
  auto self = SelfSigned(key->get(), "CN=edge2");
  auto csr = BuildCsr({"CN=edge2", {"URI:spiffe://vpnfleet/admin/edge2"}, ch->password}, key->get());
  ASSERT_TRUE(csr.ok());
  EnrollOutcome o = pki->enrollment->Enroll(*csr, "tx-uri", Der(self->get()));
  EXPECT_EQ(o.kind, EnrollOutcome::Kind::kRefused);
}

}  // namespace
}  // namespace vpnfleet::pki

namespace vpnfleet::pki {
namespace {

struct Enrolled {
  Device device;
  EnrollOutcome outcome;
};

Enrolled EnrollWithNames(TestPki& pki, const std::string& cn, const std::string& tx) {
  auto ch = pki.enrollment->IssueChallenge(cn, cn, {"DNS:" + cn + ".example"}, absl::Hours(1), false);
  Enrolled e{MakeDevice(cn, ch->password), {}};
  e.outcome = pki.enrollment->Enroll(e.device.csr, tx, Der(e.device.self.get()));
  return e;
}

TEST(EnrollmentPolicy, ARenewalMayNotAskForNamesItDoesNotHave) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  Enrolled e = EnrollWithNames(*pki, "edge1", "tx1");
  ASSERT_EQ(e.outcome.kind, EnrollOutcome::Kind::kIssued) << e.outcome.why;
  const int64_t before = StoredCertificates(*pki);
  EvpKey next = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  // The hub's name and address, asked for by an edge's valid certificate.
  const std::string grab =
      *BuildCsr({"CN=edge1", {"DNS:hub.example", "IP:198.51.100.2"}, ""}, next.get());
  EnrollOutcome r = pki->enrollment->Renew(grab, "tx-grab", e.outcome.certificate.der);
  EXPECT_EQ(r.refusal, Refusal::kBadRequest);
  EXPECT_NE(r.why.find("hub.example"), std::string::npos) << r.why;
  EXPECT_EQ(StoredCertificates(*pki), before);  // nothing stored
  // Its own names (or fewer) are fine.
  const std::string own = *BuildCsr({"CN=edge1", {"DNS:edge1.example"}, ""}, next.get());
  EnrollOutcome ok = pki->enrollment->Renew(own, "tx-own", e.outcome.certificate.der);
  ASSERT_EQ(ok.kind, EnrollOutcome::Kind::kIssued) << ok.why;
  EXPECT_NE(std::find(ok.certificate.subject_alt_names.begin(), ok.certificate.subject_alt_names.end(),
                      "URI:spiffe://vpnfleet/edge/edge1"),
            ok.certificate.subject_alt_names.end());
}

// The controller re-registers a device that moved: its next renewal carries
// the new names (and only them); one that did not move keeps its own.
TEST(EnrollmentPolicy, ARenewalFollowsAChangedRegistration) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  Enrolled e = EnrollWithNames(*pki, "edge1", "tx1");
  Enrolled other = EnrollWithNames(*pki, "edge2", "tx2");
  ASSERT_EQ(e.outcome.kind, EnrollOutcome::Kind::kIssued) << e.outcome.why;
  ASSERT_EQ(other.outcome.kind, EnrollOutcome::Kind::kIssued) << other.outcome.why;
  auto reg = pki->enrollment->RegisterDevice("edge1", "edge1", {"IP:192.0.2.99", "dns:Edge1.Example"});
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->subject_alt_names, (std::vector<std::string>{"IP:192.0.2.99", "DNS:edge1.example"}));
  EXPECT_FALSE(pki->enrollment->RegisterDevice("edge1", "edge1", {"URI:x"}).ok());
  EXPECT_FALSE(pki->enrollment->RegisterDevice("", "", {}).ok());

  EvpKey next = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  const int64_t before = StoredCertificates(*pki);
  // Another device's address is still not to be had.
  EnrollOutcome grab = pki->enrollment->Renew(
      *BuildCsr({"CN=edge2", {"IP:192.0.2.99"}, ""}, next.get()), "tx-grab",
      other.outcome.certificate.der);
  EXPECT_EQ(grab.refusal, Refusal::kBadRequest) << grab.why;
  // A CN other than the registered one is refused.
  EnrollOutcome cn = pki->enrollment->Renew(
      *BuildCsr({"CN=hub", {"IP:192.0.2.99"}, ""}, next.get()), "tx-cn", e.outcome.certificate.der);
  EXPECT_EQ(cn.refusal, Refusal::kBadRequest) << cn.why;
  EXPECT_EQ(StoredCertificates(*pki), before);
  // The moved device renews with its new names.
  EnrollOutcome moved = pki->enrollment->Renew(
      *BuildCsr({"CN=edge1", {"IP:192.0.2.99", "DNS:edge1.example"}, ""}, next.get()), "tx-moved",
      e.outcome.certificate.der);
  ASSERT_EQ(moved.kind, EnrollOutcome::Kind::kIssued) << moved.why;
  const auto& names = moved.certificate.subject_alt_names;
  EXPECT_NE(std::find(names.begin(), names.end(), "IP:192.0.2.99"), names.end());
  // The one that did not move renews with its own names as before.
  EvpKey third = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  EnrollOutcome same = pki->enrollment->Renew(
      *BuildCsr({"CN=edge2", {"DNS:edge2.example"}, ""}, third.get()), "tx-same",
      other.outcome.certificate.der);
  EXPECT_EQ(same.kind, EnrollOutcome::Kind::kIssued) << same.why;
}

TEST(EnrollmentPolicy, AChallengeGrantsOnlyTheNamesItWasRegisteredWith) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  // The controller registers edgeB with its own name and address.
  auto ch = pki->enrollment->IssueChallenge("edgeB", "edgeB", {"dns:EdgeB.Example", "IP:192.0.2.66"},
                                            absl::Hours(1), false);
  ASSERT_TRUE(ch.ok()) << ch.status();
  EXPECT_EQ(ch->record.subject_alt_names,
            (std::vector<std::string>{"DNS:edgeb.example", "IP:192.0.2.66"}));
  EvpKey key = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  X509Ptr self = std::move(*SelfSigned(key.get(), "CN=edgeB"));
  // With its challenge, edgeB asks for the hub's names too: refused, the
  // refusal names the device and the name, nothing stored, and the
  // challenge is still good for an honest request.
  const std::string grab = *BuildCsr(
      {"CN=edgeB", {"DNS:edgeB.example", "DNS:hub.example", "IP:198.51.100.2"}, ch->password},
      key.get());
  EnrollOutcome r = pki->enrollment->Enroll(grab, "tx-grab", Der(self.get()));
  EXPECT_EQ(r.kind, EnrollOutcome::Kind::kRefused);
  EXPECT_EQ(r.refusal, Refusal::kBadRequest);
  EXPECT_NE(r.why.find("hub.example"), std::string::npos) << r.why;
  EXPECT_NE(r.why.find("edgeB"), std::string::npos) << r.why;
  EXPECT_EQ(StoredCertificates(*pki), 0);
  // Another address: refused as well.
  const std::string other_ip =
      *BuildCsr({"CN=edgeB", {"IP:192.0.2.67"}, ch->password}, key.get());
  EXPECT_EQ(pki->enrollment->Enroll(other_ip, "tx-ip", Der(self.get())).refusal, Refusal::kBadRequest);
  // A subset, in another case: issued.
  const std::string honest = *BuildCsr({"CN=edgeB", {"DNS:EDGEB.example"}, ch->password}, key.get());
  EnrollOutcome ok = pki->enrollment->Enroll(honest, "tx-ok", Der(self.get()));
  ASSERT_EQ(ok.kind, EnrollOutcome::Kind::kIssued) << ok.why;
  EXPECT_EQ(StoredCertificates(*pki), 1);

  // A challenge registered without names grants none.
  auto bare = pki->enrollment->IssueChallenge("edgeC", "", {}, absl::Hours(1), false);
  ASSERT_TRUE(bare.ok());
  const std::string named = *BuildCsr({"CN=edgeC", {"DNS:edgeC.example"}, bare->password}, key.get());
  EXPECT_EQ(pki->enrollment->Enroll(named, "tx-c", Der(self.get())).refusal, Refusal::kBadRequest);
  const std::string unnamed = *BuildCsr({"CN=edgeC", {}, bare->password}, key.get());
  EXPECT_EQ(pki->enrollment->Enroll(unnamed, "tx-c2", Der(self.get())).kind,
            EnrollOutcome::Kind::kIssued);

  // Names that are not DNS names or addresses are refused when registered.
  for (const char* bad : {"URI:spiffe://vpnfleet/admin/x", "IP:300.1.1.1", "DNS:", "email:a@b",
                          "DNS:a b", "192.0.2.1"}) {
    EXPECT_FALSE(pki->enrollment->IssueChallenge("edgeD", "", {bad}, absl::Hours(1), false).ok())
        << bad;
  }
}

TEST(EnrollmentPolicy, NamesCompareInOneCanonicalForm) {
  EXPECT_EQ(*CanonicalSan("IP:2001:DB8::1"), "IP:2001:db8:0:0:0:0:0:1");
  EXPECT_EQ(*CanonicalSan("ip:192.0.2.1"), "IP:192.0.2.1");
  EXPECT_EQ(*CanonicalSan("DNS:Hub.Example"), "DNS:hub.example");
  EXPECT_FALSE(CanonicalSan("IP:192.0.2").ok());
  EXPECT_FALSE(CanonicalSan("").ok());
}

TEST(EnrollmentPolicy, ACertificateIsRenewedOnceAndSupersededAfterTheOverlap) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  Enrolled e = EnrollWithNames(*pki, "edge1", "tx1");
  ASSERT_EQ(e.outcome.kind, EnrollOutcome::Kind::kIssued);
  EvpKey k2 = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  EvpKey k3 = std::move(*GenerateKey(v1::KEY_ALGORITHM_ECDSA_P256));
  EnrollOutcome once = pki->enrollment->Renew(*BuildCsr({"CN=edge1", {}, ""}, k2.get()), "tx-2",
                                              e.outcome.certificate.der);
  ASSERT_EQ(once.kind, EnrollOutcome::Kind::kIssued) << once.why;
  const int64_t after_once = StoredCertificates(*pki);
  EnrollOutcome twice = pki->enrollment->Renew(*BuildCsr({"CN=edge1", {}, ""}, k3.get()), "tx-3",
                                               e.outcome.certificate.der);
  EXPECT_EQ(twice.refusal, Refusal::kBadCertId);
  EXPECT_NE(twice.why.find("already renewed"), std::string::npos) << twice.why;
  EXPECT_EQ(StoredCertificates(*pki), after_once);
  // The same transaction again is the same answer (RFC 8894 resend), not a refusal.
  EXPECT_EQ(pki->enrollment->Renew(*BuildCsr({"CN=edge1", {}, ""}, k2.get()), "tx-2",
                                   e.outcome.certificate.der).kind,
            EnrollOutcome::Kind::kIssued);
  // The old certificate stays off the CRL during the overlap, then is on it.
  auto crl = pki->enrollment->CurrentCrl();
  ASSERT_TRUE(crl.ok());
  const uint64_t number = crl->number;
  pki->clock.Advance(pki->enrollment->options().supersede_overlap + absl::Minutes(1));
  auto later = pki->enrollment->CurrentCrl();
  ASSERT_TRUE(later.ok());
  EXPECT_GT(later->number, number);  // signed again when the overlap ended
  EXPECT_GT(later->der.size(), crl->der.size());
}

TEST(EnrollmentPolicy, APollForAnotherKeysCertificateIsRefused) {
  auto pki = TestPki::Make();
  ASSERT_NE(pki, nullptr);
  Enrolled e = EnrollWithNames(*pki, "edge1", "tx-victim");
  ASSERT_EQ(e.outcome.kind, EnrollOutcome::Kind::kIssued);
  Device stranger = MakeDevice("mallory", "");
  EnrollOutcome stolen = pki->enrollment->Poll("tx-victim", Der(stranger.self.get()));
  EXPECT_EQ(stolen.kind, EnrollOutcome::Kind::kRefused);
  EXPECT_EQ(stolen.refusal, Refusal::kBadMessageCheck);
  EXPECT_EQ(pki->enrollment->Poll("tx-victim", Der(e.device.self.get())).kind,
            EnrollOutcome::Kind::kIssued);
}

}  // namespace
}  // namespace vpnfleet::pki
