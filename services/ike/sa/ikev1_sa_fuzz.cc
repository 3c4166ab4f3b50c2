// Fuzz target for the IKEv1 SA's handling of untrusted datagrams: a first
// Main or Aggressive Mode message to a fresh responder (proposal choice,
// key exchange checks, refusals), and any datagram to an established SA
// with its real cookies patched in (phase-1 messages it must ignore, Quick
// Mode and Informational HASH checks, the CBC decryption); with
// certificate authentication, a first message to a responder that signs,
// and a real Aggressive Mode answer whose CERT or SIG is replaced by the
// input (chain parsing and verification, the signature check). The first
// input octet picks the path; the SA must never crash, nothing
// unauthenticated may end an established SA, and a SIG that is not the
// key's never authenticates.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "services/ike/auth/rsa_encryption.h"
#include "services/ike/auth/test_certificates.h"
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

// A P-256 key and a self-signed certificate for it, made once (a fuzz
// target reads no files), valid 2020-2120 (the fake clock's time is in
// 2023) with the address as its name.
void UseFreshCertificate(SaPolicy& p, const char* address) {
  ossl::EvpKey key = auth::testcerts::NewEcKey();
  ossl::X509Ptr x = auth::testcerts::MakeCertificate({address, 1, 1577836800, 4733510400},
                                                     key.get(), nullptr, key.get());
  const std::string cert_pem = auth::testcerts::CertificatePem(x.get());
  p.ikev1_credential = *auth::LocalCredential::FromPem(
      "FUZZ", auth::testcerts::PrivateKeyPem(key.get()), cert_pem);
  p.trust = *auth::TrustStore::Make({{"FUZZ", cert_pem, "", false}});
  p.local_id = p.ikev1_credential->DnIdentity();
  p.ikev1_policies[0].auth = ikev1::kAuthEcdsa256;
  p.psks.clear();
}

// rsa-encr twins: each holds a fresh RSA key and the other's public key
// (by address).
void UseFreshRsaKeys(SaPolicy& a, const char* a_address, SaPolicy& b, const char* b_address) {
  auto make = [](SaPolicy& p) {
    ossl::EvpKey key(EVP_RSA_gen(2048));
    p.ikev1_rsa_key =
        *auth::RsaKeyPair::FromPem("FUZZ", auth::testcerts::PrivateKeyPem(key.get()));
    p.ikev1_policies[0].auth = ikev1::kAuthRsaEncr;
    p.psks.clear();
  };
  make(a);
  make(b);
  a.peer_rsa_keys = {PeerRsaKey{*net::ParseAddress(b_address), "",
                                *auth::RsaPublicKey::FromDer(b.ikev1_rsa_key->public_der())}};
  b.peer_rsa_keys = {PeerRsaKey{*net::ParseAddress(a_address), "",
                                *auth::RsaPublicKey::FromDer(a.ikev1_rsa_key->public_der())}};
}

// The first Send among `acts`, or "".
std::string SentIn(Actions acts) {
  for (Action& x : acts) {
    if (auto* send = std::get_if<action::Send>(&x)) return send->datagram;
  }
  return "";
}

// An rsa-encr Main Mode whose third message has its encrypted nonce
// replaced by `bytes`; the responder must then never come up.
void MainWithReplacedNonce(FakeClock& clock, Rng& rng, std::shared_ptr<SaPolicy> pa,
                           std::shared_ptr<SaPolicy> pb, const std::string& bytes) {
  const Endpoint ea = Ep("198.51.100.1"), eb = Ep("198.51.100.2");
  auto a = Ikev1Sa::NewInitiator({&clock, &rng}, pa, ea, eb, 0, std::nullopt);
  auto b = Ikev1Sa::NewResponder({&clock, &rng}, pb, eb, ea);
  const std::string m2 = SentIn(b->Receive(eb, ea, SentIn(a->Start())));
  const std::string m3 = SentIn(a->Receive(ea, eb, m2));
  auto decoded = isakmp::Decode(m3);
  if (!decoded.ok()) std::abort();
  for (isakmp::Payload& p : decoded->payloads) {
    if (p.type == static_cast<uint8_t>(isakmp::PayloadType::kNonce)) {
      std::get<isakmp::DataPayload>(p.body).data = bytes;
    }
  }
  auto tampered = isakmp::Encode(*decoded);
  if (!tampered.ok()) return;
  const std::string m4 = SentIn(b->Receive(eb, ea, *tampered));
  if (m4.empty()) return;
  const std::string m5 = SentIn(a->Receive(ea, eb, m4));
  if (!m5.empty()) (void)b->Receive(eb, ea, m5);
  if (b->state() == IkeState::kEstablished && *tampered != m3) std::abort();
}

