#include "services/ike/sa/ikev1_proposals.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/ike/keymat/dh.h"
#include "services/ike/sa/ikev1_payloads.h"

namespace vpnfleet::ike::ikev1 {
namespace {

namespace cv1 = vpnfleet::common::v1;
using isakmp::Attribute;
using isakmp::Proposal;
using isakmp::SaPayload;
using isakmp::Transform;
using ikev1::Be32;
using ikev1::Load32;

std::optional<uint64_t> Value(const Transform& t, uint16_t type) {
  const Attribute* a = t.Find(type);
  if (a == nullptr) return std::nullopt;
  return a->Number();
}

// Lifetimes come as (type, duration) pairs, in any order (RFC 2407 §4.5:
// a duration follows its type).
void ReadLifetimes(const Transform& t, uint16_t type_attr, uint16_t duration_attr,
                   uint64_t* seconds, uint64_t* kilobytes) {
  uint16_t type = 0;
  for (const Attribute& a : t.attributes) {
    if (a.type == type_attr) {
      type = a.tv ? a.value : 0;
    } else if (a.type == duration_attr && type != 0) {
      const auto v = a.Number();
      if (!v) continue;
      if (type == kLifeSeconds && seconds != nullptr) *seconds = *v;
      if (type == kLifeKilobytes && kilobytes != nullptr) *kilobytes = *v;
    }
  }
}

// IKEv1 hash → IKEv2 PRF and integrity IDs.
uint16_t PrfOfHash(uint16_t hash) {
  switch (hash) {
    case 1: return 1;
    case 2: return 2;
    case 4: return 5;
    case 5: return 6;
    case 6: return 7;
  }
  return 0;
}
uint16_t IntegOfHash(uint16_t hash) {
  switch (hash) {
    case 1: return 1;
    case 2: return 2;
    case 4: return 12;
    case 5: return 13;
    case 6: return 14;
  }
  return 0;
}

// ESP: IKEv2 integrity ID ↔ IPsec DOI authentication algorithm.
uint16_t AuthAlgOfInteg(uint16_t integ) {
  switch (integ) {
    case 1: return 1;   // HMAC-MD5
    case 2: return 2;   // HMAC-SHA
    case 12: return 5;  // HMAC-SHA2-256
    case 13: return 6;
    case 14: return 7;
  }
  return 0;
}
uint16_t IntegOfAuthAlg(uint16_t alg) {
  switch (alg) {
    case 1: return 1;
    case 2: return 2;
    case 5: return 12;
    case 6: return 13;
    case 7: return 14;
  }
  return 0;
}

bool Legacy(const Phase1Suite& s) {
  return s.encr != 7 || s.hash == 1 || s.group == 1 || s.group == 2 || s.group == 5 ||
         s.group == 24;
}

absl::StatusOr<Phase1Suite> SuiteOf(const Transform& t) {
  if (t.id != kKeyIke) return absl::InvalidArgumentError("phase-1 transform is not KEY_IKE");
  Phase1Suite s;
  s.encr = static_cast<uint16_t>(Value(t, kAttrEncryption).value_or(0));
  s.key_bits = static_cast<uint16_t>(Value(t, kAttrKeyLength).value_or(0));
  s.hash = static_cast<uint16_t>(Value(t, kAttrHash).value_or(0));
  s.auth = static_cast<uint16_t>(Value(t, kAttrAuthMethod).value_or(0));
  s.group = static_cast<uint16_t>(Value(t, kAttrGroup).value_or(0));
  if (s.encr == 7 && s.key_bits == 0) s.key_bits = 128;  // RFC 3602 §5
  ReadLifetimes(t, kAttrLifeType, kAttrLifeDuration, &s.lifetime_seconds, nullptr);
  if (s.encr == 0 || s.hash == 0 || s.auth == 0 || s.group == 0) {
    return absl::InvalidArgumentError("phase-1 transform lacks encryption, hash, method or group");
  }
  return s;
}

// The ECDSA methods name the peer's curve; each side signs with its own
// key, so any ECDSA method matches an ecdsa-sig policy.
bool SameMethod(uint16_t a, uint16_t b) {
  return a == b || (IsEcdsaMethod(a) && IsEcdsaMethod(b));
}

bool Matches(const Phase1Suite& s, const Phase1Policy& p) {
  return s.encr == p.encr && s.key_bits == (p.encr == 7 ? p.key_bits : 0) && s.hash == p.hash &&
         SameMethod(s.auth, p.auth) && s.group == p.group;
}

Transform TransformOf(const Phase1Policy& p, uint8_t number) {
  Transform t;
  t.number = number;
  t.id = kKeyIke;
  t.attributes.push_back(Attribute::Basic(kAttrEncryption, p.encr));
  if (p.encr == 7) t.attributes.push_back(Attribute::Basic(kAttrKeyLength, p.key_bits));
  t.attributes.push_back(Attribute::Basic(kAttrHash, p.hash));
  t.attributes.push_back(Attribute::Basic(kAttrAuthMethod, p.auth));
  t.attributes.push_back(Attribute::Basic(kAttrGroup, p.group));
  t.attributes.push_back(Attribute::Basic(kAttrLifeType, kLifeSeconds));
  t.attributes.push_back(Attribute::Variable(kAttrLifeDuration, p.lifetime_seconds));
  return t;
}

// The ESP transform of one of our proposals (IKEv2 form).
struct EspWant {
  uint16_t encr = 0, key_bits = 0, integ = 0, dh = 0;
};
EspWant WantOf(const v2::Proposal& p) {
  EspWant w;
  for (const v2::Transform& t : p.transforms) {
    if (t.type == kTransformEncr) {
      w.encr = t.id;
      for (const v2::Attribute& a : t.attributes) {
        if (a.type == v2::kAttributeKeyLength) w.key_bits = a.value;
      }
    } else if (t.type == kTransformInteg) {
      w.integ = t.id;
    } else if (t.type == kTransformDh) {
      w.dh = t.id;
    }
  }
  return w;
}

uint16_t ModeOf(bool transport, bool udp) {
  if (udp) return transport ? kEncapUdpTransport : kEncapUdpTunnel;
  return transport ? kEncapTransport : kEncapTunnel;
}

struct EspOffer {
  EspWant want;
  uint16_t mode = kEncapTunnel;
  QuickLifetimes lifetimes;
};
EspOffer ReadEsp(const Transform& t) {
  EspOffer o;
  o.want.encr = t.id;
  o.want.key_bits = static_cast<uint16_t>(Value(t, kAttrSaKeyLength).value_or(0));
  o.want.integ = IntegOfAuthAlg(static_cast<uint16_t>(Value(t, kAttrAuthAlgorithm).value_or(0)));
  o.want.dh = static_cast<uint16_t>(Value(t, kAttrGroupDescription).value_or(0));
  o.mode = static_cast<uint16_t>(Value(t, kAttrEncapsulation).value_or(kEncapTunnel));
  // Without lifetime attributes the DOI's defaults hold: 28,800 s and no
  // volume limit (RFC 2407 §4.5).
  o.lifetimes.seconds = 28800;
  o.lifetimes.kilobytes = 0;
  ReadLifetimes(t, kAttrSaLifeType, kAttrSaLifeDuration, &o.lifetimes.seconds,
                &o.lifetimes.kilobytes);
  return o;
}

bool IsTransport(uint16_t mode) {
  return mode == kEncapTransport || mode == kEncapUdpTransport ||
         mode == kEncapUdpTransportDraft;
}

bool SameCipher(const EspWant& a, const EspWant& b) {
  const uint16_t bits_a = a.encr == 12 && a.key_bits == 0 ? 128 : a.key_bits;
  const uint16_t bits_b = b.encr == 12 && b.key_bits == 0 ? 128 : b.key_bits;
  return a.encr == b.encr && bits_a == bits_b && a.integ == b.integ;
}
bool SameEsp(const EspWant& a, const EspWant& b) { return SameCipher(a, b) && a.dh == b.dh; }

ChildSuite ChildSuiteOfWant(const EspWant& w) {
  ChildSuite s;
  s.protocol = kProtocolEsp;
  s.encr = w.encr;
  s.key_bits = w.encr == 12 && w.key_bits == 0 ? 128 : w.key_bits;
  s.integ = w.integ;
  s.dh = w.dh;
  return s;
}

uint64_t Shorter(uint64_t a, uint64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

}  // namespace

const char* AuthMethodName(uint16_t method) {
  switch (method) {
    case kAuthPsk: return "pre-share";
    case kAuthRsaSig: return "rsa-sig";
    case kAuthRsaEncr: return "rsa-encr";
    case kAuthEcdsa256:
    case kAuthEcdsa384:
    case kAuthEcdsa521: return "ecdsa-sig";
  }
  return "unknown";
}

uint16_t SignatureMethodFor(int ec_bits) {
  if (ec_bits == 0) return kAuthRsaSig;
  return ec_bits <= 256 ? kAuthEcdsa256 : ec_bits <= 384 ? kAuthEcdsa384 : kAuthEcdsa521;
}

absl::StatusOr<Phase1Policy> Phase1PolicyOf(const vpnfleet::ike::v1::IsakmpPolicy& policy) {
  Phase1Policy p;
  p.priority = policy.priority();
  switch (policy.encryption()) {
    case cv1::ENCRYPTION_UNSPECIFIED:
    case cv1::ENCRYPTION_AES_CBC_256: p.encr = 7; p.key_bits = 256; break;
    case cv1::ENCRYPTION_AES_CBC_192: p.encr = 7; p.key_bits = 192; break;
    case cv1::ENCRYPTION_AES_CBC_128: p.encr = 7; p.key_bits = 128; break;
    case cv1::ENCRYPTION_3DES: p.encr = 5; p.key_bits = 0; break;
    case cv1::ENCRYPTION_DES: p.encr = 1; p.key_bits = 0; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "crypto isakmp policy ", policy.priority(), ": IKEv1 has no ",
          cv1::EncryptionAlgorithm_Name(policy.encryption()), " for phase 1"));
  }
  switch (policy.hash()) {
    case cv1::PRF_UNSPECIFIED:
    case cv1::PRF_HMAC_SHA2_256: p.hash = 4; break;
    case cv1::PRF_HMAC_SHA1: p.hash = 2; break;
    case cv1::PRF_HMAC_SHA2_384: p.hash = 5; break;
    case cv1::PRF_HMAC_SHA2_512: p.hash = 6; break;
    case cv1::PRF_HMAC_MD5: p.hash = 1; break;
    default: return absl::InvalidArgumentError("unknown hash");
  }
  switch (policy.authentication()) {
    case vpnfleet::ike::v1::AUTH_METHOD_PRE_SHARE: p.auth = kAuthPsk; break;
    case vpnfleet::ike::v1::AUTH_METHOD_RSA_ENCR: p.auth = kAuthRsaEncr; break;
    case vpnfleet::ike::v1::AUTH_METHOD_ECDSA_SIG: p.auth = kAuthEcdsa256; break;
    default: p.auth = kAuthRsaSig; break;
  }
  p.group = policy.group() == cv1::DH_GROUP_NONE ? 14 : static_cast<uint16_t>(policy.group());
  p.lifetime_seconds = policy.lifetime_seconds() == 0 ? 86400 : policy.lifetime_seconds();
  return p;
}

