#include "services/dataplane/packet/offload.h"

#include <cstring>

#include "services/dataplane/packet/byte_order.h"

namespace vpnfleet::dataplane {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint32_t kIpv6HeaderSize = 40;
constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpAck = 0x10, kTcpCwr = 0x80;

uint16_t LoadLe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
void StoreLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

uint32_t Fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum);
}

// The pseudo-header of RFC 793/768 (IPv4) or RFC 8200 §8.1 (IPv6): the
// packet's addresses, the protocol and the transport length.
uint32_t PseudoSum(const uint8_t* ip, bool v6, uint8_t protocol, uint32_t l4_size) {
  uint32_t sum = v6 ? OnesSum(ip + 8, 32) : OnesSum(ip + 12, 8);
  sum += protocol;
  sum += l4_size >> 16;
  sum += l4_size & 0xffff;
  return Fold(sum);
}

// The complete checksum of a transport segment of `l4_size` bytes at `l4`
// whose checksum field is at `l4 + field`.
void WriteTransportChecksum(uint8_t* ip, bool v6, uint8_t protocol, uint8_t* l4,
                            uint32_t l4_size, uint32_t field) {
  StoreBe16(l4 + field, 0);
  uint16_t c = static_cast<uint16_t>(~OnesSum(l4, l4_size, PseudoSum(ip, v6, protocol, l4_size)));
  if (c == 0 && protocol == kUdp) c = 0xffff;  // RFC 768: zero means "none"
  StoreBe16(l4 + field, c);
}

void WriteIpv4Checksum(uint8_t* ip, uint32_t header_size) {
  StoreBe16(ip + 10, 0);
  StoreBe16(ip + 10, static_cast<uint16_t>(~OnesSum(ip, header_size)));
}

}  // namespace

VnetHeader ReadVnetHeader(const uint8_t* in) {
  VnetHeader h;
  h.flags = in[0];
  h.gso_type = in[1];
  h.hdr_len = LoadLe16(in + 2);
  h.gso_size = LoadLe16(in + 4);
  h.csum_start = LoadLe16(in + 6);
  h.csum_offset = LoadLe16(in + 8);
  return h;
}

void WriteVnetHeader(const VnetHeader& h, uint8_t* out) {
  out[0] = h.flags;
  out[1] = h.gso_type;
  StoreLe16(out + 2, h.hdr_len);
  StoreLe16(out + 4, h.gso_size);
  StoreLe16(out + 6, h.csum_start);
  StoreLe16(out + 8, h.csum_offset);
}

const char* OffloadErrorName(OffloadError e) {
  switch (e) {
    case OffloadError::kOk: return "ok";
    case OffloadError::kTruncated: return "truncated";
    case OffloadError::kBadHeader: return "bad_header";
    case OffloadError::kBadChecksumSpan: return "bad_checksum_span";
    case OffloadError::kUnsupportedGso: return "unsupported_gso";
    case OffloadError::kTooManySegments: return "too_many_segments";
    case OffloadError::kSegmentTooLarge: return "segment_too_large";
  }
  return "unknown";
}

uint16_t OnesSum(const uint8_t* data, size_t size, uint32_t initial) {
  // Words of 32 bits in big-endian order into a 64-bit accumulator; the
  // carries are folded back at the end (RFC 1071 §2).
  uint64_t sum = initial;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) sum += uint64_t{LoadBe32(data + i)} + LoadBe32(data + i + 4);
  for (; i + 2 <= size; i += 2) sum += LoadBe16(data + i);
  if (i < size) sum += uint32_t{data[i]} << 8;
  return static_cast<uint16_t>(Fold(sum));
}

