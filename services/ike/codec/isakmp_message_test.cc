#include "services/ike/codec/isakmp_message.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::isakmp {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// A Main Mode first message laid out by hand from RFC 2408 §3 and RFC 2409
// Appendix A (not by our encoder): one proposal of one KEY_IKE transform
// with AES-CBC-256, SHA2-256, pre-shared key, group 14 and a lifetime of
// 86,400 seconds as a 4-octet TLV (how IOS sends it), then the RFC 3947
// vendor ID.
std::string MainModeFirst() {
  const std::string transform = Hex(
      "00000028"   // last transform, length 40
      "01010000"   // transform #1, KEY_IKE
      "80010007"   // encryption: AES-CBC
      "800e0100"   // key length 256
      "80020004"   // hash: SHA2-256
      "80030001"   // authentication: pre-shared key
      "8004000e"   // group 14
      "800b0001"   // life type: seconds
      "000c000400015180");  // life duration 86400 (TLV)
  const std::string proposal = Hex("0000003001010001") + transform;  // 48 octets
  const std::string sa = Hex("0d00003c" "00000001" "00000001") + proposal;  // 60 octets
  const std::string vid = Hex("00000014" "4a131c81070358455c5728f20e95452f");
  const std::string body = sa + vid;
  const uint32_t length = static_cast<uint32_t>(28 + body.size());  // 108
  std::string header = Hex("1122334455667788" "0000000000000000" "01" "10" "02" "00" "00000000");
  for (int i = 3; i >= 0; --i) header.push_back(static_cast<char>(length >> (8 * i)));
  return header + body;
}

TEST(IsakmpMessage, DecodesAMainModeFirstMessageLaidOutByHand) {
  auto m = Decode(MainModeFirst());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->header.initiator_cookie, 0x1122334455667788u);
  EXPECT_EQ(m->header.responder_cookie, 0u);
  EXPECT_EQ(m->header.exchange, static_cast<uint8_t>(Exchange::kIdentityProtection));
  ASSERT_EQ(m->payloads.size(), 2u);
  const SaPayload* sa = m->Find<SaPayload>(PayloadType::kSa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 1u);
  EXPECT_EQ(sa->proposals[0].protocol, kProtoIsakmp);
  ASSERT_EQ(sa->proposals[0].transforms.size(), 1u);
  const Transform& t = sa->proposals[0].transforms[0];
  EXPECT_EQ(t.id, 1);
  ASSERT_EQ(t.attributes.size(), 7u);
  EXPECT_EQ(t.Find(1)->Number(), 7u);
  EXPECT_EQ(t.Find(14)->Number(), 256u);
  EXPECT_FALSE(t.Find(12)->tv);
  EXPECT_EQ(t.Find(12)->Number(), 86400u);
  const DataPayload* vid = m->Find<DataPayload>(PayloadType::kVendorId);
  ASSERT_NE(vid, nullptr);
  EXPECT_EQ(vid->data, Hex("4a131c81070358455c5728f20e95452f"));
  // SAi_b: the SA payload's body as received.
  EXPECT_EQ(m->FindPayload(PayloadType::kSa)->raw_body().size(), 56u);
}

TEST(IsakmpMessage, ReencodesToIdenticalOctets) {
  auto m = Decode(MainModeFirst());
  ASSERT_TRUE(m.ok());
  auto again = Encode(*m);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(absl::BytesToHexString(*again), absl::BytesToHexString(MainModeFirst()));
}

TEST(IsakmpMessage, EveryTruncationIsRefusedWithoutCrashing) {
  const std::string full = MainModeFirst();
  for (size_t n = 0; n < full.size(); ++n) {
    std::string cut = full.substr(0, n);
    EXPECT_FALSE(Decode(cut).ok()) << n;
    // With the header's length made to match, the payload chain itself is cut.
    if (n >= kHeaderSize) {
      cut[27] = static_cast<char>(n);
      cut[26] = static_cast<char>(n >> 8);
      EXPECT_FALSE(Decode(cut).ok()) << n;
    }
  }
}