IkeSuite ToIkeSuite(const Phase1Suite& s) {
  IkeSuite out;
  out.encr = s.encr == 7 ? 12 : s.encr == 5 ? 3 : 2;
  out.key_bits = s.encr == 7 ? s.key_bits : 0;
  out.prf = PrfOfHash(s.hash);
  out.integ = IntegOfHash(s.hash);
  out.dh = s.group;
  return out;
}

SaPayload Phase1Offer(const std::vector<Phase1Policy>& policies) {
  SaPayload sa;
  Proposal p;
  p.number = 1;
  p.protocol = isakmp::kProtoIsakmp;
  for (const Phase1Policy& policy : policies) {
    if (p.transforms.size() == 255) break;
    p.transforms.push_back(TransformOf(policy, static_cast<uint8_t>(p.transforms.size() + 1)));
  }
  sa.proposals.push_back(std::move(p));
  return sa;
}

std::optional<Phase1Choice> ChoosePhase1(const SaPayload& offered,
                                         const std::vector<Phase1Policy>& ours,
                                         bool allow_legacy) {
  for (const Phase1Policy& policy : ours) {
    for (const Proposal& p : offered.proposals) {
      if (p.protocol != isakmp::kProtoIsakmp) continue;
      for (const Transform& t : p.transforms) {
        auto suite = SuiteOf(t);
        if (!suite.ok() || !Matches(*suite, policy)) continue;
        if (Legacy(*suite) && !allow_legacy) continue;
        Phase1Choice c;
        c.suite = *suite;
        c.suite.lifetime_seconds = Shorter(suite->lifetime_seconds, policy.lifetime_seconds);
        Proposal chosen;
        chosen.number = p.number;
        chosen.protocol = p.protocol;
        chosen.spi = p.spi;
        chosen.transforms.push_back(t);
        c.reply.proposals.push_back(std::move(chosen));
        return c;
      }
    }
  }
  return std::nullopt;
}

