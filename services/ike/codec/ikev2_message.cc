#include "services/ike/codec/ikev2_message.h"

#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/bytes/byte_reader.h"

namespace vpnfleet::ike::v2 {
namespace {

using bytes::ByteReader;

constexpr size_t kGenericHeaderSize = 4;

absl::Status Syntax(DecodeError* why, absl::string_view what) {
  if (why != nullptr) *why = DecodeError::kInvalidSyntax;
  return absl::InvalidArgumentError(std::string(what));
}

absl::Status Bad(absl::string_view payload, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(payload, ": ", what));
}

bool Known(uint8_t type) {
  return (type >= 33 && type <= 48) || type == static_cast<uint8_t>(PayloadType::kSkf);
}

// §3.3.5 attributes until the end of `r`.
absl::Status DecodeAttributes(ByteReader& r, std::vector<Attribute>* out) {
  while (!r.empty()) {
    uint16_t type = 0, value = 0;
    if (!r.U16(&type) || !r.U16(&value)) return Bad("SA", "truncated transform attribute");
    Attribute a;
    a.tv = (type & 0x8000) != 0;
    a.type = type & 0x7fff;
    if (a.tv) {
      a.value = value;
    } else if (!r.Bytes(value, &a.tlv_value)) {
      return Bad("SA", "transform attribute longer than its transform");
    }
    out->push_back(std::move(a));
  }
  return absl::OkStatus();
}

absl::Status DecodeSa(ByteReader& r, SaPayload* sa) {
  uint8_t last = 2;
  while (last == 2) {
    uint8_t reserved = 0, spi_size = 0, num_transforms = 0;
    uint16_t length = 0;
    Proposal p;
    if (!r.U8(&last) || !r.U8(&reserved) || !r.U16(&length)) return Bad("SA", "truncated proposal");
    if (last != 0 && last != 2) return Bad("SA", "proposal's Last Substruc is neither 0 nor 2");
    if (length < 8 || static_cast<size_t>(length) - 4 > r.remaining()) return Bad("SA", "bad proposal length");
    absl::string_view body;
    r.Bytes(length - 4, &body);
    ByteReader pr(body);
    pr.U8(&p.number);
    pr.U8(&p.protocol);
    pr.U8(&spi_size);
    pr.U8(&num_transforms);
    if (!pr.Bytes(spi_size, &p.spi)) return Bad("SA", "proposal SPI longer than the proposal");
    uint8_t tlast = num_transforms > 0 ? 3 : 0;
    for (int i = 0; i < num_transforms; ++i) {
      uint16_t tlen = 0, id = 0;
      uint8_t treserved = 0, ttype = 0, treserved2 = 0;
      if (!pr.U8(&tlast) || !pr.U8(&treserved) || !pr.U16(&tlen)) {
        return Bad("SA", "truncated transform");
      }
      if (tlast != 0 && tlast != 3) return Bad("SA", "transform's Last Substruc is neither 0 nor 3");
      if ((tlast == 0) != (i + 1 == num_transforms)) {
        return Bad("SA", "transform count and Last Substruc disagree");
      }
      if (tlen < 8 || static_cast<size_t>(tlen) - 4 > pr.remaining()) return Bad("SA", "bad transform length");
      absl::string_view tbody;
      pr.Bytes(tlen - 4, &tbody);
      ByteReader tr(tbody);
      Transform t;
      tr.U8(&ttype);
      tr.U8(&treserved2);
      tr.U16(&id);
      t.type = ttype;
      t.id = id;
      if (auto st = DecodeAttributes(tr, &t.attributes); !st.ok()) return st;
      p.transforms.push_back(std::move(t));
    }
    if (!pr.empty()) return Bad("SA", "octets after the last transform of a proposal");
    sa->proposals.push_back(std::move(p));
  }
  if (!r.empty()) return Bad("SA", "octets after the last proposal");
  return absl::OkStatus();
}

absl::Status DecodeTs(ByteReader& r, TsPayload* ts) {
  uint8_t count = 0;
  if (!r.U8(&count) || !r.Skip(3)) return Bad("TS", "truncated");
  for (int i = 0; i < count; ++i) {
    TrafficSelector s;
    uint16_t length = 0;
    if (!r.U8(&s.ts_type) || !r.U8(&s.ip_protocol) || !r.U16(&length)) {
      return Bad("TS", "truncated selector");
    }
    if (length < 8 || static_cast<size_t>(length) - 4 > r.remaining()) return Bad("TS", "bad selector length");
    absl::string_view body;
    r.Bytes(length - 4, &body);
    ByteReader sr(body);
    sr.U16(&s.start_port);
    sr.U16(&s.end_port);
    // Both addresses have the same size; the type says which (validated
    // apart), the length says how many octets.
    const size_t rest = sr.remaining();
    if (rest % 2 != 0) return Bad("TS", "selector addresses of unequal size");
    sr.Bytes(rest / 2, &s.start_address);
    sr.Bytes(rest / 2, &s.end_address);
    ts->selectors.push_back(std::move(s));
  }
  if (!r.empty()) return Bad("TS", "octets after the last selector");
  return absl::OkStatus();
}

absl::Status DecodeBody(uint8_t type, absl::string_view bytes, PayloadBody* out) {
  ByteReader r(bytes);
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::kSa: {
      SaPayload sa;
      if (auto st = DecodeSa(r, &sa); !st.ok()) return st;
      *out = std::move(sa);
      return absl::OkStatus();
    }
    case PayloadType::kKe: {
      KePayload ke;
      if (!r.U16(&ke.group) || !r.Skip(2)) return Bad("KE", "truncated");
      ke.data = std::string(r.Rest());
      *out = std::move(ke);
      return absl::OkStatus();
    }
    case PayloadType::kIdi:
    case PayloadType::kIdr: {
      IdPayload id;
      if (!r.U8(&id.id_type) || !r.Skip(3)) return Bad("ID", "truncated");
      id.data = std::string(r.Rest());
      *out = std::move(id);
      return absl::OkStatus();
    }
    case PayloadType::kCert:
    case PayloadType::kCertReq: {
      CertPayload c;
      if (!r.U8(&c.encoding)) return Bad("CERT", "truncated");
      c.data = std::string(r.Rest());
      *out = std::move(c);
      return absl::OkStatus();
    }
    case PayloadType::kAuth: {
      AuthPayload a;
      if (!r.U8(&a.method) || !r.Skip(3)) return Bad("AUTH", "truncated");
      a.data = std::string(r.Rest());
      *out = std::move(a);
      return absl::OkStatus();
    }
    case PayloadType::kNonce:
      *out = NoncePayload{std::string(r.Rest())};
      return absl::OkStatus();
    case PayloadType::kNotify: {
      NotifyPayload n;
      uint8_t spi_size = 0;
      if (!r.U8(&n.protocol) || !r.U8(&spi_size) || !r.U16(&n.type)) return Bad("N", "truncated");
      if (!r.Bytes(spi_size, &n.spi)) return Bad("N", "SPI longer than the payload");
      n.data = std::string(r.Rest());
      *out = std::move(n);
      return absl::OkStatus();
    }
    case PayloadType::kDelete: {
      DeletePayload d;
      uint16_t count = 0;
      if (!r.U8(&d.protocol) || !r.U8(&d.spi_size) || !r.U16(&count)) return Bad("D", "truncated");
      if (static_cast<size_t>(count) * d.spi_size != r.remaining()) {
        return Bad("D", "number of SPIs times SPI size is not the payload's size");
      }
      for (int i = 0; i < count; ++i) {
        std::string spi;
        r.Bytes(d.spi_size, &spi);
        d.spis.push_back(std::move(spi));
      }
      *out = std::move(d);
      return absl::OkStatus();
    }
    case PayloadType::kVendorId:
      *out = VendorIdPayload{std::string(r.Rest())};
      return absl::OkStatus();
    case PayloadType::kTsi:
    case PayloadType::kTsr: {
      TsPayload ts;
      if (auto st = DecodeTs(r, &ts); !st.ok()) return st;
      *out = std::move(ts);
      return absl::OkStatus();
    }
    case PayloadType::kSk:
      // first_inner is set by the caller from the generic header.
      *out = SkPayload{0, std::string(r.Rest())};
      return absl::OkStatus();
    case PayloadType::kSkf: {
      SkfPayload f;
      if (!r.U16(&f.fragment_number) || !r.U16(&f.total_fragments)) return Bad("SKF", "truncated");
      f.data = std::string(r.Rest());
      *out = std::move(f);
      return absl::OkStatus();
    }
    case PayloadType::kCp: {
      CpPayload cp;
      if (!r.U8(&cp.cfg_type) || !r.Skip(3)) return Bad("CP", "truncated");
      while (!r.empty()) {
        CpAttribute a;
        uint16_t length = 0;
        if (!r.U16(&a.type) || !r.U16(&length) || !r.Bytes(length, &a.value)) {
          return Bad("CP", "truncated attribute");
        }
        a.type &= 0x7fff;  // the R bit is reserved
        cp.attributes.push_back(std::move(a));
      }
      *out = std::move(cp);
      return absl::OkStatus();
    }
    case PayloadType::kEap:
      *out = EapPayload{std::string(r.Rest())};
      return absl::OkStatus();
    case PayloadType::kNone:
      break;
  }
  *out = UnknownPayload{std::string(r.Rest())};
  return absl::OkStatus();
}

