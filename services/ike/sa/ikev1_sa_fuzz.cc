// Fuzz target for the IKEv1 SA's handling of untrusted datagrams: a first
// Main or Aggressive Mode message to a fresh responder (proposal choice,
// key exchange checks, refusals), and any datagram to an established SA
// with its real cookies patched in (phase-1 messages it must ignore, Quick
// Mode and Informational HASH checks, the CBC decryption). The first input
// octet picks the path; the SA must never crash, and nothing
// unauthenticated may end an established SA.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "services/ike/sa/ikev1_sa.h"

using namespace vpnfleet;
using namespace vpnfleet::ike;

namespace {

namespace cv1 = vpnfleet::common::v1;

std::shared_ptr<SaPolicy> Policy(const char* local, const char* local_lan, const char* remote_lan,
                                 const char* peer) {
  auto p = std::make_shared<SaPolicy>();
  vpnfleet::ike::v1::IsakmpPolicy ip;
  ip.set_encryption(cv1::ENCRYPTION_AES_CBC_256);
  ip.set_hash(cv1::PRF_HMAC_SHA2_256);
  ip.set_group(cv1::DH_GROUP_CURVE25519);
  ip.set_authentication(vpnfleet::ike::v1::AUTH_METHOD_PRE_SHARE);
  p->ikev1_policies = {*ikev1::Phase1PolicyOf(ip)};
  p->local_id = AddressIdentity(*net::ParseAddress(local));
  PskEntry k;
  k.address = *net::ParseCidr(peer);
  k.key = SecretBytes("fuzz-psk");
  p->psks.push_back(k);
  ChildPolicy c;
  cv1::IpPrefix l, r;
  auto lp = net::ParseCidr(local_lan), rp = net::ParseCidr(remote_lan);
  l.set_address(lp->address.ToString());
  l.set_length(static_cast<uint32_t>(lp->length));
  r.set_address(rp->address.ToString());
  r.set_length(static_cast<uint32_t>(rp->length));
  c.local_ts = {*SelectorOf(l, 0, cv1::PortRange())};
  c.remote_ts = {*SelectorOf(r, 0, cv1::PortRange())};
  vpnfleet::ike::v1::TransformSet t;
  t.set_esp_encryption(cv1::ENCRYPTION_AES_CBC_128);
  t.set_esp_integrity(cv1::INTEGRITY_HMAC_SHA2_256_128);
  c.proposals = {*EspProposalOf(t, 0)};
  c.ike_version = 1;
  p->children.push_back(c);
  return p;
}

Endpoint Ep(const char* a) { return Endpoint{*net::ParseAddress(a), kIkePort}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FakeClock clock;
  static SeededRng rng(1);
  static auto pa = Policy("198.51.100.1", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.2/32");
  static auto pb = Policy("198.51.100.2", "10.2.0.0/24", "10.1.0.0/24", "198.51.100.1/32");
  if (size == 0) return 0;
  std::string datagram(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    auto b = Ikev1Sa::NewResponder({&clock, &rng}, pb, Ep("198.51.100.2"), Ep("198.51.100.1"));
    (void)b->Receive(Ep("198.51.100.2"), Ep("198.51.100.1"), datagram);
    (void)b->Tick();
    return 0;
  }
  // One established pair for the whole run: unauthenticated input cannot
  // change it (that is what is checked), so it can be reused.
  static Ikev1Sa* b = [] {
    static auto a = Ikev1Sa::NewInitiator({&clock, &rng}, pa, Ep("198.51.100.1"),
                                          Ep("198.51.100.2"), 0, std::nullopt);
    static std::unique_ptr<Ikev1Sa> resp;
    std::vector<action::Send> to_b, to_a;
    auto collect = [](Actions acts, std::vector<action::Send>& q) {
      for (Action& x : acts) {
        if (auto* s = std::get_if<action::Send>(&x)) q.push_back(*s);
      }
    };
    collect(a->Start(), to_b);
    for (int round = 0; round < 8 && (!to_b.empty() || !to_a.empty()); ++round) {
      std::vector<action::Send> in_b;
      in_b.swap(to_b);
      for (auto& m : in_b) {
        if (!resp) resp = Ikev1Sa::NewResponder({&clock, &rng}, pb, m.remote, m.local);
        collect(resp->Receive(m.remote, m.local, m.datagram), to_a);
      }
      std::vector<action::Send> in_a;
      in_a.swap(to_a);
      for (auto& m : in_a) collect(a->Receive(m.remote, m.local, m.datagram), to_b);
    }
    if (!resp || resp->state() != IkeState::kEstablished || resp->children().empty()) std::abort();
    return resp.get();
  }();
  if (datagram.size() >= isakmp::kHeaderSize) {
    for (int i = 0; i < 8; ++i) {
      datagram[static_cast<size_t>(i)] = static_cast<char>(b->spi_i() >> (56 - 8 * i));
      datagram[static_cast<size_t>(8 + i)] = static_cast<char>(b->spi_r() >> (56 - 8 * i));
    }
  }
  (void)b->Receive(Ep("198.51.100.2"), Ep("198.51.100.1"), datagram);
  // Only an authenticated Delete may end it; random bytes are not one.
  if (b->state() != IkeState::kEstablished || b->children().empty()) std::abort();
  return 0;
}
