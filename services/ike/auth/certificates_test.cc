// Certificate authentication pieces against the checked-in test PKI
// (testdata/make-certs.sh): signatures in every method both ways, the
// RFC 7427 AlgorithmIdentifier encodings of its Appendix A, chains with an
// intermediate, an untrusted CA of the same name, revocation, expiry, and
// identities bound to certificates.
#include "services/ike/auth/certificates.h"
#include "services/ike/auth/parsed_certificates.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/testing/testdata.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::auth {
namespace {

std::string Pem(const std::string& name) {
  return testing::ReadTestData("services/ike/auth/testdata/" + name);
}

std::shared_ptr<const LocalCredential> Credential(const std::string& name) {
  auto c = LocalCredential::FromPem(name, Pem(name + ".key"), Pem(name + ".pem"));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : nullptr;
}

std::vector<const v2::CertPayload*> Ptrs(const std::vector<v2::CertPayload>& v) {
  std::vector<const v2::CertPayload*> out;
  for (const auto& c : v) out.push_back(&c);
  return out;
}

std::vector<v2::CertPayload> Chain(const LocalCredential& c) {
  std::vector<v2::CertPayload> out;
  for (const std::string& der : c.chain_der()) out.push_back(v2::CertPayload{4, der});
  return out;
}

const absl::Time kNow = absl::FromUnixSeconds(1700000000);  // Nov 2023
constexpr absl::string_view kOctets = "RealMessage1 | NonceRData | prf(SK_pi, IDi')";

std::shared_ptr<const TrustStore> Trust(bool check_crl) {
  std::vector<TrustStore::TrustpointPem> tps;
  tps.push_back({"RSA-CA", Pem("rsa-ca.pem"), Pem("rsa-ca.crl"), check_crl});
  tps.push_back({"EC-CA", Pem("ec-root.pem"), "", false});
  auto t = TrustStore::Make(tps);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : nullptr;
}

TEST(Signatures, Rfc7427RsaUsesSha256WithTheAppendixAIdentifier) {
  auto c = Credential("rsa-hub");
  ASSERT_NE(c, nullptr);
  auto auth = c->Sign(kOctets, {kHashSha256, kHashSha384, kHashSha512});
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_EQ(auth->method, kAuthDigitalSignature);
  // RFC 7427 Appendix A.1.2: sha256WithRSAEncryption.
  const std::string id("\x0f\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b\x05\x00", 16);
  EXPECT_EQ(auth->data.substr(0, 16), id);
  EXPECT_EQ(auth->data.size(), 16u + 256u);
  EXPECT_TRUE(VerifySignature(c->leaf(), *auth, kOctets).ok());
  EXPECT_FALSE(VerifySignature(c->leaf(), *auth, "other octets").ok());
  auth->data.back() ^= 1;
  EXPECT_FALSE(VerifySignature(c->leaf(), *auth, kOctets).ok());
}

TEST(Signatures, Rfc7427EcdsaP256AndP384) {
  auto hub = Credential("ec-hub");
  ASSERT_NE(hub, nullptr);
  auto auth = hub->Sign(kOctets, {kHashSha256});
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->method, kAuthDigitalSignature);
  // RFC 7427 Appendix A.3.1: ecdsa-with-sha256, no parameters.
  const std::string id("\x0c\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 13);
  EXPECT_EQ(auth->data.substr(0, 13), id);
  EXPECT_TRUE(VerifySignature(hub->leaf(), *auth, kOctets).ok());
  auto spoke = Credential("ec-spoke");
  ASSERT_NE(spoke, nullptr);
  auth = spoke->Sign(kOctets, {kHashSha256, kHashSha384});
  ASSERT_TRUE(auth.ok());
  // A.3.2: ecdsa-with-sha384 goes with P-384.
  EXPECT_EQ(auth->data.substr(0, 13),
            std::string("\x0c\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03", 13));
  EXPECT_TRUE(VerifySignature(spoke->leaf(), *auth, kOctets).ok());
  // The hub's key does not verify the spoke's signature.
  EXPECT_FALSE(VerifySignature(hub->leaf(), *auth, kOctets).ok());
}

TEST(Signatures, ClassicMethodsWithoutSignatureHashAlgorithms) {
  auto rsa = Credential("rsa-spoke");
  auto auth = rsa->Sign(kOctets, {});
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->method, kAuthRsaSignature);
  EXPECT_EQ(auth->data.size(), 256u);
  EXPECT_TRUE(VerifySignature(rsa->leaf(), *auth, kOctets).ok());