absl::Status DecodeChain(uint8_t first, absl::string_view bytes, std::vector<Payload>* out,
                         DecodeError* why) {
  ByteReader r(bytes);
  uint8_t next = first;
  while (next != 0) {
    const uint8_t type = next;
    uint8_t flags = 0;
    uint16_t length = 0;
    if (!r.U8(&next) || !r.U8(&flags) || !r.U16(&length)) {
      return Syntax(why, absl::StrCat(PayloadTypeName(type), ": truncated payload header"));
    }
    if (length < kGenericHeaderSize || length - kGenericHeaderSize > r.remaining()) {
      return Syntax(why, absl::StrCat(PayloadTypeName(type), ": payload length ", length,
                                      " does not fit the message"));
    }
    Payload p;
    p.type = type;
    p.critical = (flags & 0x80) != 0;
    absl::string_view body;
    r.Bytes(length - kGenericHeaderSize, &body);
    if (!Known(type) && p.critical) {
      // §2.5: a critical payload we do not understand rejects the message.
      if (why != nullptr) *why = DecodeError::kUnsupportedCriticalPayload;
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported critical payload type ", static_cast<int>(type)));
    }
    if (auto st = DecodeBody(type, body, &p.body); !st.ok()) return Syntax(why, st.message());
    const bool encrypted = type == static_cast<uint8_t>(PayloadType::kSk) ||
                           type == static_cast<uint8_t>(PayloadType::kSkf);
    if (encrypted) {
      // §3.14: SK (and SKF) is the last payload; its Next Payload field
      // names the first payload inside.
      if (auto* sk = std::get_if<SkPayload>(&p.body)) sk->first_inner = next;
      if (auto* skf = std::get_if<SkfPayload>(&p.body)) skf->first_inner = next;
      out->push_back(std::move(p));
      if (!r.empty()) return Syntax(why, "octets after the Encrypted payload");
      return absl::OkStatus();
    }
    out->push_back(std::move(p));
  }
  if (!r.empty()) return Syntax(why, "octets after the last payload");
  return absl::OkStatus();
}

