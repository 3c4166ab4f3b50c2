#include "absl/strings/string_view.h"
#include "services/ike/config/config_validator.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/algorithms.h"
#include "common/net/ip.h"
#include "services/ike/auth/rsa_encryption.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace v1 = vpnfleet::ike::v1;

class Checker {
 public:
  explicit Checker(const v1::IkeConfig& config)
      : config_(config), allow_legacy_(config.globals().allow_legacy_algorithms()) {}

  ValidationResult Run() {
    CheckGlobals();
    CheckPolicies();
    CheckTransformSets();
    CheckAccessLists();
    CheckCryptoMaps();
    CheckPreSharedKeys();
    CheckTrustpoints();
    CheckRsaPublicKeys();
    return std::move(result_);
  }

 private:
  void Error(std::string object, std::string field, std::string message) {
    result_.problems.push_back({std::move(object), std::move(field), std::move(message), false});
  }
  void Warn(std::string object, std::string field, std::string message) {
    result_.problems.push_back({std::move(object), std::move(field), std::move(message), true});
  }
  template <typename Alg>
  void Legacy(const std::string& object, const std::string& field, Alg alg,
              absl::string_view what) {
    if (!crypto::IsLegacy(alg)) return;
    if (allow_legacy_) {
      Warn(object, field, absl::StrCat(what, " is a legacy algorithm; plan to replace it"));
    } else {
      Error(object, field,
            absl::StrCat(what, " is a legacy algorithm; set allow_legacy_algorithms "
                               "in the isakmp globals to accept it"));
    }
  }

  void CheckGlobals() {
    const auto& g = config_.globals();
    const std::string obj = "crypto isakmp";
    if (g.keepalive_seconds() != 0 &&
        (g.keepalive_seconds() < 10 || g.keepalive_seconds() > 3600)) {
      Error(obj, "keepalive", "must be 0 (off) or 10..3600 seconds");
    }
    if (g.keepalive_retry_seconds() != 0 &&
        (g.keepalive_retry_seconds() < 2 || g.keepalive_retry_seconds() > 60)) {
      Error(obj, "keepalive retry", "must be 2..60 seconds");
    }
    if (g.nat_keepalive_seconds() != 0 &&
        (g.nat_keepalive_seconds() < 5 || g.nat_keepalive_seconds() > 3600)) {
      Error(obj, "nat keepalive", "must be 0 (off) or 5..3600 seconds");
    }
    if (g.identity() == v1::ISAKMP_IDENTITY_HOSTNAME && !g.hostname().empty() &&
        !IsHostname(g.hostname())) {
      Error(obj, "identity hostname", absl::StrCat("'", g.hostname(), "' is not a hostname"));
    }
  }

  void CheckPolicies() {
    std::set<uint32_t> seen;
    for (const auto& p : config_.isakmp_policies()) {
      const std::string obj = absl::StrCat("crypto isakmp policy ", p.priority());
      if (p.priority() < 1 || p.priority() > 10000) {
        Error(obj, "priority", "must be 1..10000");
      }
      if (!seen.insert(p.priority()).second) Error(obj, "priority", "is used twice");
      if (p.encryption() == cv1::ENCRYPTION_UNSPECIFIED) {
        Error(obj, "encryption", "is required");
      } else if (p.encryption() == cv1::ENCRYPTION_NULL) {
        Error(obj, "encryption", "an IKE SA cannot use NULL encryption");
      } else {
        Legacy(obj, "encryption", p.encryption(), cv1::EncryptionAlgorithm_Name(p.encryption()));
        if (crypto::IsAead(p.encryption()) && p.version() == v1::IKE_VERSION_1) {
          Error(obj, "encryption", "combined-mode ciphers need IKEv2");
        }
        if (crypto::IsAead(p.encryption()) &&
            p.integrity() != cv1::INTEGRITY_UNSPECIFIED) {
          Error(obj, "integrity", "a combined-mode cipher takes no integrity algorithm");
        }
      }
      Legacy(obj, "hash", p.hash(), cv1::PrfAlgorithm_Name(p.hash()));
      Legacy(obj, "integrity", p.integrity(), cv1::IntegrityAlgorithm_Name(p.integrity()));
      if (p.group() == cv1::DH_GROUP_NONE) {
        Error(obj, "group", "is required");
      } else {
        Legacy(obj, "group", p.group(), absl::StrCat("group ", static_cast<int>(p.group())));
      }
      if (p.lifetime_seconds() != 0 &&
          (p.lifetime_seconds() < 60 || p.lifetime_seconds() > 86400)) {
        Error(obj, "lifetime", "must be 60..86400 seconds");
      }
      if (p.authentication() == v1::AUTH_METHOD_RSA_ENCR) {
        if (p.version() == v1::IKE_VERSION_2 || p.version() == v1::IKE_VERSION_UNSPECIFIED) {
          Error(obj, "authentication", "rsa-encr is an IKEv1 method (version 1)");
        } else if (config_.rsa_public_keys().empty()) {
          Warn(obj, "authentication",
               "rsa-encr needs the peers' public keys (crypto key pubkey-chain rsa): none configured");
        }
      }
    }
  }