absl::StatusOr<Phase1Suite> CheckPhase1Reply(const SaPayload& reply,
                                             const std::vector<Phase1Policy>& ours) {
  if (reply.proposals.size() != 1 || reply.proposals[0].transforms.size() != 1) {
    return absl::InvalidArgumentError("phase-1 answer is not one proposal of one transform");
  }
  auto suite = SuiteOf(reply.proposals[0].transforms[0]);
  if (!suite.ok()) return suite.status();
  for (const Phase1Policy& p : ours) {
    if (Matches(*suite, p)) {
      suite->lifetime_seconds = Shorter(suite->lifetime_seconds, p.lifetime_seconds);
      return *suite;
    }
  }
  return absl::InvalidArgumentError("phase-1 answer is none of the transforms we offered");
}

absl::StatusOr<SaPayload> QuickOffer(const std::vector<v2::Proposal>& proposals, uint32_t spi,
                                     bool transport, bool udp_encap,
                                     const QuickLifetimes& lifetimes) {
  SaPayload sa;
  const std::string spi_octets = Be32(spi);
  for (const v2::Proposal& ours : proposals) {
    const EspWant w = WantOf(ours);
    // ChaCha20-Poly1305 has no IPsec DOI transform ID.
    if (w.encr == 28 || sa.proposals.size() == 255) continue;
    Transform t;
    t.number = 1;
    t.id = static_cast<uint8_t>(w.encr);
    t.attributes.push_back(Attribute::Basic(kAttrSaLifeType, kLifeSeconds));
    t.attributes.push_back(Attribute::Variable(kAttrSaLifeDuration, lifetimes.seconds));
    if (lifetimes.kilobytes != 0) {
      t.attributes.push_back(Attribute::Basic(kAttrSaLifeType, kLifeKilobytes));
      t.attributes.push_back(Attribute::Variable(kAttrSaLifeDuration, lifetimes.kilobytes));
    }
    if (w.dh != 0) t.attributes.push_back(Attribute::Basic(kAttrGroupDescription, w.dh));
    t.attributes.push_back(Attribute::Basic(kAttrEncapsulation, ModeOf(transport, udp_encap)));
    if (w.integ != 0) {
      t.attributes.push_back(Attribute::Basic(kAttrAuthAlgorithm, AuthAlgOfInteg(w.integ)));
    }
    if (w.key_bits != 0) t.attributes.push_back(Attribute::Basic(kAttrSaKeyLength, w.key_bits));
    Proposal p;
    p.number = static_cast<uint8_t>(sa.proposals.size() + 1);
    p.protocol = isakmp::kProtoEsp;
    p.spi = spi_octets;
    p.transforms.push_back(std::move(t));
    sa.proposals.push_back(std::move(p));
  }
  if (sa.proposals.empty()) {
    return absl::InvalidArgumentError("no transform set of this entry can be offered in IKEv1");
  }
  return sa;
}