template <typename T>
bool Eq(const PayloadBody& a, const PayloadBody& b) {
  const T* x = std::get_if<T>(&a);
  const T* y = std::get_if<T>(&b);
  return x != nullptr && y != nullptr && *x == *y;
}

}  // namespace

const char* PayloadTypeName(uint8_t type) {
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::kNone: return "none";
    case PayloadType::kSa: return "SA";
    case PayloadType::kKe: return "KE";
    case PayloadType::kIdi: return "IDi";
    case PayloadType::kIdr: return "IDr";
    case PayloadType::kCert: return "CERT";
    case PayloadType::kCertReq: return "CERTREQ";
    case PayloadType::kAuth: return "AUTH";
    case PayloadType::kNonce: return "Nonce";
    case PayloadType::kNotify: return "N";
    case PayloadType::kDelete: return "D";
    case PayloadType::kVendorId: return "V";
    case PayloadType::kTsi: return "TSi";
    case PayloadType::kTsr: return "TSr";
    case PayloadType::kSk: return "SK";
    case PayloadType::kCp: return "CP";
    case PayloadType::kEap: return "EAP";
    case PayloadType::kSkf: return "SKF";
  }
  return "unknown";
}

bool Attribute::operator==(const Attribute& o) const {
  return std::tie(type, tv, value, tlv_value) == std::tie(o.type, o.tv, o.value, o.tlv_value);
}
bool Transform::operator==(const Transform& o) const {
  return std::tie(type, id, attributes) == std::tie(o.type, o.id, o.attributes);
}
bool Proposal::operator==(const Proposal& o) const {
  return std::tie(number, protocol, spi, transforms) ==
         std::tie(o.number, o.protocol, o.spi, o.transforms);
}
bool SaPayload::operator==(const SaPayload& o) const { return proposals == o.proposals; }
bool KePayload::operator==(const KePayload& o) const {
  return group == o.group && data == o.data;
}
bool IdPayload::operator==(const IdPayload& o) const {
  return id_type == o.id_type && data == o.data;
}
bool CertPayload::operator==(const CertPayload& o) const {
  return encoding == o.encoding && data == o.data;
}
bool AuthPayload::operator==(const AuthPayload& o) const {
  return method == o.method && data == o.data;
}
bool NoncePayload::operator==(const NoncePayload& o) const { return data == o.data; }
bool NotifyPayload::operator==(const NotifyPayload& o) const {
  return std::tie(protocol, spi, type, data) == std::tie(o.protocol, o.spi, o.type, o.data);
}
bool DeletePayload::operator==(const DeletePayload& o) const {
  return std::tie(protocol, spi_size, spis) == std::tie(o.protocol, o.spi_size, o.spis);
}
bool VendorIdPayload::operator==(const VendorIdPayload& o) const { return data == o.data; }
bool TrafficSelector::operator==(const TrafficSelector& o) const {
  return std::tie(ts_type, ip_protocol, start_port, end_port, start_address, end_address) ==
         std::tie(o.ts_type, o.ip_protocol, o.start_port, o.end_port, o.start_address,
                  o.end_address);
}
bool TsPayload::operator==(const TsPayload& o) const { return selectors == o.selectors; }
bool SkPayload::operator==(const SkPayload& o) const {
  return first_inner == o.first_inner && data == o.data;
}
bool SkfPayload::operator==(const SkfPayload& o) const {
  return std::tie(first_inner, fragment_number, total_fragments, data) ==
         std::tie(o.first_inner, o.fragment_number, o.total_fragments, o.data);
}
bool CpAttribute::operator==(const CpAttribute& o) const {
  return type == o.type && value == o.value;
}
bool CpPayload::operator==(const CpPayload& o) const {
  return cfg_type == o.cfg_type && attributes == o.attributes;
}
bool EapPayload::operator==(const EapPayload& o) const { return data == o.data; }
bool UnknownPayload::operator==(const UnknownPayload& o) const { return body == o.body; }