  void CheckTransformSets() {
    std::set<std::string> seen;
    for (const auto& ts : config_.transform_sets()) {
      const std::string obj = absl::StrCat("crypto ipsec transform-set ", ts.name());
      if (!IsValidObjectName(ts.name())) Error(obj, "name", "must be 1..63 of [A-Za-z0-9_.-]");
      if (!seen.insert(ts.name()).second) Error(obj, "name", "is used twice");
      const bool has_esp = ts.esp_encryption() != cv1::ENCRYPTION_UNSPECIFIED ||
                           ts.esp_integrity() != cv1::INTEGRITY_UNSPECIFIED;
      const bool has_ah = ts.ah() != cv1::INTEGRITY_UNSPECIFIED;
      if (!has_esp && !has_ah) {
        Error(obj, "transforms", "needs an AH transform, an ESP transform or both");
      }
      if (has_esp && ts.esp_encryption() == cv1::ENCRYPTION_UNSPECIFIED) {
        Error(obj, "esp encryption", "an ESP authenticator needs an ESP cipher (esp-null for none)");
      }
      if (ts.esp_encryption() == cv1::ENCRYPTION_NULL &&
          ts.esp_integrity() == cv1::INTEGRITY_UNSPECIFIED && !has_ah) {
        Error(obj, "esp integrity", "esp-null without an authenticator protects nothing");
      }
      if (crypto::IsAead(ts.esp_encryption()) &&
          ts.esp_integrity() != cv1::INTEGRITY_UNSPECIFIED) {
        Error(obj, "esp integrity", "a combined-mode cipher takes no ESP authenticator");
      }
      if (ts.esp_encryption() != cv1::ENCRYPTION_UNSPECIFIED &&
          ts.esp_encryption() != cv1::ENCRYPTION_NULL && !crypto::IsAead(ts.esp_encryption()) &&
          ts.esp_integrity() == cv1::INTEGRITY_UNSPECIFIED && !has_ah) {
        Warn(obj, "esp integrity", "a CBC cipher without an authenticator gives no integrity");
      }
      Legacy(obj, "esp encryption", ts.esp_encryption(),
             crypto::EspEncryptionKeyword(ts.esp_encryption()));
      Legacy(obj, "esp integrity", ts.esp_integrity(),
             crypto::EspIntegrityKeyword(ts.esp_integrity()));
      Legacy(obj, "ah", ts.ah(), crypto::AhKeyword(ts.ah()));
    }
  }

  void CheckSelector(const std::string& obj, const cv1::TrafficSelector& sel) {
    absl::StatusOr<net::IpPrefix> src = net::ParsePrefix(sel.source());
    absl::StatusOr<net::IpPrefix> dst = net::ParsePrefix(sel.destination());
    if (!src.ok()) Error(obj, "source", std::string(src.status().message()));
    if (!dst.ok()) Error(obj, "destination", std::string(dst.status().message()));
    if (src.ok() && dst.ok() && src->address.family != dst->address.family) {
      Error(obj, "destination", "source and destination are of different IP versions");
    }
    if (sel.protocol() > 255) Error(obj, "protocol", "must be 0..255");
    const bool ports_allowed =
        sel.protocol() == 6 || sel.protocol() == 17 || sel.protocol() == 132;
    for (const auto* range : {&sel.source_ports(), &sel.destination_ports()}) {
      const char* field = range == &sel.source_ports() ? "source ports" : "destination ports";
      const bool any = (range->start() == 0 && range->end() == 0) ||
                       (range->start() == 0 && range->end() == 65535);
      if (any) continue;
      if (!ports_allowed) {
        Error(obj, field, "ports can only be matched for tcp, udp or sctp");
      } else if (range->start() > range->end() || range->end() > 65535) {
        Error(obj, field, "must be a range within 0..65535, start <= end");
      }
    }
  }

