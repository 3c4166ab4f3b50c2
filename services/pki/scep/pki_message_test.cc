#include "services/pki/scep/pki_message.h"

#include <openssl/pkcs7.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "services/pki/ca/authority.h"
#include "services/pki/ca/csr.h"
#include "services/pki/ca/keys.h"

namespace vpnfleet::pki::scep {
namespace {

namespace v1 = vpnfleet::pki::v1;

struct Pair {
  EvpKey key;
  X509Ptr cert;
};

Pair MakePair(v1::KeyAlgorithm alg, const std::string& cn) {
  Pair p;
  p.key = std::move(*GenerateKey(alg));
  p.cert = std::move(*SelfSigned(p.key.get(), "CN=" + cn));
  return p;
}

const std::string kNonce = "0123456789abcdef";

TEST(PkiMessage, RequestRoundTripsAndVerifies) {
  Pair signer = MakePair(v1::KEY_ALGORITHM_RSA_2048, "requester");
  PkiMessageFields f;
  f.type = MessageType::kPkcsReq;
  f.transaction_id = "tx-0001";
  f.sender_nonce = kNonce;
  auto der = BuildPkiMessage(f, "enveloped-bytes", signer.cert.get(), signer.key.get());
  ASSERT_TRUE(der.ok()) << der.status();
  auto m = ParsePkiMessage(*der);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->fields.type, MessageType::kPkcsReq);
  EXPECT_EQ(m->fields.transaction_id, "tx-0001");
  EXPECT_EQ(m->fields.sender_nonce, kNonce);
  EXPECT_FALSE(m->has_status);
  EXPECT_EQ(m->digest_name, "SHA256");
  EXPECT_EQ(X509_cmp(m->signer.get(), signer.cert.get()), 0);
  auto content = VerifyPkiMessage(*m);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(*content, "enveloped-bytes");
}

TEST(PkiMessage, FailureReplyCarriesEmptyContentAndFailInfo) {
  Pair ca = MakePair(v1::KEY_ALGORITHM_ECDSA_P256, "ca");
  PkiMessageFields f;
  f.type = MessageType::kCertRep;
  f.transaction_id = "tx";
  f.sender_nonce = kNonce;
  f.recipient_nonce = "fedcba9876543210";
  f.status = PkiStatus::kFailure;
  f.fail_info = FailInfo::kBadTime;
  auto der = BuildPkiMessage(f, "", ca.cert.get(), ca.key.get());
  ASSERT_TRUE(der.ok());
  auto m = ParsePkiMessage(*der);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->fields.status, PkiStatus::kFailure);
  EXPECT_TRUE(m->has_fail_info);
  EXPECT_EQ(m->fields.fail_info, FailInfo::kBadTime);
  EXPECT_EQ(m->fields.recipient_nonce, "fedcba9876543210");
  auto content = VerifyPkiMessage(*m);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_TRUE(content->empty());
  // The encapsulated content is there, empty (certmonger reads a reply
  // without one as "PKCS7 routines::no content").
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(p7, nullptr);
  ASSERT_TRUE(PKCS7_type_is_signed(p7));
  PKCS7* inner = p7->d.sign->contents;
  ASSERT_NE(inner, nullptr);
  ASSERT_TRUE(PKCS7_type_is_data(inner));
  ASSERT_NE(inner->d.data, nullptr);
  EXPECT_EQ(ASN1_STRING_length(inner->d.data), 0);
  PKCS7_free(p7);
}

TEST(PkiMessage, TamperedContentOrSignatureFailsVerification) {
  Pair signer = MakePair(v1::KEY_ALGORITHM_ECDSA_P256, "requester");
  PkiMessageFields f;
  f.type = MessageType::kPkcsReq;
  f.transaction_id = "tx";
  f.sender_nonce = kNonce;
  auto der = BuildPkiMessage(f, "the-content-that-is-signed", signer.cert.get(), signer.key.get());
  ASSERT_TRUE(der.ok());
  std::string tampered = *der;
  const size_t at = tampered.find("the-content");
  ASSERT_NE(at, std::string::npos);
  tampered[at] = 'T';
  auto m = ParsePkiMessage(tampered);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(VerifyPkiMessage(*m).status().code(), absl::StatusCode::kUnauthenticated);
  // A signed attribute changed after signing.
  std::string relabeled = *der;
  // PrintableString "tx": tag, length, value.
  const size_t tx = relabeled.find(std::string("\x13\x02tx", 4));
  ASSERT_NE(tx, std::string::npos);
  relabeled[tx + 2] = 'T';
  auto rm = ParsePkiMessage(relabeled);
  ASSERT_TRUE(rm.ok()) << rm.status();
  EXPECT_EQ(rm->fields.transaction_id, "Tx");
  EXPECT_EQ(VerifyPkiMessage(*rm).status().code(), absl::StatusCode::kUnauthenticated);
  // CMS itself refuses to sign with a key that is not the certificate's.
  Pair other = MakePair(v1::KEY_ALGORITHM_ECDSA_P256, "requester");
  EXPECT_FALSE(BuildPkiMessage(f, "x", other.cert.get(), signer.key.get()).ok());
}