  auto p256 = Credential("ec-hub");
  auth = p256->Sign(kOctets, {});
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->method, kAuthEcdsaP256);
  EXPECT_EQ(auth->data.size(), 64u);  // RFC 4754: r | s, 32 octets each
  EXPECT_TRUE(VerifySignature(p256->leaf(), *auth, kOctets).ok());

  auto p384 = Credential("ec-spoke");
  auth = p384->Sign(kOctets, {});
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->method, kAuthEcdsaP384);
  EXPECT_EQ(auth->data.size(), 96u);
  EXPECT_TRUE(VerifySignature(p384->leaf(), *auth, kOctets).ok());
  // A P-384 signature claimed as P-256 is refused before any math.
  auth->method = kAuthEcdsaP256;
  EXPECT_FALSE(VerifySignature(p384->leaf(), *auth, kOctets).ok());
}

TEST(Signatures, MalformedAuthDataIsAnErrorNotACrash) {
  auto c = Credential("rsa-hub");
  for (const std::string& data :
       {std::string(), std::string("\x00", 1), std::string("\x40" "abc"),
        std::string("\x03\x30\x01\x00" "sig", 7), std::string("\x0f") + std::string(15, '\xff')}) {
    EXPECT_FALSE(VerifySignature(c->leaf(), v2::AuthPayload{kAuthDigitalSignature, data}, kOctets)
                     .ok());
  }
  EXPECT_FALSE(VerifySignature(c->leaf(), v2::AuthPayload{kAuthEcdsaP256, std::string(64, 'x')},
                               kOctets)
                   .ok());
  EXPECT_FALSE(VerifySignature(c->leaf(), v2::AuthPayload{3, "dss"}, kOctets).ok());
}

// IKEv1 (RFC 2409 §5.1, RFC 4754 §7): HASH_I signed as it is. For RSA the
// public key recovers exactly the digest, so no DigestInfo was wrapped
// around it (what strongSwan's SIGN_RSA_EMSA_PKCS1_NULL and IOS expect).
TEST(Signatures, Ikev1SignsTheDigestItself) {
  const std::string digest(32, '\x5a');
  auto rsa = Credential("rsa-hub");
  ASSERT_NE(rsa, nullptr);
  auto sig = rsa->SignDigest(digest);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_EQ(sig->size(), 256u);
  EVP_PKEY* pub = X509_get0_pubkey(rsa->leaf());
  std::unique_ptr<EVP_PKEY_CTX, void (*)(EVP_PKEY_CTX*)> ctx(EVP_PKEY_CTX_new(pub, nullptr),
                                                            EVP_PKEY_CTX_free);
  ASSERT_EQ(EVP_PKEY_verify_recover_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  unsigned char recovered[256];
  size_t len = sizeof(recovered);
  ASSERT_EQ(EVP_PKEY_verify_recover(ctx.get(), recovered, &len,
                                    reinterpret_cast<const unsigned char*>(sig->data()),
                                    sig->size()),
            1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(recovered), len), digest);
  EXPECT_TRUE(VerifyDigestSignature(rsa->leaf(), false, digest, *sig).ok());
  EXPECT_FALSE(VerifyDigestSignature(rsa->leaf(), false, std::string(32, 'x'), *sig).ok());
  EXPECT_FALSE(VerifyDigestSignature(rsa->leaf(), true, digest, *sig).ok());  // not ECDSA

  // ECDSA: r | s of the curve's size, whatever the digest's length.
  for (const auto& [name, size] : {std::pair<const char*, size_t>{"ec-hub", 64},
                                   std::pair<const char*, size_t>{"ec-spoke", 96}}) {
    auto ec = Credential(name);
    ASSERT_NE(ec, nullptr);
    for (size_t digest_len : {20u, 32u, 48u}) {
      const std::string d(digest_len, '\x33');
      auto s = ec->SignDigest(d);
      ASSERT_TRUE(s.ok()) << s.status();
      EXPECT_EQ(s->size(), size) << name;
      EXPECT_TRUE(VerifyDigestSignature(ec->leaf(), true, d, *s).ok()) << name << digest_len;
      EXPECT_FALSE(VerifyDigestSignature(ec->leaf(), false, d, *s).ok());
      std::string bad = *s;
      bad[5] ^= 1;
      EXPECT_FALSE(VerifyDigestSignature(ec->leaf(), true, d, bad).ok());
      EXPECT_FALSE(VerifyDigestSignature(ec->leaf(), true, d, s->substr(1)).ok());
    }
  }
  EXPECT_EQ(Credential("ec-hub")->ec_bits(), 256);
  EXPECT_EQ(Credential("ec-spoke")->ec_bits(), 384);
  EXPECT_EQ(rsa->ec_bits(), 0);
}

