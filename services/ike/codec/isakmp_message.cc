#include "services/ike/codec/isakmp_message.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/bytes/byte_reader.h"

namespace vpnfleet::ike::isakmp {
namespace {

using bytes::ByteReader;
using bytes::ByteWriter;

constexpr size_t kGenericHeader = 4;
constexpr uint16_t kAttributeFormatTv = 0x8000;
// A message of more payloads than this is not one any IKEv1 exchange sends.
constexpr size_t kMaxPayloads = 64;
constexpr size_t kMaxProposals = 64;
constexpr size_t kMaxTransforms = 64;
constexpr size_t kMaxAttributes = 64;

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ISAKMP: ", what));
}

// --- decoding ---

absl::StatusOr<std::vector<Attribute>> ReadAttributes(ByteReader r) {
  std::vector<Attribute> out;
  while (!r.empty()) {
    if (out.size() >= kMaxAttributes) return Malformed("too many attributes");
    uint16_t type = 0, value = 0;
    if (!r.U16(&type) || !r.U16(&value)) return Malformed("truncated attribute");
    Attribute a;
    a.type = static_cast<uint16_t>(type & ~kAttributeFormatTv);
    a.tv = (type & kAttributeFormatTv) != 0;
    if (a.tv) {
      a.value = value;
    } else if (!r.Bytes(value, &a.tlv_value)) {
      return Malformed("attribute value runs past its transform");
    }
    out.push_back(std::move(a));
  }
  return out;
}

// A chain of generic payloads of one type (proposals, transforms) that
// ends with next payload 0 and fills `bytes` exactly.
template <typename Fn>
absl::Status ReadSubChain(absl::string_view bytes, uint8_t expected, size_t max, const char* what,
                          Fn each) {
  ByteReader r(bytes);
  size_t count = 0;
  uint8_t next = expected;
  while (next != 0) {
    if (next != expected) return Malformed(absl::StrCat(what, " chain holds payload ", next));
    if (++count > max) return Malformed(absl::StrCat("too many ", what, "s"));
    uint8_t reserved = 0;
    uint16_t length = 0;
    absl::string_view body;
    if (!r.U8(&next) || !r.U8(&reserved) || !r.U16(&length)) {
      return Malformed(absl::StrCat("truncated ", what));
    }
    if (length < kGenericHeader || !r.Bytes(length - kGenericHeader, &body)) {
      return Malformed(absl::StrCat(what, " length ", length, " does not fit"));
    }
    if (auto s = each(body); !s.ok()) return s;
  }
  if (!r.empty()) return Malformed(absl::StrCat("octets after the last ", what));
  return absl::OkStatus();
}

absl::StatusOr<Transform> ReadTransform(absl::string_view body) {
  ByteReader r(body);
  Transform t;
  uint16_t reserved = 0;
  if (!r.U8(&t.number) || !r.U8(&t.id) || !r.U16(&reserved)) {
    return Malformed("truncated transform");
  }
  auto attributes = ReadAttributes(ByteReader(r.Rest()));
  if (!attributes.ok()) return attributes.status();
  t.attributes = std::move(*attributes);
  return t;
}

absl::StatusOr<Proposal> ReadProposal(absl::string_view body) {
  ByteReader r(body);
  Proposal p;
  uint8_t spi_size = 0, transforms = 0;
  if (!r.U8(&p.number) || !r.U8(&p.protocol) || !r.U8(&spi_size) || !r.U8(&transforms) ||
      !r.Bytes(spi_size, &p.spi)) {
    return Malformed("truncated proposal");
  }
  auto s = ReadSubChain(r.Rest(), static_cast<uint8_t>(PayloadType::kTransform), kMaxTransforms,
                        "transform", [&](absl::string_view t) -> absl::Status {
                          auto transform = ReadTransform(t);
                          if (!transform.ok()) return transform.status();
                          p.transforms.push_back(std::move(*transform));
                          return absl::OkStatus();
                        });
  if (!s.ok()) return s;
  if (p.transforms.size() != transforms) {
    return Malformed(absl::StrCat("proposal announces ", transforms, " transforms and holds ",
                                  p.transforms.size()));
  }
  return p;
}

absl::StatusOr<SaPayload> ReadSa(absl::string_view body) {
  ByteReader r(body);
  SaPayload sa;
  if (!r.U32(&sa.doi) || !r.U32(&sa.situation)) return Malformed("truncated SA");
  if (sa.doi != kDoiIpsec) return Malformed(absl::StrCat("SA of DOI ", sa.doi));
  // The IPsec DOI's SIT_SECRECY and SIT_INTEGRITY add labelled-domain
  // fields nobody sends; we take identity-only situations.
  if (sa.situation != kSituationIdentityOnly) {
    return Malformed(absl::StrCat("SA situation ", sa.situation));
  }
  auto s = ReadSubChain(r.Rest(), static_cast<uint8_t>(PayloadType::kProposal), kMaxProposals,
                        "proposal", [&](absl::string_view p) -> absl::Status {
                          auto proposal = ReadProposal(p);
                          if (!proposal.ok()) return proposal.status();
                          sa.proposals.push_back(std::move(*proposal));
                          return absl::OkStatus();
                        });
  if (!s.ok()) return s;
  return sa;
}

absl::StatusOr<PayloadBody> ReadBody(uint8_t type, absl::string_view body) {
  ByteReader r(body);
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::kSa: {
      auto sa = ReadSa(body);
      if (!sa.ok()) return sa.status();
      return PayloadBody(std::move(*sa));
    }
    case PayloadType::kKe:
    case PayloadType::kHash:
    case PayloadType::kSig:
    case PayloadType::kNonce:
    case PayloadType::kVendorId:
    case PayloadType::kNatD:
    case PayloadType::kNatDDraft:
      return PayloadBody(DataPayload{std::string(body)});
    case PayloadType::kId: {
      IdPayload id;
      if (!r.U8(&id.id_type) || !r.U8(&id.protocol) || !r.U16(&id.port)) {
        return Malformed("truncated ID");
      }
      id.data = std::string(r.Rest());
      return PayloadBody(std::move(id));
    }
    case PayloadType::kCert:
    case PayloadType::kCertReq: {
      CertPayload c;
      if (!r.U8(&c.encoding)) return Malformed("truncated CERT");
      c.data = std::string(r.Rest());
      return PayloadBody(std::move(c));
    }
    case PayloadType::kNotification: {
      NotificationPayload n;
      uint8_t spi_size = 0;
      if (!r.U32(&n.doi) || !r.U8(&n.protocol) || !r.U8(&spi_size) || !r.U16(&n.type) ||
          !r.Bytes(spi_size, &n.spi)) {
        return Malformed("truncated notification");
      }
      n.data = std::string(r.Rest());
      return PayloadBody(std::move(n));
    }
    case PayloadType::kDelete: {
      DeletePayload d;
      uint16_t count = 0;
      if (!r.U32(&d.doi) || !r.U8(&d.protocol) || !r.U8(&d.spi_size) || !r.U16(&count)) {
        return Malformed("truncated delete");
      }
      if (d.spi_size == 0 || r.remaining() != static_cast<size_t>(count) * d.spi_size) {
        return Malformed(absl::StrCat("delete of ", count, " SPIs of ", d.spi_size,
                                      " octets in ", r.remaining()));
      }
      for (uint16_t i = 0; i < count; ++i) {
        std::string spi;
        r.Bytes(d.spi_size, &spi);
        d.spis.push_back(std::move(spi));
      }
      return PayloadBody(std::move(d));
    }
    case PayloadType::kNatOa:
    case PayloadType::kNatOaDraft: {
      NatOaPayload oa;
      if (!r.U8(&oa.id_type) || !r.Skip(3)) return Malformed("truncated NAT-OA");
      oa.address = std::string(r.Rest());
      const size_t want = oa.id_type == kIdIpv6 ? 16 : 4;
      if ((oa.id_type != kIdIpv4 && oa.id_type != kIdIpv6) || oa.address.size() != want) {
        return Malformed("NAT-OA is no IPv4 or IPv6 address");
      }
      return PayloadBody(std::move(oa));
    }
    default:
      return PayloadBody(UnknownPayload{std::string(body)});
  }
}