bool Payload::operator==(const Payload& o) const {
  if (type != o.type || critical != o.critical || body.index() != o.body.index()) return false;
  return Eq<SaPayload>(body, o.body) || Eq<KePayload>(body, o.body) ||
         Eq<IdPayload>(body, o.body) || Eq<CertPayload>(body, o.body) ||
         Eq<AuthPayload>(body, o.body) || Eq<NoncePayload>(body, o.body) ||
         Eq<NotifyPayload>(body, o.body) || Eq<DeletePayload>(body, o.body) ||
         Eq<VendorIdPayload>(body, o.body) || Eq<TsPayload>(body, o.body) ||
         Eq<SkPayload>(body, o.body) || Eq<SkfPayload>(body, o.body) ||
         Eq<CpPayload>(body, o.body) || Eq<EapPayload>(body, o.body) ||
         Eq<UnknownPayload>(body, o.body);
}

bool Message::operator==(const Message& o) const {
  return std::tie(header.initiator_spi, header.responder_spi, header.version,
                  header.exchange_type, header.flags, header.message_id, payloads) ==
         std::tie(o.header.initiator_spi, o.header.responder_spi, o.header.version,
                  o.header.exchange_type, o.header.flags, o.header.message_id, o.payloads);
}

absl::StatusOr<Message> Decode(absl::string_view datagram, DecodeError* why) {
  if (why != nullptr) *why = DecodeError::kNone;
  ByteReader r(datagram);
  Message m;
  uint8_t first = 0;
  uint32_t length = 0;
  if (!r.U64(&m.header.initiator_spi) || !r.U64(&m.header.responder_spi) || !r.U8(&first) ||
      !r.U8(&m.header.version) || !r.U8(&m.header.exchange_type) || !r.U8(&m.header.flags) ||
      !r.U32(&m.header.message_id) || !r.U32(&length)) {
    return Syntax(why, absl::StrCat("IKE header needs 28 octets, got ", datagram.size()));
  }
  if (m.header.version >> 4 != 2) {
    // §2.5: a major version we do not speak.
    if (why != nullptr) *why = DecodeError::kInvalidMajorVersion;
    return absl::InvalidArgumentError(
        absl::StrCat("IKE major version ", m.header.version >> 4, ", not 2"));
  }
  if (length != datagram.size()) {
    return Syntax(why, absl::StrCat("IKE header length ", length, " but the datagram has ",
                                    datagram.size(), " octets"));
  }
  if (auto st = DecodeChain(first, r.Rest(), &m.payloads, why); !st.ok()) return st;
  return m;
}