Message EveryPayload() {
  Message m;
  m.header.initiator_cookie = 0x0102030405060708;
  m.header.responder_cookie = 0x1112131415161718;
  m.header.exchange = static_cast<uint8_t>(Exchange::kQuickMode);
  m.header.message_id = 0xdeadbeef;
  SaPayload sa;
  Proposal esp;
  esp.protocol = kProtoEsp;
  esp.spi = Hex("c0ffee01");
  Transform aes;
  aes.id = 12;  // ESP_AES
  aes.attributes = {Attribute::Basic(4, 1), Attribute::Basic(6, 256),
                    Attribute::Variable(2, 4608000), Attribute::Basic(5, 12)};
  Transform aes128 = aes;
  aes128.number = 2;
  aes128.attributes[1] = Attribute::Basic(6, 128);
  esp.transforms = {aes, aes128};
  Proposal ah = esp;
  ah.number = 2;
  ah.protocol = kProtoAh;
  ah.transforms.resize(1);
  sa.proposals = {esp, ah};
  m.payloads.push_back(MakeData(PayloadType::kHash, std::string(32, 'h')));
  m.payloads.push_back(MakeSa(sa));
  m.payloads.push_back(MakeData(PayloadType::kNonce, std::string(32, 'n')));
  m.payloads.push_back(MakeData(PayloadType::kKe, std::string(256, 'k')));
  m.payloads.push_back(MakeId({kIdIpv4Subnet, 17, 500, Hex("0a000000ffffff00")}));
  m.payloads.push_back(
      Payload{static_cast<uint8_t>(PayloadType::kCert), CertPayload{4, "der"}, {}});
  m.payloads.push_back(
      Payload{static_cast<uint8_t>(PayloadType::kCertReq), CertPayload{4, ""}, {}});
  m.payloads.push_back(MakeData(PayloadType::kSig, "signature"));
  m.payloads.push_back(MakeNotification({kDoiIpsec, kProtoEsp, 24576, Hex("c0ffee01"),
                                         Hex("00000e10")}));
  m.payloads.push_back(MakeDelete({kDoiIpsec, kProtoEsp, 4, {Hex("01020304"), Hex("05060708")}}));
  m.payloads.push_back(MakeData(PayloadType::kVendorId, "vendor"));
  m.payloads.push_back(MakeData(PayloadType::kNatD, std::string(20, 'd')));
  m.payloads.push_back(Payload{static_cast<uint8_t>(PayloadType::kNatOa),
                               NatOaPayload{kIdIpv4, Hex("c0a80001")}, {}});
  m.payloads.push_back(Payload{200, UnknownPayload{"private use"}, {}});
  return m;
}

TEST(IsakmpMessage, EveryPayloadRoundTrips) {
  const Message m = EveryPayload();
  auto bytes = Encode(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto back = Decode(*bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  Message expected = m;
  expected.header.next_payload = m.payloads.front().type;
  expected.header.length = static_cast<uint32_t>(bytes->size());
  EXPECT_EQ(*back, expected);
  auto again = Encode(*back);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *bytes);
  // Each payload's raw octets are what EncodePayload makes of it.
  for (size_t i = 0; i < back->payloads.size(); ++i) {
    const uint8_t next = i + 1 < back->payloads.size() ? back->payloads[i + 1].type : 0;
    auto one = EncodePayload(back->payloads[i], next);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(*one, back->payloads[i].raw) << i;
  }
  for (size_t n = kHeaderSize; n < bytes->size(); ++n) {
    std::string cut = bytes->substr(0, n);
    cut[26] = static_cast<char>(n >> 8);
    cut[27] = static_cast<char>(n);
    EXPECT_FALSE(Decode(cut).ok()) << n;
  }
}

TEST(IsakmpMessage, PaddingAfterADecryptedChainIsIgnoredOnlyWhenAllowed) {
  auto chain = EncodePayloads({MakeData(PayloadType::kHash, "0123456789abcdef0123")});
  ASSERT_TRUE(chain.ok());
  const std::string padded = *chain + std::string(8, '\0');
  EXPECT_TRUE(DecodePayloads(8, padded, true).ok());
  EXPECT_FALSE(DecodePayloads(8, padded, false).ok());
}

TEST(IsakmpMessage, RefusesWhatNoPeerMaySend) {
  std::string m = MainModeFirst();
  std::string v2 = m;
  v2[17] = 0x20;
  EXPECT_FALSE(Decode(v2).ok());
  std::string zero_cookie = m;
  zero_cookie.replace(0, 8, std::string(8, '\0'));
  EXPECT_FALSE(Decode(zero_cookie).ok());
  std::string longer = m + "x";
  EXPECT_FALSE(Decode(longer).ok());
  std::string encrypted = m;
  encrypted[19] = kFlagEncrypted;
  EXPECT_FALSE(Decode(encrypted).ok());  // the caller decrypts first
  EXPECT_TRUE(DecodeHeader(encrypted).ok());
  // A transform count that disagrees with the chain.
  std::string count = m;
  count[28 + 12 + 7] = 2;
  EXPECT_FALSE(Decode(count).ok());
  // A proposal where a payload belongs.
  std::string stray = m;
  stray[16] = 2;
  EXPECT_FALSE(Decode(stray).ok());
  // A payload length below its own header.
  std::string tiny = m;
  tiny[28 + 3] = 2;
  EXPECT_FALSE(Decode(tiny).ok());
  // A delete whose SPIs do not fill it.
  auto del = EncodePayloads({MakeDelete({kDoiIpsec, kProtoEsp, 4, {Hex("01020304")}})});
  ASSERT_TRUE(del.ok());
  std::string bad = *del;
  bad[11] = 2;  // two SPIs announced
  EXPECT_FALSE(DecodePayloads(12, bad, false).ok());
}

TEST(IsakmpMessage, VariableAttributesTakeTheShortestForm) {
  EXPECT_TRUE(Attribute::Variable(12, 3600).tv);
  EXPECT_EQ(Attribute::Variable(12, 86400).tlv_value, Hex("00015180"));
  EXPECT_EQ(Attribute::Variable(12, 0x100000000ull).tlv_value.size(), 8u);
  Attribute too_long;
  too_long.tv = false;
  too_long.tlv_value = std::string(9, '\x01');
  EXPECT_FALSE(too_long.Number().has_value());
}

}  // namespace
}  // namespace vpnfleet::ike::isakmp
