#include "services/ike/sa/proposals.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/crypto/algorithms.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;

v2::Transform MakeTransform(uint8_t type, uint16_t id, uint16_t key_bits = 0) {
  v2::Transform t;
  t.type = type;
  t.id = id;
  if (key_bits != 0) {
    v2::Attribute a;
    a.type = v2::kAttributeKeyLength;
    a.tv = true;
    a.value = key_bits;
    t.attributes.push_back(a);
  }
  return t;
}

// (transform ID, key bits) of an encryption algorithm; id 0 if none.
std::pair<uint16_t, uint16_t> EncrIdOf(cv1::EncryptionAlgorithm e) {
  switch (e) {
    case cv1::ENCRYPTION_NULL: return {11, 0};
    case cv1::ENCRYPTION_DES: return {2, 0};
    case cv1::ENCRYPTION_3DES: return {3, 0};
    case cv1::ENCRYPTION_AES_CBC_128: return {12, 128};
    case cv1::ENCRYPTION_AES_CBC_192: return {12, 192};
    case cv1::ENCRYPTION_AES_CBC_256: return {12, 256};
    case cv1::ENCRYPTION_AES_GCM_128: return {20, 128};
    case cv1::ENCRYPTION_AES_GCM_256: return {20, 256};
    case cv1::ENCRYPTION_CHACHA20_POLY1305: return {28, 0};
    default: return {0, 0};
  }
}

uint16_t IntegIdOf(cv1::IntegrityAlgorithm i) {
  switch (i) {
    case cv1::INTEGRITY_HMAC_MD5_96: return 1;
    case cv1::INTEGRITY_HMAC_SHA1_96: return 2;
    case cv1::INTEGRITY_HMAC_SHA2_256_128: return 12;
    case cv1::INTEGRITY_HMAC_SHA2_384_192: return 13;
    case cv1::INTEGRITY_HMAC_SHA2_512_256: return 14;
    default: return 0;
  }
}

uint16_t PrfIdOf(cv1::PrfAlgorithm p) {
  switch (p) {
    case cv1::PRF_HMAC_MD5: return 1;
    case cv1::PRF_HMAC_SHA1: return 2;
    case cv1::PRF_HMAC_SHA2_256: return 5;
    case cv1::PRF_HMAC_SHA2_384: return 6;
    case cv1::PRF_HMAC_SHA2_512: return 7;
    default: return 0;
  }
}

// The integrity transform IOS pairs with a `hash` when none is given.
cv1::IntegrityAlgorithm IntegrityForHash(cv1::PrfAlgorithm p) {
  switch (p) {
    case cv1::PRF_HMAC_MD5: return cv1::INTEGRITY_HMAC_MD5_96;
    case cv1::PRF_HMAC_SHA1: return cv1::INTEGRITY_HMAC_SHA1_96;
    case cv1::PRF_HMAC_SHA2_384: return cv1::INTEGRITY_HMAC_SHA2_384_192;
    case cv1::PRF_HMAC_SHA2_512: return cv1::INTEGRITY_HMAC_SHA2_512_256;
    default: return cv1::INTEGRITY_HMAC_SHA2_256_128;
  }
}

uint16_t KeyBits(const v2::Transform& t) {
  for (const v2::Attribute& a : t.attributes) {
    if (a.type == v2::kAttributeKeyLength && a.tv) return a.value;
  }
  return 0;
}

bool SameTransform(const v2::Transform& a, const v2::Transform& b) {
  return a.type == b.type && a.id == b.id && KeyBits(a) == KeyBits(b);
}

// The transforms of one type in a proposal.
std::vector<const v2::Transform*> OfType(const v2::Proposal& p, uint8_t type) {
  std::vector<const v2::Transform*> out;
  for (const v2::Transform& t : p.transforms) {
    if (t.type == type) out.push_back(&t);
  }
  return out;
}