  void CheckAccessLists() {
    std::set<std::string> seen;
    for (const auto& acl : config_.access_lists()) {
      const std::string obj = absl::StrCat("access-list ", acl.name());
      if (!IsValidObjectName(acl.name())) Error(obj, "name", "must be 1..63 of [A-Za-z0-9_.-]");
      if (!seen.insert(acl.name()).second) Error(obj, "name", "is used twice");
      if (acl.entries().empty()) Error(obj, "entries", "an access list needs at least one line");
      std::set<uint32_t> seqs;
      for (const auto& e : acl.entries()) {
        const std::string line = absl::StrCat(obj, " line ", e.sequence());
        if (e.sequence() == 0) Error(line, "sequence", "must be 1 or more");
        if (!seqs.insert(e.sequence()).second) Error(line, "sequence", "is used twice");
        if (e.action() == v1::ACL_ACTION_UNSPECIFIED) {
          Error(line, "action", "must be permit or deny");
        }
        CheckSelector(line, e.match());
      }
    }
  }

  void CheckLifetime(const std::string& obj, const cv1::Lifetime& l) {
    if (l.seconds() != 0 && (l.seconds() < 120 || l.seconds() > 86400)) {
      Error(obj, "security-association lifetime seconds", "must be 120..86400");
    }
    if (l.kilobytes() != 0 && (l.kilobytes() < 2560 || l.kilobytes() > 4294967295ULL)) {
      Error(obj, "security-association lifetime kilobytes", "must be 2560..4294967295");
    }
  }

  void CheckSessionKeys(const std::string& obj, const v1::CryptoMapEntry& e) {
    const v1::TransformSet* ts = FindTransformSet(e.transform_sets().empty() ? "" : e.transform_sets(0));
    std::set<std::pair<int, int>> have;
    for (const auto& k : e.session_keys()) {
      const std::string field = absl::StrCat(
          "set session-key ",
          k.direction() == cv1::DIRECTION_INBOUND ? "inbound" : "outbound",
          k.protocol() == cv1::IPSEC_PROTOCOL_AH ? " ah" : " esp");
      if (k.direction() == cv1::DIRECTION_UNSPECIFIED) Error(obj, field, "needs a direction");
      if (k.protocol() == cv1::IPSEC_PROTOCOL_UNSPECIFIED) Error(obj, field, "needs esp or ah");
      if (k.spi() < 256) Error(obj, field, "SPI must be 256 or more (RFC 4303 §2.1)");
      if (!have.insert({k.direction(), k.protocol()}).second) {
        Error(obj, field, "is given twice");
      }
      if (ts == nullptr) continue;
      if (k.protocol() == cv1::IPSEC_PROTOCOL_ESP) {
        size_t want = crypto::EncryptionKeyLength(ts->esp_encryption());
        if (!k.cipher_key_set() && k.cipher_key().size() != want) {
          Error(obj, field, absl::StrCat("cipher key must be ", want, " octets for ",
                                         crypto::EspEncryptionKeyword(ts->esp_encryption())));
        }
        size_t want_auth = crypto::IntegrityKeyLength(ts->esp_integrity());
        if (!k.authenticator_key_set() && k.authenticator_key().size() != want_auth) {
          Error(obj, field, absl::StrCat("authenticator must be ", want_auth, " octets"));
        }
      } else if (k.protocol() == cv1::IPSEC_PROTOCOL_AH) {
        size_t want = crypto::IntegrityKeyLength(ts->ah());
        if (!k.authenticator_key_set() && k.authenticator_key().size() != want) {
          Error(obj, field, absl::StrCat("AH key must be ", want, " octets"));
        }
      }
    }
    if (ts != nullptr) {
      auto need = [&](int proto, bool used) {
        if (!used) return;
        for (int dir : {cv1::DIRECTION_INBOUND, cv1::DIRECTION_OUTBOUND}) {
          if (!have.count({dir, proto})) {
            Error(obj, "set session-key",
                  absl::StrCat("missing ", dir == cv1::DIRECTION_INBOUND ? "inbound " : "outbound ",
                               proto == cv1::IPSEC_PROTOCOL_AH ? "ah" : "esp", " key"));
          }
        }
      };
      need(cv1::IPSEC_PROTOCOL_ESP, ts->esp_encryption() != cv1::ENCRYPTION_UNSPECIFIED);
      need(cv1::IPSEC_PROTOCOL_AH, ts->ah() != cv1::INTEGRITY_UNSPECIFIED);
    }
  }