std::optional<QuickChoice> ChooseQuick(const SaPayload& offered,
                                       const std::vector<v2::Proposal>& ours, uint32_t our_spi,
                                       bool transport, const QuickLifetimes& our_lifetimes) {
  const std::string spi_octets = Be32(our_spi);
  for (size_t i = 0; i < ours.size(); ++i) {
    const EspWant want = WantOf(ours[i]);
    for (size_t pi = 0; pi < offered.proposals.size(); ++pi) {
      const Proposal& p = offered.proposals[pi];
      // A proposal number shared with another is an AND bundle (AH + ESP,
      // IPComp): we negotiate ESP alone.
      bool bundle = false;
      for (size_t pj = 0; pj < offered.proposals.size(); ++pj) {
        bundle = bundle || (pj != pi && offered.proposals[pj].number == p.number);
      }
      if (bundle || p.protocol != isakmp::kProtoEsp || p.spi.size() != 4) continue;
      for (const Transform& t : p.transforms) {
        const EspOffer o = ReadEsp(t);
        // Without `set pfs` we take the initiator's PFS group, as IOS does;
        // with it, the offer must carry that group.
        const bool pfs_ok = o.want.dh == want.dh || (want.dh == 0 && DhExchange::PublicValueSize(o.want.dh) != 0);
        if (!SameCipher(o.want, want) || !pfs_ok || IsTransport(o.mode) != transport) continue;
        QuickChoice c;
        c.ours = i;
        c.suite = ChildSuiteOfWant(o.want);
        c.peer_spi = Load32(p.spi);
        c.transport = transport;
        c.lifetimes.seconds = Shorter(o.lifetimes.seconds, our_lifetimes.seconds);
        c.lifetimes.kilobytes = Shorter(o.lifetimes.kilobytes, our_lifetimes.kilobytes);
        c.lifetime_shortened = c.lifetimes.seconds != o.lifetimes.seconds ||
                               c.lifetimes.kilobytes != o.lifetimes.kilobytes;
        Proposal chosen;
        chosen.number = p.number;
        chosen.protocol = p.protocol;
        chosen.spi = spi_octets;
        chosen.transforms.push_back(t);
        c.reply.proposals.push_back(std::move(chosen));
        return c;
      }
    }
  }
  return std::nullopt;
}

absl::StatusOr<QuickChoice> CheckQuickReply(const SaPayload& reply,
                                            const std::vector<v2::Proposal>& ours,
                                            bool transport) {
  if (reply.proposals.size() != 1 || reply.proposals[0].transforms.size() != 1 ||
      reply.proposals[0].protocol != isakmp::kProtoEsp || reply.proposals[0].spi.size() != 4) {
    return absl::InvalidArgumentError("Quick Mode answer is not one ESP proposal of one transform");
  }
  const Proposal& p = reply.proposals[0];
  const EspOffer o = ReadEsp(p.transforms[0]);
  if (IsTransport(o.mode) != transport) {
    return absl::InvalidArgumentError("Quick Mode answer changed the encapsulation mode");
  }
  for (size_t i = 0; i < ours.size(); ++i) {
    if (!SameEsp(o.want, WantOf(ours[i]))) continue;
    QuickChoice c;
    c.ours = i;
    c.suite = ChildSuiteOfWant(o.want);
    c.peer_spi = Load32(p.spi);
    c.transport = transport;
    c.lifetimes = o.lifetimes;
    return c;
  }
  return absl::InvalidArgumentError("Quick Mode answer is none of the transforms we offered");
}

}  // namespace vpnfleet::ike::ikev1