// A proposal without ESN transforms means "no ESN" (§3.3.2 lists ESN as
// optional for ESP); treat it so on both sides.
std::vector<v2::Transform> EsnOrDefault(const v2::Proposal& p) {
  std::vector<v2::Transform> out;
  for (const v2::Transform* t : OfType(p, kTransformEsn)) out.push_back(*t);
  if (out.empty() && p.protocol != kProtocolIke) out.push_back(MakeTransform(kTransformEsn, 0));
  return out;
}

}  // namespace

absl::StatusOr<v2::Proposal> IkeProposalOf(const vpnfleet::ike::v1::IsakmpPolicy& policy) {
  v2::Proposal p;
  p.protocol = kProtocolIke;
  auto [encr, bits] = EncrIdOf(policy.encryption() == cv1::ENCRYPTION_UNSPECIFIED
                                   ? cv1::ENCRYPTION_AES_CBC_256
                                   : policy.encryption());
  if (encr == 0 || encr == 11) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy ", policy.priority(), ": encryption cannot protect an IKE SA"));
  }
  p.transforms.push_back(MakeTransform(kTransformEncr, encr, bits));
  const cv1::PrfAlgorithm prf =
      policy.hash() == cv1::PRF_UNSPECIFIED ? cv1::PRF_HMAC_SHA2_256 : policy.hash();
  p.transforms.push_back(MakeTransform(kTransformPrf, PrfIdOf(prf)));
  if (!crypto::IsAead(policy.encryption())) {
    const cv1::IntegrityAlgorithm integ = policy.integrity() == cv1::INTEGRITY_UNSPECIFIED
                                              ? IntegrityForHash(prf)
                                              : policy.integrity();
    p.transforms.push_back(MakeTransform(kTransformInteg, IntegIdOf(integ)));
  }
  const uint16_t group =
      policy.group() == cv1::DH_GROUP_NONE ? 14 : static_cast<uint16_t>(policy.group());
  p.transforms.push_back(MakeTransform(kTransformDh, group));
  return p;
}

absl::StatusOr<v2::Proposal> EspProposalOf(const vpnfleet::ike::v1::TransformSet& set,
                                           uint16_t pfs_group) {
  if (set.ah() != cv1::INTEGRITY_UNSPECIFIED) {
    return absl::UnimplementedError(
        absl::StrCat("transform set ", set.name(), ": AH is not negotiated over IKEv2 yet"));
  }
  auto [encr, bits] = EncrIdOf(set.esp_encryption());
  if (encr == 0) {
    return absl::InvalidArgumentError(absl::StrCat("transform set ", set.name(), ": no ESP cipher"));
  }
  v2::Proposal p;
  p.protocol = kProtocolEsp;
  p.transforms.push_back(MakeTransform(kTransformEncr, encr, bits));
  if (!crypto::IsAead(set.esp_encryption())) {
    const uint16_t integ = IntegIdOf(set.esp_integrity());
    if (integ == 0 && encr != 11) {
      return absl::InvalidArgumentError(
          absl::StrCat("transform set ", set.name(), ": a non-AEAD cipher needs esp-*-hmac"));
    }
    if (integ != 0) p.transforms.push_back(MakeTransform(kTransformInteg, integ));
  }
  if (pfs_group != 0) p.transforms.push_back(MakeTransform(kTransformDh, pfs_group));
  p.transforms.push_back(MakeTransform(kTransformEsn, 0));
  p.transforms.push_back(MakeTransform(kTransformEsn, 1));
  return p;
}

std::vector<v2::Proposal> Numbered(std::vector<v2::Proposal> proposals, const std::string& spi) {
  uint8_t n = 1;
  for (v2::Proposal& p : proposals) {
    p.number = n++;
    p.spi = spi;
  }
  return proposals;
}