  void CheckCryptoMaps() {
    std::set<std::string> names;
    std::map<std::string, std::string> interface_owner;
    for (const auto& map : config_.crypto_maps()) {
      const std::string kind = map.dynamic() ? "crypto dynamic-map " : "crypto map ";
      const std::string obj = absl::StrCat(kind, map.name());
      if (!IsValidObjectName(map.name())) Error(obj, "name", "must be 1..63 of [A-Za-z0-9_.-]");
      if (!names.insert(map.name()).second) Error(obj, "name", "is used twice");
      if (map.dynamic() && !map.interfaces().empty()) {
        Error(obj, "interface", "a dynamic map is applied through a static map, not an interface");
      }
      for (const auto& ifname : map.interfaces()) {
        if (ifname.empty()) Error(obj, "interface", "interface name is empty");
        auto [it, fresh] = interface_owner.emplace(ifname, map.name());
        if (!fresh) {
          Error(obj, "interface",
                absl::StrCat("interface ", ifname, " already has crypto map ", it->second));
        }
      }
      std::set<uint32_t> seqs;
      for (const auto& e : map.entries()) {
        const std::string eobj = absl::StrCat(kind, map.name(), " ", e.sequence());
        if (e.sequence() < 1 || e.sequence() > 65535) Error(eobj, "sequence", "must be 1..65535");
        if (!seqs.insert(e.sequence()).second) Error(eobj, "sequence", "is used twice");
        CheckEntry(map, e, eobj);
      }
    }
  }

