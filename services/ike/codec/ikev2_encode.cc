// IKEv2 messages and payload chains into octets (RFC 7296 §3): the other
// half of ikev2_message.cc, which decodes and validates.
#include "services/ike/codec/ikev2_message.h"

#include "absl/strings/str_cat.h"
#include "common/bytes/byte_reader.h"

namespace vpnfleet::ike::v2 {
namespace {

using bytes::ByteWriter;

constexpr size_t kMaxMessage = 65535;

absl::Status Fits16(size_t n, absl::string_view what) {
  if (n > 0xffff) return absl::InvalidArgumentError(absl::StrCat(what, " too long to encode"));
  return absl::OkStatus();
}

absl::Status EncodeBody(const Payload& p, ByteWriter& w) {
  if (auto* sa = std::get_if<SaPayload>(&p.body)) {
    for (size_t i = 0; i < sa->proposals.size(); ++i) {
      const Proposal& pr = sa->proposals[i];
      const size_t start = w.size();
      w.U8(i + 1 == sa->proposals.size() ? 0 : 2);
      w.U8(0);
      w.U16(0);
      w.U8(pr.number);
      w.U8(pr.protocol);
      if (pr.spi.size() > 255 || pr.transforms.size() > 255) {
        return absl::InvalidArgumentError("proposal SPI or transform count too large");
      }
      w.U8(static_cast<uint8_t>(pr.spi.size()));
      w.U8(static_cast<uint8_t>(pr.transforms.size()));
      w.Bytes(pr.spi);
      for (size_t j = 0; j < pr.transforms.size(); ++j) {
        const Transform& t = pr.transforms[j];
        const size_t tstart = w.size();
        w.U8(j + 1 == pr.transforms.size() ? 0 : 3);
        w.U8(0);
        w.U16(0);
        w.U8(t.type);
        w.U8(0);
        w.U16(t.id);
        for (const Attribute& a : t.attributes) {
          if (a.tv) {
            w.U16(static_cast<uint16_t>(0x8000 | a.type));
            w.U16(a.value);
          } else {
            if (auto st = Fits16(a.tlv_value.size(), "transform attribute"); !st.ok()) return st;
            w.U16(a.type & 0x7fff);
            w.U16(static_cast<uint16_t>(a.tlv_value.size()));
            w.Bytes(a.tlv_value);
          }
        }
        if (auto st = Fits16(w.size() - tstart, "transform"); !st.ok()) return st;
        w.PatchU16(tstart + 2, static_cast<uint16_t>(w.size() - tstart));
      }
      if (auto st = Fits16(w.size() - start, "proposal"); !st.ok()) return st;
      w.PatchU16(start + 2, static_cast<uint16_t>(w.size() - start));
    }
  } else if (auto* ke = std::get_if<KePayload>(&p.body)) {
    w.U16(ke->group);
    w.U16(0);
    w.Bytes(ke->data);
  } else if (auto* id = std::get_if<IdPayload>(&p.body)) {
    w.U8(id->id_type);
    w.U8(0);
    w.U16(0);
    w.Bytes(id->data);
  } else if (auto* c = std::get_if<CertPayload>(&p.body)) {
    w.U8(c->encoding);
    w.Bytes(c->data);
  } else if (auto* a = std::get_if<AuthPayload>(&p.body)) {
    w.U8(a->method);
    w.U8(0);
    w.U16(0);
    w.Bytes(a->data);
  } else if (auto* n = std::get_if<NoncePayload>(&p.body)) {
    w.Bytes(n->data);
  } else if (auto* nt = std::get_if<NotifyPayload>(&p.body)) {
    if (nt->spi.size() > 255) return absl::InvalidArgumentError("notify SPI too long");
    w.U8(nt->protocol);
    w.U8(static_cast<uint8_t>(nt->spi.size()));
    w.U16(nt->type);
    w.Bytes(nt->spi);
    w.Bytes(nt->data);
  } else if (auto* d = std::get_if<DeletePayload>(&p.body)) {
    if (d->spis.size() > 0xffff) return absl::InvalidArgumentError("too many SPIs");
    w.U8(d->protocol);
    w.U8(d->spi_size);
    w.U16(static_cast<uint16_t>(d->spis.size()));
    for (const auto& spi : d->spis) {
      if (spi.size() != d->spi_size) return absl::InvalidArgumentError("Delete SPI of wrong size");
      w.Bytes(spi);
    }
  } else if (auto* v = std::get_if<VendorIdPayload>(&p.body)) {
    w.Bytes(v->data);
  } else if (auto* ts = std::get_if<TsPayload>(&p.body)) {
    if (ts->selectors.size() > 255) return absl::InvalidArgumentError("too many selectors");
    w.U8(static_cast<uint8_t>(ts->selectors.size()));
    w.U8(0);
    w.U16(0);
    for (const TrafficSelector& s : ts->selectors) {
      if (s.start_address.size() != s.end_address.size()) {
        return absl::InvalidArgumentError("selector addresses of unequal size");
      }
      w.U8(s.ts_type);
      w.U8(s.ip_protocol);
      w.U16(static_cast<uint16_t>(8 + 2 * s.start_address.size()));
      w.U16(s.start_port);
      w.U16(s.end_port);
      w.Bytes(s.start_address);
      w.Bytes(s.end_address);
    }
  } else if (auto* sk = std::get_if<SkPayload>(&p.body)) {
    w.Bytes(sk->data);
  } else if (auto* skf = std::get_if<SkfPayload>(&p.body)) {
    w.U16(skf->fragment_number);
    w.U16(skf->total_fragments);
    w.Bytes(skf->data);
  } else if (auto* cp = std::get_if<CpPayload>(&p.body)) {
    w.U8(cp->cfg_type);
    w.U8(0);
    w.U16(0);
    for (const CpAttribute& a : cp->attributes) {
      if (auto st = Fits16(a.value.size(), "CP attribute"); !st.ok()) return st;
      w.U16(a.type & 0x7fff);
      w.U16(static_cast<uint16_t>(a.value.size()));
      w.Bytes(a.value);
    }
  } else if (auto* e = std::get_if<EapPayload>(&p.body)) {
    w.Bytes(e->data);
  } else if (auto* u = std::get_if<UnknownPayload>(&p.body)) {
    w.Bytes(u->body);
  }
  return absl::OkStatus();
}

absl::Status EncodeChain(const std::vector<Payload>& payloads, ByteWriter& w) {
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    uint8_t next = i + 1 < payloads.size() ? payloads[i + 1].type : 0;
    if (auto* sk = std::get_if<SkPayload>(&p.body)) {
      if (i + 1 != payloads.size()) return absl::InvalidArgumentError("SK must be the last payload");
      next = sk->first_inner;
    } else if (auto* skf = std::get_if<SkfPayload>(&p.body)) {
      if (i + 1 != payloads.size()) return absl::InvalidArgumentError("SKF must be the last payload");
      next = skf->first_inner;
    }
    const size_t start = w.size();
    w.U8(next);
    w.U8(p.critical ? 0x80 : 0);
    w.U16(0);
    if (auto st = EncodeBody(p, w); !st.ok()) return st;
    if (auto st = Fits16(w.size() - start, PayloadTypeName(p.type)); !st.ok()) return st;
    w.PatchU16(start + 2, static_cast<uint16_t>(w.size() - start));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Encode(const Message& m) {
  std::string out;
  ByteWriter w(&out);
  w.U64(m.header.initiator_spi);
  w.U64(m.header.responder_spi);
  w.U8(m.payloads.empty() ? 0 : m.payloads.front().type);
  w.U8(m.header.version);
  w.U8(m.header.exchange_type);
  w.U8(m.header.flags);
  w.U32(m.header.message_id);
  w.U32(0);
  if (auto st = EncodeChain(m.payloads, w); !st.ok()) return st;
  if (out.size() > kMaxMessage) return absl::InvalidArgumentError("IKE message too long");
  w.PatchU32(24, static_cast<uint32_t>(out.size()));
  return out;
}

absl::StatusOr<std::string> EncodePayloads(const std::vector<Payload>& payloads) {
  std::string out;
  ByteWriter w(&out);
  if (auto st = EncodeChain(payloads, w); !st.ok()) return st;
  return out;
}

}  // namespace vpnfleet::ike::v2