std::optional<v2::Proposal> ChooseProposal(const std::vector<v2::Proposal>& offered,
                                           const std::vector<v2::Proposal>& ours, bool ignore_dh,
                                           uint16_t prefer_group) {
  static constexpr uint8_t kTypes[] = {kTransformEncr, kTransformPrf, kTransformInteg,
                                       kTransformDh, kTransformEsn};
  for (const v2::Proposal& mine : ours) {
    for (const v2::Proposal& theirs : offered) {
      if (theirs.protocol != mine.protocol) continue;
      v2::Proposal chosen;
      chosen.number = theirs.number;
      chosen.protocol = theirs.protocol;
      chosen.spi = theirs.spi;
      bool ok = true;
      for (uint8_t type : kTypes) {
        if (type == kTransformDh && ignore_dh) continue;
        std::vector<v2::Transform> a, b;
        if (type == kTransformEsn) {
          a = EsnOrDefault(mine);
          b = EsnOrDefault(theirs);
        } else {
          for (const v2::Transform* t : OfType(mine, type)) a.push_back(*t);
          for (const v2::Transform* t : OfType(theirs, type)) b.push_back(*t);
        }
        // DH "none" (id 0) on the offer equals no DH transform.
        if (type == kTransformDh) {
          b.erase(std::remove_if(b.begin(), b.end(), [](const v2::Transform& t) { return t.id == 0; }),
                  b.end());
        }
        if (a.empty() && b.empty()) continue;
        const v2::Transform* pick = nullptr;
        for (const v2::Transform& x : a) {
          for (const v2::Transform& y : b) {
            if (!SameTransform(x, y)) continue;
            if (pick == nullptr || (type == kTransformDh && y.id == prefer_group)) pick = &y;
          }
        }
        if (pick == nullptr) {
          ok = false;
          break;
        }
        chosen.transforms.push_back(*pick);
      }
      if (ok) return chosen;
    }
  }
  return std::nullopt;
}

absl::Status CheckChosen(const v2::Proposal& chosen, const std::vector<v2::Proposal>& sent,
                         bool ignore_dh) {
  for (const v2::Proposal& mine : sent) {
    if (mine.number != chosen.number || mine.protocol != chosen.protocol) continue;
    std::vector<uint8_t> seen;
    for (const v2::Transform& t : chosen.transforms) {
      if (std::find(seen.begin(), seen.end(), t.type) != seen.end()) {
        return absl::InvalidArgumentError("chosen proposal has two transforms of one type");
      }
      seen.push_back(t.type);
      if (t.type == kTransformDh && ignore_dh) continue;
      std::vector<v2::Transform> allowed;
      if (t.type == kTransformEsn) {
        allowed = EsnOrDefault(mine);
      } else {
        for (const v2::Transform* m : OfType(mine, t.type)) allowed.push_back(*m);
      }
      if (std::none_of(allowed.begin(), allowed.end(),
                       [&](const v2::Transform& m) { return SameTransform(m, t); })) {
        return absl::InvalidArgumentError(
            absl::StrCat("chosen transform type ", t.type, " id ", t.id, " was not offered"));
      }
    }
    for (uint8_t type : {kTransformEncr, kTransformPrf, kTransformInteg, kTransformDh}) {
      if (type == kTransformDh && ignore_dh) continue;
      if (!OfType(mine, type).empty() &&
          std::find(seen.begin(), seen.end(), type) == seen.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("chosen proposal lacks transform type ", type));
      }
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("chosen proposal ", chosen.number, " was not offered"));
}

absl::StatusOr<IkeSuite> IkeSuiteOf(const v2::Proposal& chosen) {
  IkeSuite s;
  for (const v2::Transform& t : chosen.transforms) {
    switch (t.type) {
      case kTransformEncr: s.encr = t.id; s.key_bits = KeyBits(t); break;
      case kTransformPrf: s.prf = t.id; break;
      case kTransformInteg: s.integ = t.id; break;
      case kTransformDh: s.dh = t.id; break;
      default: break;
    }
  }
  if (s.encr == 0 || s.prf == 0 || s.dh == 0) {
    return absl::InvalidArgumentError("IKE proposal lacks ENCR, PRF or DH");
  }
  return s;
}