OffloadError Segmenter::Init(const VnetHeader& h, const uint8_t* packet, size_t size) {
  *this = Segmenter();
  if (size == 0) return OffloadError::kTruncated;  // nothing to forward
  packet_ = packet;
  size_ = size;
  count_ = 1;
  const uint8_t gso = h.gso_type & static_cast<uint8_t>(~VnetHeader::kGsoEcn);
  if (gso == VnetHeader::kGsoNone) {
    if (h.flags & VnetHeader::kNeedsCsum) {
      if ((h.csum_start & 1) != 0 || uint32_t{h.csum_start} + h.csum_offset + 2 > size) {
        return OffloadError::kBadChecksumSpan;
      }
      complete_csum_ = true;
      csum_start_ = h.csum_start;
      csum_offset_ = h.csum_offset;
    }
    return OffloadError::kOk;
  }
  if (gso != VnetHeader::kGsoTcpV4 && gso != VnetHeader::kGsoTcpV6 &&
      gso != VnetHeader::kGsoUdpL4) {
    return OffloadError::kUnsupportedGso;
  }
  if (size < 1) return OffloadError::kTruncated;
  v6_ = (packet[0] >> 4) == 6;
  uint8_t protocol = 0;
  if (v6_) {
    if (size < kIpv6HeaderSize) return OffloadError::kTruncated;
    ip_header_ = kIpv6HeaderSize;
    protocol = packet[6];  // no extension headers in what we segment
    if (kIpv6HeaderSize + LoadBe16(packet + 4) != size) return OffloadError::kTruncated;
  } else if ((packet[0] >> 4) == 4) {
    if (size < 20) return OffloadError::kTruncated;
    ip_header_ = (packet[0] & 0x0f) * 4u;
    if (ip_header_ < 20 || ip_header_ > size) return OffloadError::kBadHeader;
    protocol = packet[9];
    if (LoadBe16(packet + 2) != size) return OffloadError::kTruncated;
    if ((LoadBe16(packet + 6) & 0x3fff) != 0) return OffloadError::kBadHeader;  // a fragment
  } else {
    return OffloadError::kBadHeader;
  }
  if ((gso == VnetHeader::kGsoTcpV4 && (v6_ || protocol != kTcp)) ||
      (gso == VnetHeader::kGsoTcpV6 && (!v6_ || protocol != kTcp)) ||
      (gso == VnetHeader::kGsoUdpL4 && protocol != kUdp)) {
    return OffloadError::kBadHeader;
  }
  tcp_ = protocol == kTcp;
  uint32_t l4_header = 8;
  if (tcp_) {
    if (size < ip_header_ + 20) return OffloadError::kTruncated;
    l4_header = (packet[ip_header_ + 12] >> 4) * 4u;
    if (l4_header < 20) return OffloadError::kBadHeader;
  }
  headers_ = ip_header_ + l4_header;
  if (headers_ > size) return OffloadError::kTruncated;
  gso_ = true;
  gso_size_ = h.gso_size;
  const size_t payload = size - headers_;
  if (gso_size_ == 0) return OffloadError::kTooManySegments;
  count_ = payload == 0 ? 1 : (payload + gso_size_ - 1) / gso_size_;
  if (count_ > kMaxSegments) return OffloadError::kTooManySegments;
  return OffloadError::kOk;
}