TEST(TrustStoreTest, CaNamesForIkev1CertificateRequests) {
  auto t = Trust(false);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->ca_names().size(), 2u);
  EXPECT_EQ(DnText(t->ca_names()[0]), "O=vpnfleet,CN=vpnfleet test RSA CA");
  EXPECT_EQ(DnText(t->ca_names()[1]), "O=vpnfleet,CN=vpnfleet test EC root");
}

TEST(Credential, KeyMustMatchCertificate) {
  auto c = LocalCredential::FromPem("X", Pem("rsa-hub.key"), Pem("rsa-spoke.pem"));
  EXPECT_FALSE(c.ok());
  EXPECT_FALSE(LocalCredential::FromPem("X", "", Pem("rsa-spoke.pem")).ok());
  EXPECT_FALSE(LocalCredential::FromPem("X", Pem("rsa-hub.key"), "").ok());
}

TEST(TrustStoreTest, OnlyCertificatesThatChainAreKeptParsed) {
  auto trust = Trust(false);
  ASSERT_NE(trust, nullptr);
  auto rsa = Credential("rsa-hub");
  auto rogue = Credential("rogue-spoke");
  const std::string good = rsa->chain_der().front(), bad = rogue->chain_der().front();
  EXPECT_TRUE(trust->Verify(Ptrs(Chain(*rsa)), kNow).ok());
  EXPECT_FALSE(trust->Verify(Ptrs(Chain(*rogue)), kNow).ok());
  EXPECT_EQ(ParseCertificate(good).get(), ParseCertificate(good).get());  // kept
  EXPECT_NE(ParseCertificate(bad).get(), ParseCertificate(bad).get());    // parsed anew
}

TEST(TrustStoreTest, ChainsToTheirOwnRootsOnly) {
  auto trust = Trust(false);
  ASSERT_NE(trust, nullptr);
  EXPECT_EQ(trust->certreq_data().size(), 2u * 20u);  // one SHA-1 per anchor

  auto rsa = Credential("rsa-spoke");
  auto v = trust->Verify(Ptrs(Chain(*rsa)), kNow);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->trustpoint, "RSA-CA");
  EXPECT_EQ(v->subject, "O=vpnfleet,CN=spoke.example.net");

  // Same names, other CA: not trusted.
  auto rogue = Credential("rogue-spoke");
  v = trust->Verify(Ptrs(Chain(*rogue)), kNow);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kPermissionDenied);

  // The EC leaf needs its issuing CA, which only the peer's CERT payloads carry.
  auto ec = Credential("ec-spoke");
  std::vector<v2::CertPayload> leaf_only = Chain(*ec);
  v = trust->Verify(Ptrs(leaf_only), kNow);
  EXPECT_FALSE(v.ok());
  auto sub = LocalCredential::FromPem("sub", Pem("ec-spoke.key"),
                                      Pem("ec-spoke.pem") + Pem("ec-sub.pem"));
  ASSERT_TRUE(sub.ok());
  v = trust->Verify(Ptrs(Chain(**sub)), kNow);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->trustpoint, "EC-CA");

  // In 2123 everything has expired.
  v = trust->Verify(Ptrs(Chain(*rsa)), absl::FromUnixSeconds(4900000000));
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("expired"), std::string::npos) << v.status();
}