// --- encoding ---

absl::Status WriteAttributes(const std::vector<Attribute>& attributes, ByteWriter& w) {
  for (const Attribute& a : attributes) {
    if (a.type & kAttributeFormatTv) return Malformed("attribute type above 32767");
    if (a.tv) {
      w.U16(static_cast<uint16_t>(a.type | kAttributeFormatTv));
      w.U16(a.value);
    } else {
      if (a.tlv_value.size() > 0xffff) return Malformed("attribute value too long");
      w.U16(a.type);
      w.U16(static_cast<uint16_t>(a.tlv_value.size()));
      w.Bytes(a.tlv_value);
    }
  }
  return absl::OkStatus();
}

// A generic header whose length is patched once `write` has run.
template <typename Fn>
absl::Status WriteGeneric(uint8_t next, ByteWriter& w, Fn write) {
  const size_t start = w.size();
  w.U8(next);
  w.U8(0);
  w.U16(0);
  if (auto s = write(); !s.ok()) return s;
  const size_t length = w.size() - start;
  if (length > 0xffff) return Malformed("payload longer than 65535 octets");
  w.PatchU16(start + 2, static_cast<uint16_t>(length));
  return absl::OkStatus();
}

absl::Status WriteSa(const SaPayload& sa, ByteWriter& w) {
  w.U32(sa.doi);
  w.U32(sa.situation);
  for (size_t i = 0; i < sa.proposals.size(); ++i) {
    const Proposal& p = sa.proposals[i];
    const uint8_t next =
        i + 1 < sa.proposals.size() ? static_cast<uint8_t>(PayloadType::kProposal) : 0;
    if (p.spi.size() > 0xff || p.transforms.size() > 0xff) {
      return Malformed("proposal SPI or transform count too large");
    }
    auto s = WriteGeneric(next, w, [&]() -> absl::Status {
      w.U8(p.number);
      w.U8(p.protocol);
      w.U8(static_cast<uint8_t>(p.spi.size()));
      w.U8(static_cast<uint8_t>(p.transforms.size()));
      w.Bytes(p.spi);
      for (size_t j = 0; j < p.transforms.size(); ++j) {
        const Transform& t = p.transforms[j];
        const uint8_t tnext =
            j + 1 < p.transforms.size() ? static_cast<uint8_t>(PayloadType::kTransform) : 0;
        auto ts = WriteGeneric(tnext, w, [&]() -> absl::Status {
          w.U8(t.number);
          w.U8(t.id);
          w.U16(0);
          return WriteAttributes(t.attributes, w);
        });
        if (!ts.ok()) return ts;
      }
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

struct BodyWriter {
  ByteWriter& w;
  absl::Status operator()(const SaPayload& sa) { return WriteSa(sa, w); }
  absl::Status operator()(const DataPayload& d) {
    w.Bytes(d.data);
    return absl::OkStatus();
  }
  absl::Status operator()(const IdPayload& id) {
    w.U8(id.id_type);
    w.U8(id.protocol);
    w.U16(id.port);
    w.Bytes(id.data);
    return absl::OkStatus();
  }
  absl::Status operator()(const CertPayload& c) {
    w.U8(c.encoding);
    w.Bytes(c.data);
    return absl::OkStatus();
  }
  absl::Status operator()(const NotificationPayload& n) {
    if (n.spi.size() > 0xff) return Malformed("notification SPI too long");
    w.U32(n.doi);
    w.U8(n.protocol);
    w.U8(static_cast<uint8_t>(n.spi.size()));
    w.U16(n.type);
    w.Bytes(n.spi);
    w.Bytes(n.data);
    return absl::OkStatus();
  }
  absl::Status operator()(const DeletePayload& d) {
    if (d.spis.size() > 0xffff) return Malformed("delete of too many SPIs");
    w.U32(d.doi);
    w.U8(d.protocol);
    w.U8(d.spi_size);
    w.U16(static_cast<uint16_t>(d.spis.size()));
    for (const std::string& spi : d.spis) {
      if (spi.size() != d.spi_size) return Malformed("delete SPI of the wrong size");
      w.Bytes(spi);
    }
    return absl::OkStatus();
  }
  absl::Status operator()(const NatOaPayload& oa) {
    w.U8(oa.id_type);
    w.U8(0);
    w.U16(0);
    w.Bytes(oa.address);
    return absl::OkStatus();
  }
  absl::Status operator()(const UnknownPayload& u) {
    w.Bytes(u.body);
    return absl::OkStatus();
  }
};

absl::Status WritePayload(const Payload& p, uint8_t next, ByteWriter& w) {
  return WriteGeneric(next, w, [&] { return std::visit(BodyWriter{w}, p.body); });
}

}  // namespace

const char* ExchangeName(uint8_t exchange) {
  switch (static_cast<Exchange>(exchange)) {
    case Exchange::kIdentityProtection: return "MAIN_MODE";
    case Exchange::kAggressive: return "AGGRESSIVE";
    case Exchange::kInformational: return "INFORMATIONAL";
    case Exchange::kQuickMode: return "QUICK_MODE";
  }
  return "UNKNOWN";
}

const char* PayloadTypeName(uint8_t type) {
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::kNone: return "NONE";
    case PayloadType::kSa: return "SA";
    case PayloadType::kProposal: return "PROPOSAL";
    case PayloadType::kTransform: return "TRANSFORM";
    case PayloadType::kKe: return "KE";
    case PayloadType::kId: return "ID";
    case PayloadType::kCert: return "CERT";
    case PayloadType::kCertReq: return "CR";
    case PayloadType::kHash: return "HASH";
    case PayloadType::kSig: return "SIG";
    case PayloadType::kNonce: return "NONCE";
    case PayloadType::kNotification: return "N";
    case PayloadType::kDelete: return "D";
    case PayloadType::kVendorId: return "VID";
    case PayloadType::kNatD:
    case PayloadType::kNatDDraft: return "NAT-D";
    case PayloadType::kNatOa:
    case PayloadType::kNatOaDraft: return "NAT-OA";
  }
  return "UNKNOWN";
}

bool Header::operator==(const Header& o) const {
  return initiator_cookie == o.initiator_cookie && responder_cookie == o.responder_cookie &&
         next_payload == o.next_payload && version == o.version && exchange == o.exchange &&
         flags == o.flags && message_id == o.message_id && length == o.length;
}
bool Attribute::operator==(const Attribute& o) const {
  return type == o.type && tv == o.tv && (tv ? value == o.value : tlv_value == o.tlv_value);
}
bool Transform::operator==(const Transform& o) const {
  return number == o.number && id == o.id && attributes == o.attributes;
}
bool Proposal::operator==(const Proposal& o) const {
  return number == o.number && protocol == o.protocol && spi == o.spi &&
         transforms == o.transforms;
}
bool SaPayload::operator==(const SaPayload& o) const {
  return doi == o.doi && situation == o.situation && proposals == o.proposals;
}
bool DataPayload::operator==(const DataPayload& o) const { return data == o.data; }
bool IdPayload::operator==(const IdPayload& o) const {
  return id_type == o.id_type && protocol == o.protocol && port == o.port && data == o.data;
}
bool CertPayload::operator==(const CertPayload& o) const {
  return encoding == o.encoding && data == o.data;
}
bool NotificationPayload::operator==(const NotificationPayload& o) const {
  return doi == o.doi && protocol == o.protocol && type == o.type && spi == o.spi &&
         data == o.data;
}
bool DeletePayload::operator==(const DeletePayload& o) const {
  return doi == o.doi && protocol == o.protocol && spi_size == o.spi_size && spis == o.spis;
}
bool NatOaPayload::operator==(const NatOaPayload& o) const {
  return id_type == o.id_type && address == o.address;
}
bool UnknownPayload::operator==(const UnknownPayload& o) const { return body == o.body; }
bool Payload::operator==(const Payload& o) const { return type == o.type && body == o.body; }
bool Message::operator==(const Message& o) const {
  return header == o.header && payloads == o.payloads;
}

std::optional<uint64_t> Attribute::Number() const {
  if (tv) return value;
  if (tlv_value.empty() || tlv_value.size() > 8) return std::nullopt;
  uint64_t v = 0;
  for (char c : tlv_value) v = v << 8 | static_cast<uint8_t>(c);
  return v;
}

Attribute Attribute::Basic(uint16_t type, uint16_t value) {
  Attribute a;
  a.type = type;
  a.value = value;
  return a;
}

Attribute Attribute::Variable(uint16_t type, uint64_t value) {
  if (value <= 0xffff) return Basic(type, static_cast<uint16_t>(value));
  Attribute a;
  a.type = type;
  a.tv = false;
  const int octets = value <= 0xffffffffu ? 4 : 8;
  for (int i = octets - 1; i >= 0; --i) {
    a.tlv_value.push_back(static_cast<char>(value >> (8 * i)));
  }
  return a;
}

const Attribute* Transform::Find(uint16_t type) const {
  for (const Attribute& a : attributes) {
    if (a.type == type) return &a;
  }
  return nullptr;
}

absl::string_view Payload::raw_body() const {
  return raw.size() < kGenericHeader ? absl::string_view()
                                     : absl::string_view(raw).substr(kGenericHeader);
}

const Payload* Message::FindPayload(PayloadType type) const {
  for (const Payload& p : payloads) {
    if (p.type == static_cast<uint8_t>(type)) return &p;
  }
  return nullptr;
}

Payload MakeData(PayloadType type, std::string data) {
  return Payload{static_cast<uint8_t>(type), DataPayload{std::move(data)}, {}};
}
Payload MakeSa(SaPayload sa) {
  return Payload{static_cast<uint8_t>(PayloadType::kSa), std::move(sa), {}};
}
Payload MakeId(IdPayload id) {
  return Payload{static_cast<uint8_t>(PayloadType::kId), std::move(id), {}};
}
Payload MakeNotification(NotificationPayload n) {
  return Payload{static_cast<uint8_t>(PayloadType::kNotification), std::move(n), {}};
}
Payload MakeDelete(DeletePayload d) {
  return Payload{static_cast<uint8_t>(PayloadType::kDelete), std::move(d), {}};
}

absl::StatusOr<Framed> DecodeHeader(absl::string_view datagram) {
  ByteReader r(datagram);
  Framed f;
  Header& h = f.header;
  if (!r.U64(&h.initiator_cookie) || !r.U64(&h.responder_cookie) || !r.U8(&h.next_payload) ||
      !r.U8(&h.version) || !r.U8(&h.exchange) || !r.U8(&h.flags) || !r.U32(&h.message_id) ||
      !r.U32(&h.length)) {
    return Malformed("shorter than a header");
  }
  if (h.version >> 4 != 1) return Malformed(absl::StrCat("major version ", h.version >> 4));
  if (h.length != datagram.size()) {
    return Malformed(absl::StrCat("header length ", h.length, " in a datagram of ",
                                  datagram.size()));
  }
  if (h.initiator_cookie == 0) return Malformed("initiator cookie zero");
  f.body = r.Rest();
  return f;
}

absl::StatusOr<std::vector<Payload>> DecodePayloads(uint8_t first_type, absl::string_view bytes,
                                                    bool allow_trailing) {
  std::vector<Payload> out;
  ByteReader r(bytes);
  uint8_t type = first_type;
  while (type != 0) {
    if (out.size() >= kMaxPayloads) return Malformed("too many payloads");
    if (type == static_cast<uint8_t>(PayloadType::kProposal) ||
        type == static_cast<uint8_t>(PayloadType::kTransform)) {
      return Malformed("proposal or transform outside an SA");
    }
    const size_t start = r.position();
    uint8_t next = 0, reserved = 0;
    uint16_t length = 0;
    absl::string_view body;
    if (!r.U8(&next) || !r.U8(&reserved) || !r.U16(&length)) {
      return Malformed(absl::StrCat("truncated ", PayloadTypeName(type), " payload header"));
    }
    if (length < kGenericHeader || !r.Bytes(length - kGenericHeader, &body)) {
      return Malformed(absl::StrCat(PayloadTypeName(type), " payload length ", length,
                                    " does not fit"));
    }
    auto parsed = ReadBody(type, body);
    if (!parsed.ok()) return parsed.status();
    out.push_back(Payload{type, std::move(*parsed), std::string(bytes.substr(start, length))});
    type = next;
  }
  if (!allow_trailing && !r.empty()) {
    return Malformed(absl::StrCat(r.remaining(), " octets after the last payload"));
  }
  return out;
}

absl::StatusOr<Message> Decode(absl::string_view datagram) {
  auto framed = DecodeHeader(datagram);
  if (!framed.ok()) return framed.status();
  if (framed->header.flags & kFlagEncrypted) return Malformed("encrypted message");
  auto payloads = DecodePayloads(framed->header.next_payload, framed->body, false);
  if (!payloads.ok()) return payloads.status();
  return Message{framed->header, std::move(*payloads)};
}

absl::StatusOr<std::string> EncodePayload(const Payload& payload, uint8_t next) {
  std::string out;
  ByteWriter w(&out);
  if (auto s = WritePayload(payload, next, w); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> EncodePayloads(const std::vector<Payload>& payloads) {
  std::string out;
  ByteWriter w(&out);
  for (size_t i = 0; i < payloads.size(); ++i) {
    const uint8_t next = i + 1 < payloads.size() ? payloads[i + 1].type : 0;
    if (auto s = WritePayload(payloads[i], next, w); !s.ok()) return s;
  }
  return out;
}

std::string EncodeFramed(Header header, uint8_t first_type, absl::string_view body) {
  std::string out;
  out.reserve(kHeaderSize + body.size());
  ByteWriter w(&out);
  w.U64(header.initiator_cookie);
  w.U64(header.responder_cookie);
  w.U8(first_type);
  w.U8(header.version);
  w.U8(header.exchange);
  w.U8(header.flags);
  w.U32(header.message_id);
  w.U32(static_cast<uint32_t>(kHeaderSize + body.size()));
  w.Bytes(body);
  return out;
}

absl::StatusOr<std::string> Encode(const Message& message) {
  auto chain = EncodePayloads(message.payloads);
  if (!chain.ok()) return chain.status();
  const uint8_t first = message.payloads.empty() ? 0 : message.payloads.front().type;
  return EncodeFramed(message.header, first, *chain);
}

absl::StatusOr<std::vector<Attribute>> DecodeAttributes(absl::string_view bytes) {
  return ReadAttributes(ByteReader(bytes));
}

absl::StatusOr<std::string> EncodeAttributes(const std::vector<Attribute>& attributes) {
  std::string out;
  ByteWriter w(&out);
  if (auto s = WriteAttributes(attributes, w); !s.ok()) return s;
  return out;
}

}  // namespace vpnfleet::ike::isakmp