// A signing initiator's Aggressive Mode against a signing responder; the
// responder's answer has its CERT (`replace_cert`) or its SIG replaced by
// `bytes` before the initiator reads it.
void AggressiveWithReplaced(FakeClock& clock, Rng& rng, std::shared_ptr<SaPolicy> pa,
                            std::shared_ptr<SaPolicy> pb, bool replace_cert,
                            const std::string& bytes) {
  auto a = Ikev1Sa::NewInitiator({&clock, &rng}, pa, Ep("198.51.100.1"), Ep("198.51.100.2"), 0,
                                 std::nullopt, /*aggressive=*/true);
  const action::Send* m1 = nullptr;
  Actions started = a->Start();
  for (Action& x : started) {
    if (auto* send = std::get_if<action::Send>(&x)) m1 = send;
  }
  if (m1 == nullptr) std::abort();
  auto b = Ikev1Sa::NewResponder({&clock, &rng}, pb, m1->remote, m1->local);
  std::string m2;
  for (Action& x : b->Receive(m1->remote, m1->local, m1->datagram)) {
    if (auto* send = std::get_if<action::Send>(&x)) m2 = send->datagram;
  }
  auto decoded = isakmp::Decode(m2);
  if (!decoded.ok()) std::abort();
  for (isakmp::Payload& p : decoded->payloads) {
    if (replace_cert && p.type == static_cast<uint8_t>(isakmp::PayloadType::kCert)) {
      std::get<isakmp::CertPayload>(p.body).data = bytes;
    } else if (!replace_cert && p.type == static_cast<uint8_t>(isakmp::PayloadType::kSig)) {
      std::get<isakmp::DataPayload>(p.body).data = bytes;
    }
  }
  auto tampered = isakmp::Encode(*decoded);
  if (!tampered.ok()) return;
  (void)a->Receive(Ep("198.51.100.1"), Ep("198.51.100.2"), *tampered);
  // Whatever the certificate or signature octets, they are not the
  // responder's signature over this exchange made with its key.
  if (a->state() == IkeState::kEstablished && *tampered != m2) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FakeClock clock;
  static SeededRng rng(1);
  static auto pa = Policy("198.51.100.1", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.2/32");
  static auto pb = Policy("198.51.100.2", "10.2.0.0/24", "10.1.0.0/24", "198.51.100.1/32");
  // Signing twins of pa and pb, each trusting the other's certificate.
  static auto sa = Policy("198.51.100.1", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.2/32");
  static auto sb = [] {
    auto p = Policy("198.51.100.2", "10.2.0.0/24", "10.1.0.0/24", "198.51.100.1/32");
    UseFreshCertificate(*sa, "198.51.100.1");
    UseFreshCertificate(*p, "198.51.100.2");
    std::swap(sa->trust, p->trust);
    return p;
  }();
  // rsa-encr twins.
  static auto ea = Policy("198.51.100.1", "10.1.0.0/24", "10.2.0.0/24", "198.51.100.2/32");
  static auto eb = [] {
    auto p = Policy("198.51.100.2", "10.2.0.0/24", "10.1.0.0/24", "198.51.100.1/32");
    UseFreshRsaKeys(*ea, "198.51.100.1", *p, "198.51.100.2");
    return p;
  }();
  if (size == 0) return 0;
  std::string datagram(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] == 0x80) {
    auto b = Ikev1Sa::NewResponder({&clock, &rng}, eb, Ep("198.51.100.2"), Ep("198.51.100.1"));
    (void)b->Receive(Ep("198.51.100.2"), Ep("198.51.100.1"), datagram);
    return 0;
  }
  if (data[0] == 0x88) {
    MainWithReplacedNonce(clock, rng, ea, eb, datagram);
    return 0;
  }
  switch (data[0] & 7) {
    case 2: {
      auto b = Ikev1Sa::NewResponder({&clock, &rng}, sb, Ep("198.51.100.2"), Ep("198.51.100.1"));
      (void)b->Receive(Ep("198.51.100.2"), Ep("198.51.100.1"), datagram);
      (void)b->Tick();
      return 0;
    }
    case 4:
    case 6:
      AggressiveWithReplaced(clock, rng, sa, sb, (data[0] & 7) == 4, datagram);
      return 0;
    default:
      break;
  }
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