OffloadError Segmenter::Next(uint8_t* out, size_t capacity, size_t* size) {
  if (done()) return OffloadError::kTruncated;
  if (!gso_) {
    if (size_ > capacity) return OffloadError::kSegmentTooLarge;
    std::memcpy(out, packet_, size_);
    if (complete_csum_) {
      // The kernel left the pseudo-header sum in the field: the checksum
      // is the complement of the sum from csum_start to the end.
      uint8_t* field = out + csum_start_ + csum_offset_;
      uint16_t c = static_cast<uint16_t>(~OnesSum(out + csum_start_, size_ - csum_start_));
      const bool udp = size_ >= 10 && (((out[0] >> 4) == 4 && out[9] == kUdp) ||
                                       ((out[0] >> 4) == 6 && size_ >= 40 && out[6] == kUdp));
      if (c == 0 && udp) c = 0xffff;
      StoreBe16(field, c);
    }
    *size = size_;
    ++next_;
    return OffloadError::kOk;
  }
  const size_t offset = headers_ + next_ * size_t{gso_size_};
  const size_t chunk = size_ - offset < gso_size_ ? size_ - offset : gso_size_;
  const size_t total = headers_ + chunk;
  if (total > capacity) return OffloadError::kSegmentTooLarge;
  std::memcpy(out, packet_, headers_);
  std::memcpy(out + headers_, packet_ + offset, chunk);
  const bool first = next_ == 0, last = next_ + 1 == count_;
  if (v6_) {
    StoreBe16(out + 4, static_cast<uint16_t>(total - kIpv6HeaderSize));
  } else {
    StoreBe16(out + 2, static_cast<uint16_t>(total));
    StoreBe16(out + 4, static_cast<uint16_t>(LoadBe16(packet_ + 4) + next_));
    WriteIpv4Checksum(out, ip_header_);
  }
  uint8_t* l4 = out + ip_header_;
  const uint32_t l4_size = static_cast<uint32_t>(total - ip_header_);
  if (tcp_) {
    StoreBe32(l4 + 4, LoadBe32(packet_ + ip_header_ + 4) +
                          static_cast<uint32_t>(next_ * size_t{gso_size_}));
    if (!last) l4[13] &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (!first) l4[13] &= static_cast<uint8_t>(~kTcpCwr);
    WriteTransportChecksum(out, v6_, kTcp, l4, l4_size, 16);
  } else {
    StoreBe16(l4 + 4, static_cast<uint16_t>(l4_size));
    WriteTransportChecksum(out, v6_, kUdp, l4, l4_size, 6);
  }
  *size = total;
  ++next_;
  return OffloadError::kOk;
}

bool TcpCoalescer::Fits(const uint8_t* p, size_t size, uint32_t ip_header, uint32_t tcp_header,
                        uint32_t payload) const {
  const uint8_t* f = first_;
  if (((p[0] >> 4) == 6) != v6_ || ip_header + tcp_header != headers_) return false;
  if (v6_) {
    // Version, traffic class, flow label; next header, hop limit; addresses.
    if (std::memcmp(p, f, 4) != 0 || std::memcmp(p + 6, f + 6, 34) != 0) return false;
  } else {
    // TOS, DF, TTL, protocol and addresses alike; IDs in sequence unless DF.
    if (p[1] != f[1] || p[6] != f[6] || p[8] != f[8] || std::memcmp(p + 12, f + 12, 8) != 0) {
      return false;
    }
    if ((p[6] & 0x40) == 0 && LoadBe16(p + 4) != next_ip_id_) return false;
  }
  const uint8_t* t = p + ip_header;
  const uint8_t* ft = f + ip_header;
  // Ports, ACK number, data offset, flags but PSH, window; then options.
  if (std::memcmp(t, ft, 4) != 0 || std::memcmp(t + 8, ft + 8, 5) != 0 ||
      ((t[13] ^ ft[13]) & ~kTcpPsh) != 0 || std::memcmp(t + 14, ft + 14, 2) != 0) {
    return false;
  }
  if (LoadBe32(t + 4) != next_seq_) return false;
  if (tcp_header > 20 && std::memcmp(t + 20, ft + 20, tcp_header - 20) != 0) return false;
  if (payload > mss_ || total_ + payload > 65535) return false;
  (void)size;
  return true;
}

