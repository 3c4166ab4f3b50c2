// Published HMAC vectors through IcvMac, the ICV of ESP and AH. The ICV is
// the leftmost bits of the HMAC (RFC 2404 §2, RFC 4868 §2.3), so each case
// checks the truncated output against the start of the published value.
//
// Sources:
//   RFC 4868 §2.7.2.1-2.7.2.3, the authentication test cases AUTH256-1..3,
//     AUTH384-1..3, AUTH512-1..3: the RFC 4231 cases with keys of the
//     length IPsec uses (32, 48, 64 bytes).
//   RFC 2202 §2 (HMAC-MD5) and §3 (HMAC-SHA-1), test cases 1 and 3.
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "services/dataplane/crypto/icv_mac.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

struct HmacVector {
  const char* source;
  cv1::IntegrityAlgorithm alg;
  std::string key;
  std::string data;
  const char* hmac;  // the full published HMAC, hex
};

std::vector<HmacVector> Vectors() {
  const std::string hi = "Hi There";
  const std::string jefe = "what do ya want for nothing?";
  const std::string dd(50, '\xdd');
  return {
      {"RFC 4868 AUTH256-1", cv1::INTEGRITY_HMAC_SHA2_256_128, std::string(32, '\x0b'), hi,
       "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7"},
      {"RFC 4868 AUTH256-2", cv1::INTEGRITY_HMAC_SHA2_256_128, "JefeJefeJefeJefeJefeJefeJefeJefe",
       jefe, "167f928588c5cc2eef8e3093caa0e87c9ff566a14794aa61648d81621a2a40c6"},
      {"RFC 4868 AUTH256-3", cv1::INTEGRITY_HMAC_SHA2_256_128, std::string(32, '\xaa'), dd,
       "cdcb1220d1ecccea91e53aba3092f962e549fe6ce9ed7fdc43191fbde45c30b0"},
      {"RFC 4868 AUTH384-1", cv1::INTEGRITY_HMAC_SHA2_384_192, std::string(48, '\x0b'), hi,
       "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee9737a959796489bddbc"
       "4c5df61d5b3297b4fb68dab9f1b582c2"},
      {"RFC 4868 AUTH384-2", cv1::INTEGRITY_HMAC_SHA2_384_192,
       "JefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefe", jefe,
       "2c7353974f1842fd66d53c452ca42122b28c0b594cfb184da86a368e9b8e16f5"
       "349524ca4e82400cbde0686d403371c9"},
      {"RFC 4868 AUTH384-3", cv1::INTEGRITY_HMAC_SHA2_384_192, std::string(48, '\xaa'), dd,
       "809f439be00274321d4a538652164b53554a508184a0c3160353e3428597003d"
       "35914a18770f9443987054944b7c4b4a"},
      {"RFC 4868 AUTH512-1", cv1::INTEGRITY_HMAC_SHA2_512_256, std::string(64, '\x0b'), hi,
       "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
       "ac2878ebd5803f6f0b61dbce5e251ff8789a4722c1be65aea45fd464e89f8f5b"},
      {"RFC 4868 AUTH512-2", cv1::INTEGRITY_HMAC_SHA2_512_256,
       "JefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefeJefe", jefe,
       "cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454"
       "6aa334ae9fb9afc2184932d8695e397bfa0ffb93466cfcceaae38c833b7dba38"},
      {"RFC 4868 AUTH512-3", cv1::INTEGRITY_HMAC_SHA2_512_256, std::string(64, '\xaa'), dd,
       "2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8"
       "623c7b55cebefccf02d5581acc1c9d5fb1ff68a1de45509fbe4da9a433922655"},
      {"RFC 2202 HMAC-SHA-1 1", cv1::INTEGRITY_HMAC_SHA1_96, std::string(20, '\x0b'), hi,
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {"RFC 2202 HMAC-SHA-1 3", cv1::INTEGRITY_HMAC_SHA1_96, std::string(20, '\xaa'), dd,
       "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
      {"RFC 2202 HMAC-MD5 1", cv1::INTEGRITY_HMAC_MD5_96, std::string(16, '\x0b'), hi,
       "9294727a3638bb1c13f48ef8158bfc9d"},
      {"RFC 2202 HMAC-MD5 3", cv1::INTEGRITY_HMAC_MD5_96, std::string(16, '\xaa'), dd,
       "56be34521d144c88dbb8c733f0e8b3f6"},
  };
}

TEST(IcvMacVectors, TruncatedPublishedHmacs) {
  for (const HmacVector& v : Vectors()) {
    auto mac = IcvMac::Create(v.alg, v.key, /*allow_legacy=*/true);
    ASSERT_TRUE(mac.ok()) << v.source << ": " << mac.status();
    uint8_t icv[IcvMac::kMaxIcvSize];
    const auto* data = reinterpret_cast<const uint8_t*>(v.data.data());
    ASSERT_TRUE((*mac)->Begin() && (*mac)->Update(data, v.data.size()) && (*mac)->Finish(icv))
        << v.source;
    const std::string full = absl::HexStringToBytes(v.hmac);
    EXPECT_EQ(absl::BytesToHexString(std::string(reinterpret_cast<char*>(icv), (*mac)->icv_size())),
              absl::BytesToHexString(full.substr(0, (*mac)->icv_size())))
        << v.source;
    // Fed in pieces (as AH feeds header, AH and payload): the same ICV, and
    // the context is reusable for the next packet.
    uint8_t again[IcvMac::kMaxIcvSize];
    const size_t half = v.data.size() / 2;
    ASSERT_TRUE((*mac)->Begin() && (*mac)->Update(data, half) &&
                (*mac)->Update(data + half, v.data.size() - half) && (*mac)->Finish(again));
    EXPECT_EQ(std::string(reinterpret_cast<char*>(icv), (*mac)->icv_size()),
              std::string(reinterpret_cast<char*>(again), (*mac)->icv_size()))
        << v.source;
  }
}

TEST(IcvMac, RefusesWrongKeysNonHmacsAndUnallowedMd5) {
  EXPECT_FALSE(IcvMac::Create(cv1::INTEGRITY_HMAC_SHA2_256_128, "short", false).ok());
  EXPECT_FALSE(IcvMac::Create(cv1::INTEGRITY_UNSPECIFIED, "", false).ok());
  EXPECT_FALSE(IcvMac::Create(cv1::INTEGRITY_HMAC_MD5_96, std::string(16, 'k'), false).ok());
  EXPECT_TRUE(IcvMac::Create(cv1::INTEGRITY_HMAC_MD5_96, std::string(16, 'k'), true).ok());
}

}  // namespace
}  // namespace vpnfleet::dataplane