  void CheckEntry(const v1::CryptoMap& map, const v1::CryptoMapEntry& e,
                  const std::string& obj) {
    v1::CryptoMapKind kind = e.kind();
    if (kind == v1::CRYPTO_MAP_KIND_UNSPECIFIED) kind = v1::CRYPTO_MAP_KIND_IPSEC_ISAKMP;
    if (map.dynamic() && kind != v1::CRYPTO_MAP_KIND_IPSEC_ISAKMP) {
      Error(obj, "kind", "dynamic map entries are always ipsec-isakmp");
      return;
    }
    if (e.initiate_aggressive() &&
        (e.ike_version() == v1::IKE_VERSION_2 || map.dynamic() ||
         kind != v1::CRYPTO_MAP_KIND_IPSEC_ISAKMP)) {
      Error(obj, "initiate mode aggressive",
            "only an IKEv1 ipsec-isakmp entry that initiates can use Aggressive Mode");
    }
    if (kind == v1::CRYPTO_MAP_KIND_DYNAMIC) {
      const v1::CryptoMap* dyn = FindCryptoMap(e.dynamic_map());
      if (dyn == nullptr || !dyn->dynamic()) {
        Error(obj, "dynamic", absl::StrCat("dynamic map '", e.dynamic_map(), "' does not exist"));
      }
      return;
    }
    // ipsec-isakmp and ipsec-manual
    if (e.match_address().empty()) {
      if (!map.dynamic()) Error(obj, "match address", "is required");
    } else if (FindAccessList(e.match_address()) == nullptr) {
      Error(obj, "match address",
            absl::StrCat("access list '", e.match_address(), "' does not exist"));
    }
    if (e.transform_sets().empty()) {
      Error(obj, "set transform-set", "is required");
    }
    if (e.transform_sets().size() > 6) {
      Error(obj, "set transform-set", "at most 6 transform sets per entry");
    }
    for (const auto& ts : e.transform_sets()) {
      if (FindTransformSet(ts) == nullptr) {
        Error(obj, "set transform-set", absl::StrCat("transform set '", ts, "' does not exist"));
      }
    }
    for (const auto& peer : e.peers()) {
      if (!net::ParseAddress(peer).ok() && !IsHostname(peer)) {
        Error(obj, "set peer", absl::StrCat("'", peer, "' is neither an address nor a hostname"));
      }
    }
    if (e.peers().empty() && !map.dynamic()) Error(obj, "set peer", "is required");
    if (e.pfs_group() != cv1::DH_GROUP_NONE) {
      Legacy(obj, "set pfs", e.pfs_group(), absl::StrCat("group ", static_cast<int>(e.pfs_group())));
    }
    CheckLifetime(obj, e.lifetime());
    if (e.idle_time_seconds() != 0 &&
        (e.idle_time_seconds() < 60 || e.idle_time_seconds() > 86400)) {
      Error(obj, "set security-association idle-time", "must be 60..86400 seconds");
    }
    if (!e.replay().disabled() && e.replay().size() != 0 &&
        (e.replay().size() < 32 || e.replay().size() > 4096)) {
      Error(obj, "set security-association replay window-size", "must be 32..4096");
    }
    if (e.reverse_route().enabled() && !e.reverse_route().next_hop().empty() &&
        !net::ParseAddress(e.reverse_route().next_hop()).ok()) {
      Error(obj, "reverse-route", "next hop is not an address");
    }
    if (kind == v1::CRYPTO_MAP_KIND_IPSEC_MANUAL) {
      if (e.peers().size() != 1) Error(obj, "set peer", "a manual entry has exactly one peer");
      if (e.transform_sets().size() != 1) {
        Error(obj, "set transform-set", "a manual entry has exactly one transform set");
      }
      if (e.pfs_group() != cv1::DH_GROUP_NONE) {
        Error(obj, "set pfs", "does not apply to manually keyed entries");
      }
      CheckSessionKeys(obj, e);
    } else if (!e.session_keys().empty()) {
      Error(obj, "set session-key", "only ipsec-manual entries take session keys");
    }
  }

  void CheckPreSharedKeys() {
    std::set<std::string> seen;
    for (const auto& psk : config_.pre_shared_keys()) {
      std::string peer;
      if (psk.has_address()) {
        peer = absl::StrCat("address ", psk.address().address(), "/", psk.address().length());
        auto p = net::ParsePrefix(psk.address());
        if (!p.ok()) Error("crypto isakmp key", "address", std::string(p.status().message()));
      } else if (!psk.hostname().empty()) {
        peer = absl::StrCat("hostname ", psk.hostname());
        if (!IsHostname(psk.hostname())) {
          Error("crypto isakmp key", "hostname",
                absl::StrCat("'", psk.hostname(), "' is not a hostname"));
        }
      } else {
        Error("crypto isakmp key", "peer", "needs an address or a hostname");
        continue;
      }
      const std::string obj = absl::StrCat("crypto isakmp key ", peer);
      if (!seen.insert(peer).second) Error(obj, "peer", "has two keys");
      if (psk.key().empty() && !psk.key_set()) Error(obj, "key", "is empty");
      if (psk.key().size() > 128) Error(obj, "key", "must be at most 128 octets");
    }
  }

  // `crypto key pubkey-chain rsa`: each key an RSA SubjectPublicKeyInfo,
  // known by an address or a name, each peer once.
  void CheckRsaPublicKeys() {
    std::set<std::string> seen;
    for (const auto& k : config_.rsa_public_keys()) {
      const std::string obj = k.name().empty()
                                  ? absl::StrCat("addressed-key ", k.address())
                                  : absl::StrCat("named-key ", k.name());
      if (k.name().empty() && k.address().empty()) {
        Error("crypto key pubkey-chain rsa", "peer", "a key needs an address or a name");
        continue;
      }
      if (!k.address().empty() && !net::ParseAddress(k.address()).ok()) {
        Error(obj, "address", absl::StrCat("'", k.address(), "' is not an IP address"));
      }
      if (!k.name().empty() && k.name().size() > 255) {
        Error(obj, "name", "must be at most 255 characters");
      }
      if (!seen.insert(obj).second) Error(obj, "peer", "has two keys");
      if (k.key().size() > 4096) {
        Error(obj, "key-string", "is longer than any RSA key of up to 8192 bits");
      } else if (auto key = auth::RsaPublicKey::FromDer(k.key()); !key.ok()) {
        Error(obj, "key-string", std::string(key.status().message()));
      }
    }
  }