TEST(TrustStoreTest, RevokedCertificateRefusedOnlyWithRevocationCheck) {
  auto revoked = Credential("rsa-revoked");
  auto lenient = Trust(false);
  EXPECT_TRUE(lenient->Verify(Ptrs(Chain(*revoked)), kNow).ok());
  auto strict = Trust(true);
  auto v = strict->Verify(Ptrs(Chain(*revoked)), kNow);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("revoked"), std::string::npos) << v.status();
  // Its sibling is on no CRL.
  EXPECT_TRUE(strict->Verify(Ptrs(Chain(*Credential("rsa-spoke"))), kNow).ok());
}

TEST(TrustStoreTest, GarbageFromThePeer) {
  auto trust = Trust(true);
  std::vector<v2::CertPayload> bad = {v2::CertPayload{4, "not DER"}};
  EXPECT_EQ(trust->Verify(Ptrs(bad), kNow).status().code(), absl::StatusCode::kInvalidArgument);
  bad = {v2::CertPayload{12, "http://example/cert"}};
  EXPECT_EQ(trust->Verify(Ptrs(bad), kNow).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(trust->Verify({}, kNow).ok());
  std::vector<v2::CertPayload> many(9, v2::CertPayload{4, "x"});
  EXPECT_FALSE(trust->Verify(Ptrs(many), kNow).ok());
  EXPECT_FALSE(TrustStore::Make({{"T", "no pem here", "", false}}).ok());
  EXPECT_FALSE(TrustStore::Make({{"T", Pem("rsa-ca.pem"), "junk crl", true}}).ok());
}

TEST(Identity, BoundToSubjectOrAltNames) {
  auto c = Credential("rsa-spoke");
  in_addr a{};
  inet_pton(AF_INET, "198.51.100.2", &a);
  v2::IdPayload ip{kIdIpv4, std::string(reinterpret_cast<char*>(&a), 4)};
  EXPECT_TRUE(IdMatchesCertificate(ip, c->leaf()).ok());
  inet_pton(AF_INET, "198.51.100.1", &a);
  ip.data = std::string(reinterpret_cast<char*>(&a), 4);
  EXPECT_FALSE(IdMatchesCertificate(ip, c->leaf()).ok());
  EXPECT_TRUE(IdMatchesCertificate({kIdFqdn, "spoke.example.net"}, c->leaf()).ok());
  EXPECT_TRUE(IdMatchesCertificate({kIdFqdn, "SPOKE.example.net"}, c->leaf()).ok());
  EXPECT_FALSE(IdMatchesCertificate({kIdFqdn, "hub.example.net"}, c->leaf()).ok());
  EXPECT_TRUE(IdMatchesCertificate(c->DnIdentity(), c->leaf()).ok());
  EXPECT_FALSE(IdMatchesCertificate(Credential("rsa-hub")->DnIdentity(), c->leaf()).ok());
  EXPECT_FALSE(IdMatchesCertificate({kIdDn, "\x30\xff garbage"}, c->leaf()).ok());
  EXPECT_FALSE(IdMatchesCertificate({11, "key-id"}, c->leaf()).ok());
}

TEST(HashAlgorithms, NotifyDataBothWays) {
  EXPECT_EQ(ParseHashAlgorithms(OurHashAlgorithms()),
            (std::vector<uint16_t>{kHashSha256, kHashSha384, kHashSha512}));
  EXPECT_EQ(ParseHashAlgorithms(std::string("\x00\x05\x00", 3)), std::vector<uint16_t>{5});
}

}  // namespace
}  // namespace vpnfleet::ike::auth
