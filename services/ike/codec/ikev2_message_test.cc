#include "services/ike/codec/ikev2_message.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace vpnfleet::ike::v2 {
namespace {

Payload Make(PayloadType type, PayloadBody body, bool critical = false) {
  Payload p;
  p.type = static_cast<uint8_t>(type);
  p.critical = critical;
  p.body = std::move(body);
  return p;
}

Transform T(uint8_t type, uint16_t id, std::vector<Attribute> attrs = {}) {
  Transform t;
  t.type = type;
  t.id = id;
  t.attributes = std::move(attrs);
  return t;
}

Attribute KeyLength(uint16_t bits) {
  Attribute a;
  a.type = kAttributeKeyLength;
  a.value = bits;
  return a;
}

// An IKE_SA_INIT request as strongSwan sends one: two proposals (AES-GCM
// with PRF and DH; AES-CBC with integrity), KE for Curve25519, a nonce,
// NAT detection notifies and a vendor ID.
Message SaInitRequest() {
  Message m;
  m.header.initiator_spi = 0x0123456789abcdefULL;
  m.header.exchange_type = static_cast<uint8_t>(ExchangeType::kIkeSaInit);
  m.header.flags = kFlagInitiator;
  SaPayload sa;
  Proposal gcm;
  gcm.number = 1;
  gcm.protocol = 1;
  gcm.transforms = {T(1, 20, {KeyLength(256)}), T(2, 5), T(4, 31)};
  Proposal cbc;
  cbc.number = 2;
  cbc.protocol = 1;
  cbc.transforms = {T(1, 12, {KeyLength(128)}), T(3, 12), T(2, 5), T(4, 19), T(4, 14)};
  sa.proposals = {gcm, cbc};
  m.payloads.push_back(Make(PayloadType::kSa, sa));
  m.payloads.push_back(Make(PayloadType::kKe, KePayload{31, std::string(32, '\x42')}));
  m.payloads.push_back(Make(PayloadType::kNonce, NoncePayload{std::string(32, '\x07')}));
  NotifyPayload src{0, "", 16388, std::string(20, '\x11')};
  NotifyPayload dst{0, "", 16389, std::string(20, '\x22')};
  m.payloads.push_back(Make(PayloadType::kNotify, src));
  m.payloads.push_back(Make(PayloadType::kNotify, dst));
  m.payloads.push_back(Make(PayloadType::kVendorId, VendorIdPayload{"vpnfleet"}));
  return m;
}

TEST(Ikev2Codec, SaInitRoundTripsAndReencodesToTheSameOctets) {
  const Message m = SaInitRequest();
  auto wire = Encode(m);
  ASSERT_TRUE(wire.ok()) << wire.status();
  // Header: SPIs, next payload SA (33), version 0x20, exchange 34, flags 0x08,
  // message ID 0, then the length of the datagram.
  EXPECT_EQ(absl::BytesToHexString(wire->substr(0, 24)),
            "0123456789abcdef00000000000000002120220800000000");
  EXPECT_EQ(static_cast<size_t>(static_cast<uint8_t>((*wire)[26]) << 8 |
                                static_cast<uint8_t>((*wire)[27])),
            wire->size());
  auto back = Decode(*wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(*Encode(*back), *wire);
  EXPECT_TRUE(ValidateMessage(*back).ok()) << ValidateMessage(*back);
  const auto* ke = back->Find<KePayload>(PayloadType::kKe);
  ASSERT_NE(ke, nullptr);
  EXPECT_EQ(ke->group, 31);
}

TEST(Ikev2Codec, HandAssembledSaPayloadDecodesFieldByField) {
  // A proposal that claims 12 octets but whose transform is cut short.
  DecodeError why = DecodeError::kNone;
  EXPECT_FALSE(Decode(absl::HexStringToBytes(
                          "00000000000000010000000000000000212022080000000000000028"
                          "0000000c"           // SA: next none, length 12
                          "0000000c01010001"), // proposal: last, length 12, #1, IKE, 1 transform
                      &why)
                   .ok());
  EXPECT_EQ(why, DecodeError::kInvalidSyntax);

  // SA { proposal 1, IKE, no SPI, one transform: ENCR AES-CBC (12), TV KeyLength 128 },
  // each length visible: message 52 = 28 + SA 24; proposal 20 = 8 + transform 12.
  const std::string wire = absl::HexStringToBytes(
      "00000000000000010000000000000000212022080000000000000034"
      "00000018"
      "0000001401010001"
      "0000000c0100000c800e0080");
  auto m = Decode(wire);
  ASSERT_TRUE(m.ok()) << m.status();
  const auto* sa = m->Find<SaPayload>(PayloadType::kSa);
  ASSERT_NE(sa, nullptr);
  ASSERT_EQ(sa->proposals.size(), 1u);
  const Proposal& p = sa->proposals[0];
  EXPECT_EQ(p.number, 1);
  EXPECT_EQ(p.protocol, 1);
  ASSERT_EQ(p.transforms.size(), 1u);
  EXPECT_EQ(p.transforms[0].type, 1);
  EXPECT_EQ(p.transforms[0].id, 12);
  ASSERT_EQ(p.transforms[0].attributes.size(), 1u);
  EXPECT_TRUE(p.transforms[0].attributes[0].tv);
  EXPECT_EQ(p.transforms[0].attributes[0].type, kAttributeKeyLength);
  EXPECT_EQ(p.transforms[0].attributes[0].value, 128);
  EXPECT_EQ(*Encode(*m), wire);
}

TEST(Ikev2Codec, EveryTruncationAndWrongLengthIsASyntaxError) {
  const std::string wire = *Encode(SaInitRequest());
  for (size_t n = 0; n < wire.size(); ++n) {
    DecodeError why = DecodeError::kNone;
    EXPECT_FALSE(Decode(wire.substr(0, n), &why).ok()) << n;
    EXPECT_EQ(why, DecodeError::kInvalidSyntax) << n;
  }
  // Header length larger than the datagram, and octets after the last payload.
  EXPECT_FALSE(Decode(wire + "x").ok());
  std::string trailing = wire + "xxxx";
  trailing[27] = static_cast<char>(trailing.size());
  trailing[26] = static_cast<char>(trailing.size() >> 8);
  EXPECT_FALSE(Decode(trailing).ok());
}

TEST(Ikev2Codec, CriticalUnknownPayloadRefusedNonCriticalKept) {
  Message m = SaInitRequest();
  m.payloads.push_back(Make(static_cast<PayloadType>(200), UnknownPayload{"opaque"}));
  auto wire = Encode(m);
  ASSERT_TRUE(wire.ok());
  auto back = Decode(*wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(*Encode(*back), *wire);

  m.payloads.back().critical = true;
  DecodeError why = DecodeError::kNone;
  auto refused = Decode(*Encode(m), &why);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(why, DecodeError::kUnsupportedCriticalPayload);
}

TEST(Ikev2Codec, VersionThreeIsInvalidMajorVersion) {
  std::string wire = *Encode(SaInitRequest());
  wire[17] = 0x30;
  DecodeError why = DecodeError::kNone;
  EXPECT_FALSE(Decode(wire, &why).ok());
  EXPECT_EQ(why, DecodeError::kInvalidMajorVersion);
}

TEST(Ikev2Codec, EncryptedPayloadIsLastAndNamesItsFirstInnerPayload) {
  // IKE_AUTH: the inner chain IDi, AUTH, SA, TSi, TSr goes into SK.
  std::vector<Payload> inner;
  inner.push_back(Make(PayloadType::kIdi, IdPayload{2, "site1.vpnfleet.example"}));
  inner.push_back(Make(PayloadType::kAuth, AuthPayload{2, std::string(32, 'a')}));
  SaPayload sa;
  Proposal esp;
  esp.number = 1;
  esp.protocol = 3;
  esp.spi = std::string("\xc1\x00\x00\x01", 4);
  esp.transforms = {T(1, 20, {KeyLength(128)}), T(5, 0)};
  sa.proposals = {esp};
  inner.push_back(Make(PayloadType::kSa, sa));
  TrafficSelector ts;
  ts.start_address = std::string("\x0a\x01\x00\x00", 4);
  ts.end_address = std::string("\x0a\x01\x00\xff", 4);
  inner.push_back(Make(PayloadType::kTsi, TsPayload{{ts}}));
  ts.start_address = std::string("\x0a\x02\x00\x00", 4);
  ts.end_address = std::string("\x0a\x02\x00\xff", 4);
  inner.push_back(Make(PayloadType::kTsr, TsPayload{{ts}}));
  auto plain = EncodePayloads(inner);
  ASSERT_TRUE(plain.ok());
  auto inner_back = DecodePayloads(static_cast<uint8_t>(PayloadType::kIdi), *plain);
  ASSERT_TRUE(inner_back.ok()) << inner_back.status();
  EXPECT_EQ(*inner_back, inner);

  Message m;
  m.header.initiator_spi = 1;
  m.header.responder_spi = 2;
  m.header.exchange_type = static_cast<uint8_t>(ExchangeType::kIkeAuth);
  m.header.flags = kFlagInitiator;
  m.header.message_id = 1;
  m.payloads.push_back(Make(PayloadType::kSk, SkPayload{35, "iv+ciphertext+icv"}));
  auto wire = Encode(m);
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(static_cast<uint8_t>((*wire)[28]), 35);  // SK's Next Payload: IDi
  auto back = Decode(*wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, m);

  // Anything after SK is refused, on both sides.
  m.payloads.push_back(Make(PayloadType::kVendorId, VendorIdPayload{"x"}));
  EXPECT_FALSE(Encode(m).ok());
}

TEST(Ikev2Codec, ValidationIsApartFromParsing) {
  Message m = SaInitRequest();
  ASSERT_TRUE(ValidateMessage(m).ok());
  Message short_nonce = m;
  std::get<NoncePayload>(short_nonce.payloads[2].body).data = std::string(15, 'n');
  ASSERT_TRUE(Decode(*Encode(short_nonce)).ok());  // parses ...
  EXPECT_FALSE(ValidateMessage(short_nonce).ok());  // ... but is not acceptable

  Message numbering = m;
  std::get<SaPayload>(numbering.payloads[0].body).proposals[1].number = 5;
  EXPECT_FALSE(ValidateMessage(numbering).ok());

  Message esp_spi = m;
  auto& p = std::get<SaPayload>(esp_spi.payloads[0].body).proposals[0];
  p.protocol = 3;
  p.spi = "abc";
  EXPECT_FALSE(ValidateMessage(esp_spi).ok());

  Message two_ke = m;
  two_ke.payloads.push_back(m.payloads[1]);
  EXPECT_FALSE(ValidateMessage(two_ke).ok());

  Message ts;
  TrafficSelector backwards;
  backwards.start_port = 500;
  backwards.end_port = 100;
  backwards.start_address = std::string(4, '\0');
  backwards.end_address = std::string(4, '\1');
  ts.payloads.push_back(Make(PayloadType::kTsi, TsPayload{{backwards}}));
  EXPECT_FALSE(ValidateMessage(ts).ok());
  backwards.end_port = 600;
  backwards.start_address = std::string(16, '\0');  // IPv4 type, IPv6-sized
  backwards.end_address = std::string(16, '\1');
  ts.payloads[0].body = TsPayload{{backwards}};
  EXPECT_TRUE(Decode(*Encode(ts)).ok());
  EXPECT_FALSE(ValidateMessage(ts).ok());
}

TEST(Ikev2Codec, DeleteAndNotifyAndCpRoundTrip) {
  Message m;
  m.header.exchange_type = static_cast<uint8_t>(ExchangeType::kInformational);
  m.payloads.push_back(Make(PayloadType::kDelete,
                            DeletePayload{3, 4, {std::string("\x00\x00\x10\x01", 4),
                                                 std::string("\x00\x00\x10\x02", 4)}}));
  m.payloads.push_back(
      Make(PayloadType::kNotify, NotifyPayload{3, std::string("\x00\x00\x10\x01", 4), 11, ""}));
  CpPayload cp;
  cp.cfg_type = 1;
  cp.attributes = {CpAttribute{1, ""}, CpAttribute{3, std::string("\x0a\x00\x00\x01", 4)}};
  m.payloads.push_back(Make(PayloadType::kCp, cp));
  auto wire = Encode(m);
  ASSERT_TRUE(wire.ok());
  auto back = Decode(*wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
  // A Delete whose count disagrees with its size.
  std::string bad = *wire;
  const size_t count_at = 28 + 4 + 2;
  bad[count_at + 1] = 3;
  EXPECT_FALSE(Decode(bad).ok());
}

}  // namespace
}  // namespace vpnfleet::ike::v2
