// Ikev1Sa, part: NAT traversal and DPD in phase 1 — the vendor IDs we send
// and read (RFC 3947 §4 NAT-T, RFC 3706 §7 DPD) and NAT detection from the
// NAT-D hashes of both ends (RFC 3947 §3.2). ikev1_phase1.cc floats to
// port 4500 when a NAT is found.
#include "absl/strings/escaping.h"
#include "services/ike/sa/ikev1_payloads.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {
namespace {

using isakmp::Payload;
using isakmp::PayloadType;
using ikev1::All;

// RFC 3947 §4 and RFC 3706 §7 vendor IDs.
const std::string& NatTVendorId() {
  static const std::string* id = new std::string(absl::HexStringToBytes("4a131c81070358455c5728f20e95452f"));
  return *id;
}
const std::string& DpdVendorId() {
  static const std::string* id = new std::string(absl::HexStringToBytes("afcad71368a1f1c96b8696fc77570100"));
  return *id;
}

std::string EndpointOctets(const Endpoint& e) {
  std::string s(reinterpret_cast<const char*>(e.address.bytes.data()),
                e.address.family == net::Family::kV4 ? 4 : 16);
  s.push_back(static_cast<char>(e.port >> 8));
  s.push_back(static_cast<char>(e.port & 0xff));
  return s;
}

}  // namespace

void Ikev1Sa::AppendVendorIds(std::vector<Payload>& p) const {
  p.push_back(isakmp::MakeData(PayloadType::kVendorId, NatTVendorId()));
  // DPD is announced whether or not we check the peer: answering
  // R-U-THERE costs nothing, and a peer that checks us must know we answer.
  p.push_back(isakmp::MakeData(PayloadType::kVendorId, DpdVendorId()));
}

void Ikev1Sa::ReadVendorIds(const std::vector<Payload>& p) {
  for (const Payload* v : All(p, PayloadType::kVendorId)) {
    const std::string& id = std::get<isakmp::DataPayload>(v->body).data;
    if (id == NatTVendorId()) peer_nat_t_ = true;
    // RFC 3706 §7: the last octets carry a version; the first 14 identify it.
    if (id.size() >= 14 && id.compare(0, 14, DpdVendorId(), 0, 14) == 0) peer_dpd_ = true;
  }
}

std::vector<Payload> Ikev1Sa::NatDetection() const {
  std::vector<Payload> p;
  if (!peer_nat_t_ || !hash_) return p;
  // RFC 3947 §3.2: HASH(CKY-I | CKY-R | IP | Port), the peer's first.
  p.push_back(isakmp::MakeData(PayloadType::kNatD,
                               hash_->Digest(Cookies() + EndpointOctets(remote_))));
  p.push_back(isakmp::MakeData(PayloadType::kNatD,
                               hash_->Digest(Cookies() + EndpointOctets(local_))));
  return p;
}

void Ikev1Sa::CheckNat(const std::vector<Payload>& p) {
  std::vector<const Payload*> nat_d = All(p, PayloadType::kNatD);
  if (!peer_nat_t_ || !hash_ || nat_d.size() < 2) return;
  const std::string ours = hash_->Digest(Cookies() + EndpointOctets(local_));
  const std::string theirs = hash_->Digest(Cookies() + EndpointOctets(remote_));
  nat_local_ = std::get<isakmp::DataPayload>(nat_d[0]->body).data != ours;
  bool seen = false;
  for (size_t i = 1; i < nat_d.size(); ++i) {
    seen = seen || std::get<isakmp::DataPayload>(nat_d[i]->body).data == theirs;
  }
  nat_remote_ = !seen;
}

}  // namespace vpnfleet::ike