absl::StatusOr<ChildSuite> ChildSuiteOf(const v2::Proposal& chosen) {
  ChildSuite s;
  s.protocol = chosen.protocol;
  for (const v2::Transform& t : chosen.transforms) {
    switch (t.type) {
      case kTransformEncr: s.encr = t.id; s.key_bits = KeyBits(t); break;
      case kTransformInteg: s.integ = t.id; break;
      case kTransformDh: s.dh = t.id; break;
      case kTransformEsn: s.esn = t.id == 1; break;
      default: break;
    }
  }
  if (s.protocol != kProtocolEsp || s.encr == 0) {
    return absl::InvalidArgumentError("CHILD proposal is not ESP with a cipher");
  }
  if (EncryptionOf(s.encr, s.key_bits) == cv1::ENCRYPTION_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat("ESP cipher ", s.encr, " not supported"));
  }
  return s;
}

bool OffersGroup(const std::vector<v2::Proposal>& proposals, uint16_t group) {
  for (const v2::Proposal& p : proposals) {
    for (const v2::Transform* t : OfType(p, kTransformDh)) {
      if (t->id == group) return true;
    }
  }
  return false;
}

cv1::EncryptionAlgorithm EncryptionOf(uint16_t encr, uint16_t key_bits) {
  switch (encr) {
    case 2: return cv1::ENCRYPTION_DES;
    case 3: return cv1::ENCRYPTION_3DES;
    case 11: return cv1::ENCRYPTION_NULL;
    case 12:
      return key_bits == 128   ? cv1::ENCRYPTION_AES_CBC_128
             : key_bits == 192 ? cv1::ENCRYPTION_AES_CBC_192
             : key_bits == 256 ? cv1::ENCRYPTION_AES_CBC_256
                               : cv1::ENCRYPTION_UNSPECIFIED;
    case 20:
      return key_bits == 128   ? cv1::ENCRYPTION_AES_GCM_128
             : key_bits == 256 ? cv1::ENCRYPTION_AES_GCM_256
                               : cv1::ENCRYPTION_UNSPECIFIED;
    case 28: return cv1::ENCRYPTION_CHACHA20_POLY1305;
    default: return cv1::ENCRYPTION_UNSPECIFIED;
  }
}

cv1::IntegrityAlgorithm IntegrityOf(uint16_t integ) {
  switch (integ) {
    case 1: return cv1::INTEGRITY_HMAC_MD5_96;
    case 2: return cv1::INTEGRITY_HMAC_SHA1_96;
    case 12: return cv1::INTEGRITY_HMAC_SHA2_256_128;
    case 13: return cv1::INTEGRITY_HMAC_SHA2_384_192;
    case 14: return cv1::INTEGRITY_HMAC_SHA2_512_256;
    default: return cv1::INTEGRITY_UNSPECIFIED;
  }
}

cv1::PrfAlgorithm PrfOf(uint16_t prf) {
  switch (prf) {
    case 1: return cv1::PRF_HMAC_MD5;
    case 2: return cv1::PRF_HMAC_SHA1;
    case 5: return cv1::PRF_HMAC_SHA2_256;
    case 6: return cv1::PRF_HMAC_SHA2_384;
    case 7: return cv1::PRF_HMAC_SHA2_512;
    default: return cv1::PRF_UNSPECIFIED;
  }
}

std::pair<size_t, size_t> EspKeySizes(const ChildSuite& suite) {
  return {crypto::EncryptionKeyLength(EncryptionOf(suite.encr, suite.key_bits)),
          crypto::IntegrityKeyLength(IntegrityOf(suite.integ))};
}

}  // namespace vpnfleet::ike