  void CheckTrustpoints() {
    std::set<std::string> seen;
    for (const auto& tp : config_.trustpoints()) {
      const std::string obj = absl::StrCat("crypto pki trustpoint ", tp.name());
      if (!IsValidObjectName(tp.name())) Error(obj, "name", "must be 1..63 of [A-Za-z0-9_.-]");
      if (!seen.insert(tp.name()).second) Error(obj, "name", "is used twice");
      if (!tp.enrollment_url().empty() && !absl::StartsWith(tp.enrollment_url(), "http://") &&
          !absl::StartsWith(tp.enrollment_url(), "https://")) {
        Error(obj, "enrollment url", "must be an http:// or https:// URL");
      }
      const std::string& fp = tp.ca_fingerprint_sha256();
      if (!fp.empty()) {
        bool hex = fp.size() == 64;
        for (char c : fp) hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
        if (!hex) Error(obj, "fingerprint", "must be 64 hex digits (SHA-256)");
      }
      if (tp.auto_enroll_percent() > 100) Error(obj, "auto-enroll", "must be 0..100 percent");
      if (!tp.ocsp_url().empty() && !absl::StartsWith(tp.ocsp_url(), "http://")) {
        Error(obj, "ocsp url", "must be an http:// URL (RFC 6960 Appendix A)");
      }
      if (tp.revocation_check_size() > 3) {
        Error(obj, "revocation-check", "takes at most three methods");
      }
      for (int i = 0; i < tp.revocation_check_size(); ++i) {
        const int m = tp.revocation_check(i);
        if (m < v1::REVOCATION_METHOD_CRL || m > v1::REVOCATION_METHOD_NONE) {
          Error(obj, "revocation-check", "unknown method");
        } else if (m == v1::REVOCATION_METHOD_NONE && i + 1 != tp.revocation_check_size()) {
          Error(obj, "revocation-check", "none must come last (it accepts what is left)");
        }
      }
    }
  }

  static bool IsHostname(const std::string& name) {
    if (name.empty() || name.size() > 253) return false;
    size_t label = 0;
    for (size_t i = 0; i < name.size(); ++i) {
      char c = name[i];
      if (c == '.') {
        if (label == 0) return false;
        label = 0;
        continue;
      }
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
      if (++label > 63) return false;
    }
    return label > 0;
  }

  const v1::TransformSet* FindTransformSet(const std::string& name) const {
    for (const auto& ts : config_.transform_sets()) if (ts.name() == name) return &ts;
    return nullptr;
  }
  const v1::AccessList* FindAccessList(const std::string& name) const {
    for (const auto& acl : config_.access_lists()) if (acl.name() == name) return &acl;
    return nullptr;
  }
  const v1::CryptoMap* FindCryptoMap(const std::string& name) const {
    for (const auto& m : config_.crypto_maps()) if (m.name() == name) return &m;
    return nullptr;
  }

  const v1::IkeConfig& config_;
  const bool allow_legacy_;
  ValidationResult result_;
};

}  // namespace

std::string Problem::ToString() const {
  return absl::StrCat(warning ? "warning: " : "", object, ": ", field, ": ", message);
}

bool ValidationResult::ok() const {
  for (const auto& p : problems) if (!p.warning) return false;
  return true;
}

std::vector<std::string> ValidationResult::Warnings() const {
  std::vector<std::string> out;
  for (const auto& p : problems) if (p.warning) out.push_back(p.ToString());
  return out;
}

absl::Status ValidationResult::ToStatus() const {
  std::vector<std::string> errors;
  for (const auto& p : problems) if (!p.warning) errors.push_back(p.ToString());
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
}

bool IsValidObjectName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      return false;
  }
  return true;
}

ValidationResult ValidateIkeConfig(const v1::IkeConfig& config) {
  return Checker(config).Run();
}

}  // namespace vpnfleet::ike
