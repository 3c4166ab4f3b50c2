#include "services/controller/ios/ios_writer.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"

namespace vpnfleet::controller::ios {
namespace {

namespace c = vpnfleet::common::v1;
namespace ike = vpnfleet::ike::v1;

std::string AclAddress(const c::IpPrefix& p) {
  auto parsed = net::ParseAddress(p.address());
  const uint32_t full = parsed.ok() ? static_cast<uint32_t>(parsed->bit_length()) : 32;
  if (p.length() == 0) return "any";
  if (p.length() == full) return absl::StrCat("host ", p.address());
  return absl::StrCat(p.address(), " ", Wildcard(p.length()));
}

std::string Ports(const c::PortRange& r) {
  if (r.start() == 0 && (r.end() == 0 || r.end() == 65535)) return "";
  if (r.start() == r.end()) return absl::StrCat(" eq ", r.start());
  return absl::StrCat(" range ", r.start(), " ", r.end());
}

std::string AclEntry(const ike::AccessListEntry& e) {
  const auto& m = e.match();
  const bool ports = m.protocol() == 6 || m.protocol() == 17;
  return absl::StrCat(e.action() == ike::ACL_ACTION_DENY ? "deny " : "permit ",
                      AclProtocolWord(m.protocol()), " ", AclAddress(m.source()),
                      ports ? Ports(m.source_ports()) : "", " ", AclAddress(m.destination()),
                      ports ? Ports(m.destination_ports()) : "");
}

bool IsNumberedExtended(const std::string& name) {
  int n = 0;
  for (char ch : name) {
    if (ch < '0' || ch > '9' || n > 10000) return false;
    n = n * 10 + (ch - '0');
  }
  return !name.empty() && ((n >= 100 && n <= 199) || (n >= 2000 && n <= 2699));
}

std::string Key(const std::string& key, bool key_set, const WriteOptions& o) {
  if (!o.reveal_keys && (!key.empty() || key_set)) return kHiddenKey;
  return key;
}

// A pre-shared key as its command's word: with IOS's type 0 in front when
// the key alone would read as a key type or a keyring's local/remote.
std::string PskWord(const ike::PreSharedKey& k, const WriteOptions& o) {
  std::string key = Key(k.key(), k.key_set(), o);
  if (key == "0" || key == "6" || key == "7" || key == "local" || key == "remote") key = "0 " + key;
  return key;
}

std::string HexKey(const std::string& key, bool key_set, const WriteOptions& o) {
  if (!o.reveal_keys && (!key.empty() || key_set)) return kHiddenKey;
  return absl::BytesToHexString(key);
}

// The one IKEv2 profile (and keyring, policy) the writer names: our policy
// keeps IKEv2's method, keys and lifetime for every peer alike.
constexpr char kIkev2Name[] = "vpnfleet";

bool IsIkev2(const ike::IsakmpPolicy& p) { return p.version() != ike::IKE_VERSION_1; }

// `set ikev2-profile`: an entry of version 2, or of no version when an IKEv2
// policy exists (the daemon's default then).
bool UsesIkev2(const ike::CryptoMapEntry& e, bool any_ikev2) {
  if (e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_MANUAL || e.kind() == ike::CRYPTO_MAP_KIND_DYNAMIC) return false;
  return e.ike_version() == ike::IKE_VERSION_2 ||
         (e.ike_version() == ike::IKE_VERSION_UNSPECIFIED && any_ikev2);
}

std::string PeerAddress(const c::IpPrefix& p) {
  auto a = net::ParseAddress(p.address());
  if (a.ok() && a->family == net::Family::kV4) {
    return p.length() == 32 ? p.address() : absl::StrCat(p.address(), " ", Netmask(p.length()));
  }
  return absl::StrCat(p.address(), "/", p.length());
}

// The integrity algorithm a policy without one uses: that of its PRF's hash.
c::IntegrityAlgorithm IntegrityOf(const ike::IsakmpPolicy& p) {
  const bool aead = p.encryption() == c::ENCRYPTION_AES_GCM_128 ||
                    p.encryption() == c::ENCRYPTION_AES_GCM_256 ||
                    p.encryption() == c::ENCRYPTION_CHACHA20_POLY1305;
  if (p.integrity() != c::INTEGRITY_UNSPECIFIED || aead) return p.integrity();
  for (auto i : {c::INTEGRITY_HMAC_SHA1_96, c::INTEGRITY_HMAC_SHA2_256_128, c::INTEGRITY_HMAC_SHA2_384_192,
                 c::INTEGRITY_HMAC_SHA2_512_256, c::INTEGRITY_HMAC_MD5_96}) {
    if (PrfOfIntegrity(i) == p.hash()) return i;
  }
  return c::INTEGRITY_UNSPECIFIED;
}

// IOS initiates Aggressive Mode for the entries whose ISAKMP profile says
// so; the profile matches any peer and leaves the keys global.
constexpr char kAggressiveProfile[] = "vpnfleet-aggressive";

void WriteAggressiveProfile(std::string& out, const ike::IkeConfig& config) {
  for (const auto& m : config.crypto_maps()) {
    for (const auto& e : m.entries()) {
      if (!e.initiate_aggressive()) continue;
      absl::StrAppend(&out, "crypto isakmp profile ", kAggressiveProfile,
                      "\n match identity address 0.0.0.0\n initiate mode aggressive\n!\n");
      return;
    }
  }
}

// crypto ikev2 proposal/policy/keyring/profile for the version-2 policies,
// lowest priority first (the reader numbers them in that order).
void WriteIkev2(std::string& out, const ike::IkeConfig& config, const WriteOptions& o) {
  std::vector<const ike::IsakmpPolicy*> v2;
  for (const auto& p : config.isakmp_policies()) {
    if (IsIkev2(p)) v2.push_back(&p);
  }
  if (v2.empty()) return;
  std::sort(v2.begin(), v2.end(), [](auto* a, auto* b) { return a->priority() < b->priority(); });
  for (const ike::IsakmpPolicy* p : v2) {
    absl::StrAppend(&out, "crypto ikev2 proposal ", kIkev2Name, "-", p->priority(), "\n");
    if (p->encryption() != c::ENCRYPTION_UNSPECIFIED) {
      absl::StrAppend(&out, " encryption ", Ikev2EncryptionWord(p->encryption()), "\n");
    }
    const c::IntegrityAlgorithm integrity = IntegrityOf(*p);
    if (integrity != c::INTEGRITY_UNSPECIFIED) {
      absl::StrAppend(&out, " integrity ", Ikev2IntegrityWord(integrity), "\n");
    }
    if (p->hash() != c::PRF_UNSPECIFIED) absl::StrAppend(&out, " prf ", Ikev2PrfWord(p->hash()), "\n");
    if (p->group() != c::DH_GROUP_NONE) absl::StrAppend(&out, " group ", static_cast<int>(p->group()), "\n");
    out += "!\n";
  }
  absl::StrAppend(&out, "crypto ikev2 policy ", kIkev2Name, "\n");
  for (const ike::IsakmpPolicy* p : v2) absl::StrAppend(&out, " proposal ", kIkev2Name, "-", p->priority(), "\n");
  out += "!\n";
  if (!config.pre_shared_keys().empty()) {
    absl::StrAppend(&out, "crypto ikev2 keyring ", kIkev2Name, "\n");
    for (const auto& k : config.pre_shared_keys()) {
      if (k.peer_case() == ike::PreSharedKey::kHostname) {
        absl::StrAppend(&out, " peer ", k.hostname(), "\n  identity fqdn ", k.hostname(), "\n");
      } else {
        absl::StrAppend(&out, " peer ", k.address().address(), "\n  address ", PeerAddress(k.address()), "\n");
      }
      absl::StrAppend(&out, "  pre-shared-key ", PskWord(k, o), "\n !\n");
    }
    out += "!\n";
  }
  const auto& g = config.globals();
  absl::StrAppend(&out, "crypto ikev2 profile ", kIkev2Name, "\n match identity remote any\n");
  if (g.identity() == ike::ISAKMP_IDENTITY_DN) out += " identity local dn\n";
  if (g.identity() == ike::ISAKMP_IDENTITY_HOSTNAME && !g.hostname().empty()) {
    absl::StrAppend(&out, " identity local fqdn ", g.hostname(), "\n");
  }
  const std::string method = IsakmpAuthenticationWord(v2[0]->authentication());
  absl::StrAppend(&out, " authentication remote ", method, "\n authentication local ", method, "\n");
  if (!config.pre_shared_keys().empty()) absl::StrAppend(&out, " keyring local ", kIkev2Name, "\n");
  if (v2[0]->authentication() != ike::AUTH_METHOD_PRE_SHARE) {
    for (const auto& tp : config.trustpoints()) absl::StrAppend(&out, " pki trustpoint ", tp.name(), "\n");
  }
  if (v2[0]->lifetime_seconds()) absl::StrAppend(&out, " lifetime ", v2[0]->lifetime_seconds(), "\n");
  if (g.keepalive_seconds() && g.keepalive_retry_seconds() &&
      g.keepalive_mode() != ike::KEEPALIVE_MODE_UNSPECIFIED) {
    absl::StrAppend(&out, " dpd ", g.keepalive_seconds(), " ", g.keepalive_retry_seconds(),
                    g.keepalive_mode() == ike::KEEPALIVE_MODE_PERIODIC ? " periodic" : " on-demand", "\n");
  }
  out += "!\n";
}

void WriteEntry(std::string& out, const std::string& head, const ike::CryptoMapEntry& e,
                const WriteOptions& o, bool ikev2) {
  out += head;
  if (e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_MANUAL) {
    out += " ipsec-manual";
  } else if (e.kind() == ike::CRYPTO_MAP_KIND_DYNAMIC) {
    absl::StrAppend(&out, " ipsec-isakmp dynamic ", e.dynamic_map());
  } else if (e.kind() == ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP) {
    out += " ipsec-isakmp";
  }
  out += "\n";
  if (!e.description().empty()) absl::StrAppend(&out, " description ", e.description(), "\n");
  for (const auto& peer : e.peers()) absl::StrAppend(&out, " set peer ", peer, "\n");
  if (e.lifetime().seconds()) {
    absl::StrAppend(&out, " set security-association lifetime seconds ", e.lifetime().seconds(), "\n");
  }
  if (e.lifetime().kilobytes()) {
    absl::StrAppend(&out, " set security-association lifetime kilobytes ", e.lifetime().kilobytes(), "\n");
  }
  if (e.idle_time_seconds()) {
    absl::StrAppend(&out, " set security-association idle-time ", e.idle_time_seconds(), "\n");
  }
  if (e.per_host()) out += " set security-association level per-host\n";
  if (e.replay().disabled()) {
    out += " set security-association replay disable\n";
  } else if (e.replay().size()) {
    absl::StrAppend(&out, " set security-association replay window-size ", e.replay().size(), "\n");
  }
  if (ikev2) absl::StrAppend(&out, " set ikev2-profile ", kIkev2Name, "\n");
  if (e.initiate_aggressive()) absl::StrAppend(&out, " set isakmp-profile ", kAggressiveProfile, "\n");
  if (e.transform_sets_size()) {
    absl::StrAppend(&out, " set transform-set ", absl::StrJoin(e.transform_sets(), " "), "\n");
  }
  if (e.pfs_group() != c::DH_GROUP_NONE) {
    absl::StrAppend(&out, " set pfs group", static_cast<int>(e.pfs_group()), "\n");
  }
  for (const auto& k : e.session_keys()) {
    absl::StrAppend(&out, " set session-key ",
                    k.direction() == c::DIRECTION_INBOUND ? "inbound" : "outbound");
    if (k.protocol() == c::IPSEC_PROTOCOL_AH) {
      absl::StrAppend(&out, " ah ", k.spi(), " ",
                      HexKey(k.authenticator_key(), k.authenticator_key_set(), o));
    } else {
      absl::StrAppend(&out, " esp ", k.spi());
      if (!k.cipher_key().empty() || k.cipher_key_set()) {
        absl::StrAppend(&out, " cipher ", HexKey(k.cipher_key(), k.cipher_key_set(), o));
      }
      if (!k.authenticator_key().empty() || k.authenticator_key_set()) {
        absl::StrAppend(&out, " authenticator ",
                        HexKey(k.authenticator_key(), k.authenticator_key_set(), o));
      }
    }
    out += "\n";
  }
  if (!e.match_address().empty()) absl::StrAppend(&out, " match address ", e.match_address(), "\n");
  const auto& rr = e.reverse_route();
  if (rr.enabled()) {
    out += " reverse-route";
    if (rr.remote_peer()) {
      out += " remote-peer";
      if (!rr.next_hop().empty()) absl::StrAppend(&out, " ", rr.next_hop());
    }
    if (rr.tag()) absl::StrAppend(&out, " tag ", rr.tag());
    if (rr.static_routes()) out += " static";
    out += "\n";
  }
}

}  // namespace

std::string WriteIosConfig(const ike::IkeConfig& config, WriteOptions o) {
  std::string out;
  const auto& g = config.globals();
  if (!g.hostname().empty()) absl::StrAppend(&out, "hostname ", g.hostname(), "\n!\n");

  for (const auto& tp : config.trustpoints()) {
    absl::StrAppend(&out, "crypto pki trustpoint ", tp.name(), "\n");
    if (!tp.enrollment_url().empty()) absl::StrAppend(&out, " enrollment url ", tp.enrollment_url(), "\n");
    if (tp.enrollment_mode_ra()) out += " enrollment mode ra\n";
    if (!tp.ca_fingerprint_sha256().empty()) {
      absl::StrAppend(&out, " fingerprint ", tp.ca_fingerprint_sha256(), "\n");
    }
    if (!tp.subject_name().empty()) absl::StrAppend(&out, " subject-name ", tp.subject_name(), "\n");
    for (const auto& san : tp.subject_alt_names()) absl::StrAppend(&out, " subject-alt-name ", san, "\n");
    const std::string& label = tp.key_label().empty() ? tp.name() : tp.key_label();
    switch (tp.key_type()) {
      case ike::KEY_TYPE_RSA_2048: absl::StrAppend(&out, " rsakeypair ", label, " 2048\n"); break;
      case ike::KEY_TYPE_RSA_3072: absl::StrAppend(&out, " rsakeypair ", label, " 3072\n"); break;
      case ike::KEY_TYPE_RSA_4096: absl::StrAppend(&out, " rsakeypair ", label, " 4096\n"); break;
      case ike::KEY_TYPE_ECDSA_P256: absl::StrAppend(&out, " eckeypair ", label, " 256\n"); break;
      case ike::KEY_TYPE_ECDSA_P384: absl::StrAppend(&out, " eckeypair ", label, " 384\n"); break;
      default: break;
    }
    if (!tp.revocation_check().empty()) {
      out += " revocation-check";
      for (int m : tp.revocation_check()) {
        if (m == ike::REVOCATION_METHOD_CRL) out += " crl";
        if (m == ike::REVOCATION_METHOD_OCSP) out += " ocsp";
        if (m == ike::REVOCATION_METHOD_NONE) out += " none";
      }
      out += "\n";
    } else if (tp.revocation_check_crl()) {
      out += " revocation-check crl\n";
    }
    if (!tp.ocsp_url().empty()) absl::StrAppend(&out, " ocsp url ", tp.ocsp_url(), "\n");
    if (tp.auto_enroll_percent()) absl::StrAppend(&out, " auto-enroll ", tp.auto_enroll_percent(), "\n");
    out += "!\n";
  }

  // Peers' keys for rsa-encr, the key string as IOS prints it: 8 hex
  // digits a word, 8 words a line.
  if (!config.rsa_public_keys().empty()) {
    out += "crypto key pubkey-chain rsa\n";
    for (const auto& k : config.rsa_public_keys()) {
      if (k.name().empty()) {
        absl::StrAppend(&out, " addressed-key ", k.address(), "\n");
      } else {
        absl::StrAppend(&out, " named-key ", k.name(), "\n");
        if (!k.address().empty()) absl::StrAppend(&out, "  address ", k.address(), "\n");
      }
      if (k.key().empty()) continue;  // no key string (the reader refuses that)
      out += "  key-string\n";
      const std::string hex = absl::AsciiStrToUpper(absl::BytesToHexString(k.key()));
      for (size_t i = 0; i < hex.size(); i += 64) {
        out += "  ";
        for (size_t j = i; j < hex.size() && j < i + 64; j += 8) {
          absl::StrAppend(&out, j == i ? "" : " ", hex.substr(j, 8));
        }
        out += "\n";
      }
      out += "  quit\n";
    }
    out += "!\n";
  }

  bool any_v1 = false, any_v2 = false;
  for (const auto& p : config.isakmp_policies()) (IsIkev2(p) ? any_v2 : any_v1) = true;
  for (const auto& p : config.isakmp_policies()) {
    if (IsIkev2(p)) continue;
    absl::StrAppend(&out, "crypto isakmp policy ", p.priority(), "\n");
    if (p.encryption() != c::ENCRYPTION_UNSPECIFIED) {
      absl::StrAppend(&out, " encryption ", IsakmpEncryptionWords(p.encryption()), "\n");
    }
    if (p.hash() != c::PRF_UNSPECIFIED) absl::StrAppend(&out, " hash ", IsakmpHashWord(p.hash()), "\n");
    if (p.authentication() != ike::AUTH_METHOD_UNSPECIFIED) {
      absl::StrAppend(&out, " authentication ", IsakmpAuthenticationWord(p.authentication()), "\n");
    }
    if (p.group() != c::DH_GROUP_NONE) absl::StrAppend(&out, " group ", static_cast<int>(p.group()), "\n");
    if (p.lifetime_seconds()) absl::StrAppend(&out, " lifetime ", p.lifetime_seconds(), "\n");
  }
  // Keys as `crypto isakmp key` for IKEv1 (or when no IKEv2 policy would
  // carry them), in the IKEv2 keyring otherwise.
  const google::protobuf::RepeatedPtrField<ike::PreSharedKey> no_keys;
  for (const auto& k : any_v1 || !any_v2 ? config.pre_shared_keys() : no_keys) {
    absl::StrAppend(&out, "crypto isakmp key ", PskWord(k, o));
    if (k.peer_case() == ike::PreSharedKey::kHostname) {
      absl::StrAppend(&out, " hostname ", k.hostname());
    } else {
      absl::StrAppend(&out, " address ", k.address().address());
      auto a = net::ParseAddress(k.address().address());
      if (a.ok() && a->family == net::Family::kV4 && k.address().length() != 32) {
        absl::StrAppend(&out, " ", Netmask(k.address().length()));
      }
    }
    if (k.no_xauth()) out += " no-xauth";
    out += "\n";
  }
  // IOS reads `crypto isakmp identity/keepalive` for IKEv1 only: a policy
  // that is all IKEv2 says them in its profile where the profile can.
  const bool v2_only = any_v2 && !any_v1;
  const bool profile_identity = g.identity() == ike::ISAKMP_IDENTITY_DN ||
                                (g.identity() == ike::ISAKMP_IDENTITY_HOSTNAME && !g.hostname().empty());
  switch (v2_only && profile_identity ? ike::ISAKMP_IDENTITY_UNSPECIFIED : g.identity()) {
    case ike::ISAKMP_IDENTITY_ADDRESS: out += "crypto isakmp identity address\n"; break;
    case ike::ISAKMP_IDENTITY_HOSTNAME: out += "crypto isakmp identity hostname\n"; break;
    case ike::ISAKMP_IDENTITY_DN: out += "crypto isakmp identity dn\n"; break;
    default: break;
  }
  const bool profile_dpd = g.keepalive_seconds() && g.keepalive_retry_seconds() &&
                           g.keepalive_mode() != ike::KEEPALIVE_MODE_UNSPECIFIED;
  if (g.keepalive_seconds() && !(v2_only && profile_dpd)) {
    absl::StrAppend(&out, "crypto isakmp keepalive ", g.keepalive_seconds());
    if (g.keepalive_retry_seconds()) absl::StrAppend(&out, " ", g.keepalive_retry_seconds());
    if (g.keepalive_mode() == ike::KEEPALIVE_MODE_PERIODIC) out += " periodic";
    if (g.keepalive_mode() == ike::KEEPALIVE_MODE_ON_DEMAND) out += " on-demand";
    out += "\n";
  }
  if (g.nat_keepalive_seconds()) {
    absl::StrAppend(&out, "crypto isakmp nat keepalive ", g.nat_keepalive_seconds(), "\n");
  }
  if (g.invalid_spi_recovery()) out += "crypto isakmp invalid-spi-recovery\n";
  if (g.aggressive_mode_disabled()) out += "crypto isakmp aggressive-mode disable\n";
  if (g.allow_legacy_algorithms()) out += "crypto isakmp allow-legacy-algorithms\n";
  if (!out.empty() && out.back() != '\n') out += "\n";
  if (config.isakmp_policies_size() || config.pre_shared_keys_size()) out += "!\n";
  WriteIkev2(out, config, o);
  WriteAggressiveProfile(out, config);

  for (const auto& ts : config.transform_sets()) {
    absl::StrAppend(&out, "crypto ipsec transform-set ", ts.name(), " ", TransformSetWords(ts), "\n");
    if (ts.mode() == c::IPSEC_MODE_TUNNEL) out += " mode tunnel\n";
    if (ts.mode() == c::IPSEC_MODE_TRANSPORT) out += " mode transport\n";
  }
  if (config.transform_sets_size()) out += "!\n";

  // Dynamic maps first: the static entries that use them come after.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& m : config.crypto_maps()) {
      if (m.dynamic() != (pass == 0)) continue;
      for (const auto& e : m.entries()) {
        WriteEntry(out, absl::StrCat(m.dynamic() ? "crypto dynamic-map " : "crypto map ", m.name(), " ",
                                     e.sequence()),
                   e, o, UsesIkev2(e, any_v2));
      }
      if (m.entries_size()) out += "!\n";
    }
  }
  for (const auto& m : config.crypto_maps()) {
    for (const auto& iface : m.interfaces()) {
      absl::StrAppend(&out, "interface ", iface, "\n crypto map ", m.name(), "\n!\n");
    }
  }

  for (const auto& acl : config.access_lists()) {
    const bool numbered = IsNumberedExtended(acl.name());
    if (!numbered) absl::StrAppend(&out, "ip access-list extended ", acl.name(), "\n");
    // Sequence numbers are written only where they are not the 10, 20, ...
    // a reader assigns anyway.
    bool default_sequences = true;
    for (int i = 0; i < acl.entries_size(); ++i) {
      if (acl.entries(i).sequence() != static_cast<uint32_t>(10 * (i + 1))) default_sequences = false;
    }
    for (const auto& e : acl.entries()) {
      const std::string prefix = numbered ? absl::StrCat("access-list ", acl.name(), " ") : " ";
      if (!e.remark().empty()) absl::StrAppend(&out, prefix, "remark ", e.remark(), "\n");
      absl::StrAppend(&out, prefix, default_sequences || numbered ? "" : absl::StrCat(e.sequence(), " "),
                      AclEntry(e), "\n");
    }
    out += "!\n";
  }
  return out;
}

}  // namespace vpnfleet::controller::ios