absl::StatusOr<std::vector<Payload>> DecodePayloads(uint8_t first_type, absl::string_view bytes,
                                                    DecodeError* why) {
  if (why != nullptr) *why = DecodeError::kNone;
  std::vector<Payload> out;
  if (auto st = DecodeChain(first_type, bytes, &out, why); !st.ok()) return st;
  return out;
}

absl::Status ValidateMessage(const Message& m) {
  if (m.header.version >> 4 != 2) return absl::InvalidArgumentError("not IKEv2");
  int sa = 0, ke = 0, nonce = 0;
  for (const Payload& p : m.payloads) {
    if (auto* s = std::get_if<SaPayload>(&p.body)) {
      ++sa;
      if (s->proposals.empty()) return Bad("SA", "no proposal");
      for (size_t i = 0; i < s->proposals.size(); ++i) {
        const Proposal& pr = s->proposals[i];
        // §3.3.1: the first proposal is number 1; each next one the same
        // number (an AND with the previous) or one more. A response's one
        // proposal keeps the number it had in the request.
        const bool response = (m.header.flags & kFlagResponse) != 0;
        const uint8_t prev = i == 0 ? 0 : s->proposals[i - 1].number;
        if ((i == 0 && !response && pr.number != 1) || (i == 0 && pr.number == 0) || (i > 0 && pr.number != prev && pr.number != prev + 1)) {
          return Bad("SA", absl::StrCat("proposal number ", pr.number, " out of sequence"));
        }
        if (pr.protocol < 1 || pr.protocol > 3) {
          return Bad("SA", absl::StrCat("unknown protocol ", pr.protocol));
        }
        const bool ike = pr.protocol == 1;
        if ((ike && !pr.spi.empty() && pr.spi.size() != 8) || (!ike && pr.spi.size() != 4)) {
          return Bad("SA", absl::StrCat("SPI of ", pr.spi.size(), " octets for protocol ",
                                        pr.protocol));
        }
        if (pr.transforms.empty()) return Bad("SA", "proposal without transforms");
        for (const Transform& t : pr.transforms) {
          if (t.type < 1 || t.type > 5) {
            return Bad("SA", absl::StrCat("unknown transform type ", t.type));
          }
        }
      }
    } else if (auto* k = std::get_if<KePayload>(&p.body)) {
      ++ke;
      if (k->data.empty()) return Bad("KE", "no key exchange data");
    } else if (auto* n = std::get_if<NoncePayload>(&p.body)) {
      ++nonce;
      // §3.9: at least 16 and at most 256 octets.
      if (n->data.size() < 16 || n->data.size() > 256) {
        return Bad("Nonce", absl::StrCat(n->data.size(), " octets, not 16..256"));
      }
    } else if (auto* ts = std::get_if<TsPayload>(&p.body)) {
      if (ts->selectors.empty()) return Bad("TS", "no selector");
      for (const TrafficSelector& s : ts->selectors) {
        const size_t want = s.ts_type == kTsIpv4AddrRange   ? 4
                            : s.ts_type == kTsIpv6AddrRange ? 16
                                                            : 0;
        if (want == 0) return Bad("TS", absl::StrCat("unknown selector type ", s.ts_type));
        if (s.start_address.size() != want || s.end_address.size() != want) {
          return Bad("TS", "address length does not match the selector type");
        }
        if (s.start_port > s.end_port || s.start_address > s.end_address) {
          return Bad("TS", "selector range ends before it starts");
        }
      }
    } else if (auto* nt = std::get_if<NotifyPayload>(&p.body)) {
      if (nt->protocol > 3) return Bad("N", absl::StrCat("unknown protocol ", nt->protocol));
    }
  }
  if (sa > 1 || ke > 1 || nonce > 1) {
    return absl::InvalidArgumentError("more than one SA, KE or Nonce payload");
  }
  return absl::OkStatus();
}

}  // namespace vpnfleet::ike::v2