TcpCoalescer::Result TcpCoalescer::Offer(uint8_t* p, size_t size) {
  // A candidate: IPv4 without fragmentation or IPv6 without extension
  // headers, TCP with ACK (PSH allowed) and a payload, checksum valid.
  if (size < 20) return Result::kNotCandidate;
  const bool v6 = (p[0] >> 4) == 6;
  uint32_t ip_header = 0, ip_total = 0;
  if (v6) {
    if (size < kIpv6HeaderSize || p[6] != kTcp) return Result::kNotCandidate;
    ip_header = kIpv6HeaderSize;
    ip_total = kIpv6HeaderSize + LoadBe16(p + 4);
  } else if ((p[0] >> 4) == 4) {
    ip_header = (p[0] & 0x0f) * 4u;
    ip_total = LoadBe16(p + 2);
    if (ip_header != 20 || p[9] != kTcp || (LoadBe16(p + 6) & 0x3fff) != 0) {
      return Result::kNotCandidate;
    }
  } else {
    return Result::kNotCandidate;
  }
  if (ip_total != size || size < ip_header + 20) return Result::kNotCandidate;
  const uint8_t* t = p + ip_header;
  const uint32_t tcp_header = (t[12] >> 4) * 4u;
  const uint8_t flags = t[13];
  if (tcp_header < 20 || ip_header + tcp_header >= size) return Result::kNotCandidate;
  if ((flags & kTcpAck) == 0 || (flags & ~(kTcpAck | kTcpPsh)) != 0) return Result::kNotCandidate;
  if ((t[12] & 0x0f) != 0) return Result::kNotCandidate;  // reserved bits / AccECN
  const uint32_t l4_size = static_cast<uint32_t>(size - ip_header);
  if (OnesSum(t, l4_size, PseudoSum(p, v6, kTcp, l4_size)) != 0xffff) {
    return Result::kNotCandidate;
  }
  const uint32_t payload = static_cast<uint32_t>(size) - ip_header - tcp_header;
  if (segments_ > 0) {
    if (last_short_ || segments_ == kMaxSegments ||
        !Fits(p, size, ip_header, tcp_header, payload)) {
      return Result::kFlushFirst;
    }
    payloads_[segments_] = p + ip_header + tcp_header;
    payload_sizes_[segments_] = payload;
    ++segments_;
  } else {
    first_ = p;
    first_size_ = size;
    v6_ = v6;
    headers_ = ip_header + tcp_header;
    mss_ = payload;
    segments_ = 1;
  }
  total_ = segments_ == 1 ? static_cast<uint32_t>(size) : total_ + payload;
  next_seq_ = LoadBe32(t + 4) + payload;
  if (!v6) next_ip_id_ = static_cast<uint16_t>(LoadBe16(p + 4) + 1);
  // A short segment or PSH ends what can follow (Linux's GRO flushes there).
  last_short_ = payload < mss_ || (flags & kTcpPsh) != 0;
  return Result::kAppended;
}

size_t TcpCoalescer::Finish(VnetHeader* vnet, const uint8_t** pieces, size_t* piece_sizes) {
  *vnet = VnetHeader();
  if (segments_ == 0) return 0;
  pieces[0] = first_;
  piece_sizes[0] = first_size_;
  const size_t n = segments_;
  if (n > 1) {
    uint8_t* p = first_;
    const uint32_t ip_header = v6_ ? kIpv6HeaderSize : (p[0] & 0x0f) * 4u;
    if (v6_) {
      StoreBe16(p + 4, static_cast<uint16_t>(total_ - kIpv6HeaderSize));
    } else {
      StoreBe16(p + 2, static_cast<uint16_t>(total_));
      WriteIpv4Checksum(p, ip_header);
    }
    // CHECKSUM_PARTIAL: the field holds the pseudo-header sum over the
    // whole length; the kernel (or the NIC it forwards to) completes it.
    uint8_t* t = p + ip_header;
    t[13] = static_cast<uint8_t>(t[13] & ~kTcpPsh);
    if (last_short_) {
      // The last segment's PSH (if any) belongs to the super-packet.
      const uint8_t* last_tcp = payloads_[n - 1] - (headers_ - ip_header);
      t[13] = static_cast<uint8_t>(t[13] | (last_tcp[13] & kTcpPsh));
    }
    StoreBe16(t + 16, static_cast<uint16_t>(PseudoSum(p, v6_, kTcp, total_ - ip_header)));
    vnet->flags = VnetHeader::kNeedsCsum;
    vnet->gso_type = v6_ ? VnetHeader::kGsoTcpV6 : VnetHeader::kGsoTcpV4;
    vnet->hdr_len = static_cast<uint16_t>(headers_);
    vnet->gso_size = static_cast<uint16_t>(mss_);
    vnet->csum_start = static_cast<uint16_t>(ip_header);
    vnet->csum_offset = 16;
    for (size_t i = 1; i < n; ++i) {
      pieces[i] = payloads_[i];
      piece_sizes[i] = payload_sizes_[i];
    }
  }
  segments_ = 0;
  first_ = nullptr;
  last_short_ = false;
  return n;
}

}  // namespace vpnfleet::dataplane