TEST(PkiMessage, MalformedMessagesAreRefusedWithReasons) {
  EXPECT_FALSE(ParsePkiMessage("").ok());
  EXPECT_FALSE(ParsePkiMessage("garbage").ok());
  Pair signer = MakePair(v1::KEY_ALGORITHM_ECDSA_P256, "r");
  PkiMessageFields f;
  f.type = MessageType::kPkcsReq;
  f.transaction_id = "tx";
  // No senderNonce on a request.
  auto no_nonce = BuildPkiMessage(f, "c", signer.cert.get(), signer.key.get());
  ASSERT_TRUE(no_nonce.ok());
  EXPECT_NE(ParsePkiMessage(*no_nonce).status().message().find("senderNonce"), std::string::npos);
  // A nonce that is not 16 octets.
  f.sender_nonce = "short";
  auto short_nonce = BuildPkiMessage(f, "c", signer.cert.get(), signer.key.get());
  ASSERT_TRUE(short_nonce.ok());
  EXPECT_FALSE(ParsePkiMessage(*short_nonce).ok());
  // Trailing octets after the DER.
  f.sender_nonce = kNonce;
  auto good = BuildPkiMessage(f, "c", signer.cert.get(), signer.key.get());
  ASSERT_TRUE(good.ok());
  EXPECT_FALSE(ParsePkiMessage(*good + "x").ok());
  // Every truncation fails cleanly.
  for (size_t n = 0; n < good->size(); n += 7) EXPECT_FALSE(ParsePkiMessage(good->substr(0, n)).ok());
}

TEST(PkiMessage, EnvelopesOpenForRsaAndEcRecipientsWithEachCipher) {
  for (auto alg : {v1::KEY_ALGORITHM_RSA_2048, v1::KEY_ALGORITHM_ECDSA_P256,
                   v1::KEY_ALGORITHM_ECDSA_P384}) {
    Pair r = MakePair(alg, "recipient");
    for (auto cipher : {ContentCipher::kAes128Cbc, ContentCipher::kAes192Cbc,
                        ContentCipher::kAes256Cbc, ContentCipher::kDes3Cbc}) {
      auto env = SealEnvelope("secret csr", {r.cert.get()}, cipher);
      ASSERT_TRUE(env.ok()) << env.status();
      EXPECT_EQ(env->find("secret csr"), std::string::npos);
      ContentCipher used = ContentCipher::kDesCbc;
      auto opened = OpenEnvelope(*env, r.cert.get(), r.key.get(), &used);
      ASSERT_TRUE(opened.ok()) << opened.status();
      EXPECT_EQ(*opened, "secret csr");
      EXPECT_EQ(used, cipher);  // what the reply will be sealed with
    }
  }
  Pair a = MakePair(v1::KEY_ALGORITHM_RSA_2048, "a");
  Pair b = MakePair(v1::KEY_ALGORITHM_RSA_2048, "b");
  auto env = SealEnvelope("for a", {a.cert.get()}, ContentCipher::kAes128Cbc);
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(OpenEnvelope(*env, b.cert.get(), b.key.get()).ok());
  EXPECT_FALSE(OpenEnvelope("junk", a.cert.get(), a.key.get()).ok());
}

TEST(PkiMessage, DegenerateAndIssuerStructuresRoundTrip) {
  Pair a = MakePair(v1::KEY_ALGORITHM_ECDSA_P256, "a");
  Pair b = MakePair(v1::KEY_ALGORITHM_ECDSA_P256, "b");
  auto p7 = DegenerateCertsOnly({a.cert.get(), b.cert.get()});
  ASSERT_TRUE(p7.ok());
  auto parsed = ParseDegenerate(*p7);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->certs.size(), 2u);
  EXPECT_TRUE(parsed->crls.empty());
  EXPECT_FALSE(ParseDegenerate("nope").ok());
  // The SET of certificates is in DER order whatever order it was given in
  // (X.690 §11.6): strict parsers refuse anything else.
  const std::string da = DerOf(a.cert.get()), db = DerOf(b.cert.get());
  EXPECT_EQ(*DegenerateCertsOnly({b.cert.get(), a.cert.get()}), *p7);
  EXPECT_EQ(DerOf(parsed->certs[0].get()), std::min(da, db));
  EXPECT_EQ(DerOf(parsed->certs[1].get()), std::max(da, db));
  // Written by hand from DER, byte for byte what OpenSSL makes.
  EXPECT_EQ(DegenerateCertsOnlyDer({da, db}), *p7);
  EXPECT_EQ(DegenerateCertsOnlyDer({db, da}), *p7);
  EXPECT_EQ(DegenerateCertsOnlyDer({da}), *DegenerateCertsOnly({a.cert.get()}));

  auto ias = EncodeIssuerAndSerial(a.cert.get());
  ASSERT_TRUE(ias.ok());
  auto decoded = DecodeIssuerAndSerial(*ias);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->serial_hex, SerialHex(X509_get0_serialNumber(a.cert.get())));
  EXPECT_FALSE(DecodeIssuerAndSerial(*ias + "x").ok());

  const std::string ias2 =
      EncodeIssuerAndSubject(X509_get_subject_name(a.cert.get()), X509_get_subject_name(b.cert.get()));
  auto subj = DecodeIssuerAndSubject(ias2);
  ASSERT_TRUE(subj.ok()) << subj.status();
  EXPECT_NE(subj->issuer_der, subj->subject_der);
  EXPECT_FALSE(DecodeIssuerAndSubject(ias2.substr(0, ias2.size() - 1)).ok());
  EXPECT_FALSE(DecodeIssuerAndSubject("").ok());
}

}  // namespace
}  // namespace vpnfleet::pki::scep
