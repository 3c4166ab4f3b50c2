#include "services/controller/ios/ios_reader.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/net/ip.h"
#include "services/controller/ios/ios_vocabulary.h"

namespace vpnfleet::controller::ios::internal {

void Reader::Ipsec(const Words& w) {
  if (w.size() >= 4 && w[2] == "transform-set") return TransformSetStart(w);
  if (w.size() >= 3 && w[2] == "security-association") {
    // The global defaults, read as an entry's `set security-association`
    // and given in Finish to every entry that does not set its own.
    Words as_set = {"set", "security-association"};
    as_set.insert(as_set.end(), w.begin() + 3, w.end());
    ike::CryptoMapEntry* saved = entry_;
    const std::string saved_name = entry_name_;
    entry_ = &global_sa_;
    entry_name_ = "crypto ipsec security-association";
    MapSecurityAssociation(as_set);
    entry_ = saved;
    entry_name_ = saved_name;
    return;
  }
  if (w.size() == 4 && w[2] == "df-bit" && w[3] == "clear") {
    return Skip("crypto ipsec df-bit clear: what the dataplane always does");
  }
  if (w.size() >= 3 && w[2] == "df-bit") {
    return Error(line_, "crypto ipsec df-bit", "",
                 "the outer header's DF bit is always clear (df-bit clear): an inner packet with DF "
                 "that would not fit after ESP gets ICMP fragmentation-needed instead");
  }
  Error(line_, "crypto ipsec", "",
        absl::StrCat("unsupported command 'crypto ipsec ", absl::StrJoin(w.begin() + 2, w.end(), " "), "'"));
}

// crypto ipsec transform-set NAME t1 [t2 [t3]]
void Reader::TransformSetStart(const Words& w) {
  const std::string entry = absl::StrCat("crypto ipsec transform-set ", w[3]);
  ike::TransformSet ts;
  ts.set_name(std::string(w[3]));
  if (w.size() == 4) return Error(line_, entry, "transforms", "a transform set needs transforms");
  for (size_t i = 4; i < w.size(); ++i) {
    int bits = 0;
    if (TransformTakesKeySize(w[i]) && i + 1 < w.size()) {
      uint64_t b;
      if (ParseUint(w[i + 1], 65535, &b)) bits = static_cast<int>(b);
    }
    auto t = TransformKeyword(w[i], bits);
    if (!t) {
      return Error(line_, entry, "transforms", absl::StrCat("unknown transform '", w[i],
                                                            bits ? absl::StrCat(" ", bits) : "", "'"));
    }
    if (bits) ++i;
    switch (t->kind) {
      case Transform::Kind::kAh:
        if (ts.ah() != c::INTEGRITY_UNSPECIFIED) return Error(line_, entry, "transforms", "two AH transforms");
        ts.set_ah(t->integrity);
        break;
      case Transform::Kind::kEspCipher:
        if (ts.esp_encryption() != c::ENCRYPTION_UNSPECIFIED) {
          return Error(line_, entry, "transforms", "two ESP ciphers");
        }
        ts.set_esp_encryption(t->cipher);
        break;
      case Transform::Kind::kEspAuth:
        if (ts.esp_integrity() != c::INTEGRITY_UNSPECIFIED) {
          return Error(line_, entry, "transforms", "two ESP authenticators");
        }
        ts.set_esp_integrity(t->integrity);
        break;
      case Transform::Kind::kCompression:
        Warn(line_, entry, "transforms", "comp-lzs (IPComp) is not supported; left out");
        break;
    }
  }
  if (ts.ah() == c::INTEGRITY_UNSPECIFIED &&
      ts.esp_encryption() == c::ENCRYPTION_UNSPECIFIED &&
      ts.esp_integrity() == c::INTEGRITY_UNSPECIFIED) {
    // `comp-lzs` alone (or transforms that were all refused above)
    // leaves nothing that protects traffic.
    return Error(line_, entry, "transforms", "a transform set needs transforms");
  }
  ike::TransformSet*& target = transform_set_by_name_[ts.name()];
  if (target == nullptr) target = result_.config.add_transform_sets();
  *target = std::move(ts);
  transform_set_ = target;
  mode_ = Mode::kTransformSet;
}

// ` mode tunnel|transport` of a transform set.
void Reader::TransformSetSub(const Words& w, absl::string_view text) {
  const std::string entry = absl::StrCat("crypto ipsec transform-set ", transform_set_->name());
  if (w.size() == 2 && w[0] == "mode" && w[1] == "tunnel") {
    transform_set_->set_mode(c::IPSEC_MODE_TUNNEL);
  } else if (w.size() == 2 && w[0] == "mode" && w[1] == "transport") {
    transform_set_->set_mode(c::IPSEC_MODE_TRANSPORT);
  } else {
    Error(line_, entry, std::string(w[0]), absl::StrCat("unknown command '", text, "'"));
  }
}

// ---------------------------------------------------------- crypto maps --
// crypto map NAME SEQ [ipsec-isakmp [dynamic DYN [discover]] | ipsec-manual]
// crypto dynamic-map NAME SEQ
void Reader::MapEntry(const Words& w, bool dynamic) {
  const std::string head = dynamic ? "crypto dynamic-map" : "crypto map";
  if (w.size() < 4) return Error(line_, head, "", absl::StrCat(head, " NAME SEQUENCE ..."));
  if (!dynamic && (w[3] == "local-address" || w[3] == "isakmp" || w[3] == "redundancy")) {
    const char* why = w[3] == "local-address"
                          ? "not carried: vpnfleet answers and initiates on every local address"
                      : w[3] == "isakmp" ? "not carried: ISAKMP authorization (XAUTH, mode config) is not supported"
                                         : "not carried: stateful failover of SAs is not supported";
    Warn(line_, absl::StrCat(head, " ", w[2]), std::string(w[3]), why);
    return;
  }
  uint64_t seq;
  const std::string entry = absl::StrCat(head, " ", w[2], " ", w[3]);
  if (!ParseUint(w[3], 65535, &seq) || seq == 0) {
    return Error(line_, entry, "sequence", "the sequence number is 1..65535");
  }
  ike::CryptoMapKind kind = dynamic ? ike::CRYPTO_MAP_KIND_UNSPECIFIED : ike::CRYPTO_MAP_KIND_IPSEC_ISAKMP;
  std::string dynamic_map;
  size_t i = 4;
  if (i < w.size() && !dynamic) {
    if (w[i] == "ipsec-isakmp") {
      ++i;
      if (i < w.size() && w[i] == "dynamic") {
        if (i + 1 >= w.size()) return Error(line_, entry, "dynamic", "dynamic needs a map name");
        kind = ike::CRYPTO_MAP_KIND_DYNAMIC;
        dynamic_map = std::string(w[i + 1]);
        references_.push_back({Reference::kDynamicMap, dynamic_map, line_, entry});
        i += 2;
        if (i < w.size() && w[i] == "discover") {
          Warn(line_, entry, "discover", "tunnel endpoint discovery is not supported; ignored");
          ++i;
        }
      }
    } else if (w[i] == "ipsec-manual") {
      kind = ike::CRYPTO_MAP_KIND_IPSEC_MANUAL;
      ++i;
    } else if (w[i] == "gdoi" || w[i] == "profile") {
      return Error(line_, entry, std::string(w[i]), absl::StrCat("'", w[i], "' maps are not supported"));
    }
  }
  if (i != w.size()) {
    return Error(line_, entry, "", absl::StrCat("unexpected '", w[i], "'"));
  }
  ike::CryptoMap*& map = map_by_name_[w[2]];
  if (map == nullptr) {
    map = result_.config.add_crypto_maps();
    map->set_name(std::string(w[2]));
    map->set_dynamic(dynamic);
  } else if (map->dynamic() != dynamic) {
    return Error(line_, entry, "", absl::StrCat("'", w[2], "' is already a ",
                                                map->dynamic() ? "dynamic" : "static", " map"));
  }
  ike::CryptoMapEntry*& e = map_entry_by_sequence_[std::make_pair(map->name(), static_cast<uint32_t>(seq))];
  if (e == nullptr) {
    e = map->add_entries();
    e->set_sequence(static_cast<uint32_t>(seq));
  } else if (e->kind() != kind || e->dynamic_map() != dynamic_map) {
    // IOS refuses to change an entry's kind in place too.
    return Error(line_, entry, "",
                 "the entry exists with another kind; IOS needs it removed (no crypto map ...) first");
  }
  e->set_kind(kind);
  e->set_dynamic_map(dynamic_map);
  entry_ = e;
  entry_name_ = entry;
  mode_ = Mode::kCryptoMap;
}

void Reader::MapSub(const Words& w, absl::string_view text) {
  ike::CryptoMapEntry* e = entry_;
  const std::string& entry = entry_name_;
  if (w[0] == "description") {
    e->set_description(std::string(After(text, 1)));
    return;
  }
  if (w[0] == "qos") {
    return Warn(line_, entry, "qos pre-classify", "not carried: the dataplane does not classify for QoS");
  }
  if (w[0] == "match") {
    if (w.size() != 3 || w[1] != "address") return Error(line_, entry, "match address", "match address ACL");
    e->set_match_address(std::string(w[2]));
    references_.push_back({Reference::kAcl, std::string(w[2]), line_, entry});
    return;
  }
  if (w[0] == "reverse-route") {
    auto* rr = e->mutable_reverse_route();
    rr->Clear();
    rr->set_enabled(true);
    for (size_t i = 1; i < w.size(); ++i) {
      uint64_t tag;
      if (w[i] == "static") {
        rr->set_static_routes(true);
      } else if (w[i] == "tag" && i + 1 < w.size() && ParseUint(w[i + 1], 0xffffffffu, &tag)) {
        rr->set_tag(static_cast<uint32_t>(tag));
        ++i;
      } else if (w[i] == "remote-peer") {
        rr->set_remote_peer(true);
        if (i + 1 < w.size() && net::ParseAddress(w[i + 1]).ok()) {
          rr->set_next_hop(std::string(w[i + 1]));
          ++i;
          if (i + 1 < w.size() && w[i + 1] == "gateway") ++i;
        }
      } else {
        return Error(line_, entry, "reverse-route", absl::StrCat("unexpected '", w[i], "'"));
      }
    }
    return;
  }
  if (w[0] == "no") {
    return Error(line_, entry, "", "'no' forms are not read from a configuration");
  }
  // set ...
  if (w.size() < 2) return Error(line_, entry, "set", "incomplete set command");
  if (w[1] == "peer") {
    if (w.size() < 3 || w.size() > 4 || (w.size() == 4 && w[3] != "default")) {
      return Error(line_, entry, "set peer", "set peer ADDRESS|HOSTNAME [default]");
    }
    e->add_peers(std::string(w[2]));
    return;
  }
  if (w[1] == "transform-set") {
    if (w.size() < 3) return Error(line_, entry, "set transform-set", "name at least one transform set");
    e->clear_transform_sets();
    for (size_t i = 2; i < w.size(); ++i) {
      e->add_transform_sets(std::string(w[i]));
      references_.push_back({Reference::kTransformSet, std::string(w[i]), line_, entry});
    }
    return;
  }
  if (w[1] == "pfs") {
    if (w.size() == 2) {
      e->set_pfs_group(c::DH_GROUP_MODP_768);  // IOS: `set pfs` alone is group1
      return;
    }
    std::optional<c::DhGroup> g;
    if (w.size() == 3 && w[2].size() > 5 && w[2].substr(0, 5) == "group") {
      g = DhGroupNumber(w[2].substr(5));
    }
    if (!g) return Error(line_, entry, "set pfs", absl::StrCat("unknown PFS group '", w.size() > 2 ? w[2] : "", "'"));
    e->set_pfs_group(*g);
    return;
  }
  if (w[1] == "security-association") return MapSecurityAssociation(w);
  if (w[1] == "session-key") return SessionKey(w);
  if (w[1] == "ikev2-profile") {
    if (w.size() != 3) return Error(line_, entry, "set ikev2-profile", "set ikev2-profile NAME");
    e->set_ike_version(ike::IKE_VERSION_2);
    ikev2_profile_uses_.push_back({{std::string(w[2]), line_}, e});
    return;
  }
  if (w[1] == "isakmp-profile") {
    if (w.size() != 3) return Error(line_, entry, "set isakmp-profile", "set isakmp-profile NAME");
    e->set_ike_version(ike::IKE_VERSION_1);
    isakmp_profile_uses_.push_back({{std::string(w[2]), line_}, e});
    return;
  }
  if (w[1] == "ip") {
    return Error(line_, entry, absl::StrCat("set ", w[1]), "not supported");
  }
  Error(line_, entry, absl::StrCat("set ", w[1]), absl::StrCat("unknown command '", text, "'"));
}

void Reader::MapSecurityAssociation(const Words& w) {
  ike::CryptoMapEntry* e = entry_;
  const std::string& entry = entry_name_;
  const std::string field = "set security-association";
  uint64_t n;
  if (w.size() == 5 && w[2] == "lifetime" && w[3] == "seconds" && ParseUint(w[4], 86400, &n) && n >= 120) {
    e->mutable_lifetime()->set_seconds(n);
    return;
  }
  if (w.size() == 5 && w[2] == "lifetime" && w[3] == "kilobytes") {
    if (w[4] == "disable") {
      e->mutable_lifetime()->set_kilobytes(0);
      return;
    }
    if (ParseUint(w[4], 4294967295u, &n) && n >= 2560) {
      e->mutable_lifetime()->set_kilobytes(n);
      return;
    }
  }
  if (w.size() == 4 && w[2] == "idle-time" && ParseUint(w[3], 86400, &n) && n >= 60) {
    e->set_idle_time_seconds(static_cast<uint32_t>(n));
    return;
  }
  if (w.size() == 5 && w[2] == "idle-time" && w[4] == "default" && ParseUint(w[3], 86400, &n) && n >= 60) {
    e->set_idle_time_seconds(static_cast<uint32_t>(n));
    return;
  }
  if (w.size() == 4 && w[2] == "level" && w[3] == "per-host") {
    e->set_per_host(true);
    return;
  }
  if (w.size() == 4 && w[2] == "replay" && w[3] == "disable") {
    e->mutable_replay()->set_disabled(true);
    return;
  }
  if (w.size() == 5 && w[2] == "replay" && w[3] == "window-size" && ParseUint(w[4], 4096, &n) &&
      n >= 32) {
    e->mutable_replay()->set_size(static_cast<uint32_t>(n));
    return;
  }
  Error(line_, entry, field,
        "expected lifetime seconds 120..86400 | lifetime kilobytes 2560..4294967295|disable | "
        "idle-time 60..86400 | level per-host | replay window-size 32..4096 | replay disable");
}

// set session-key {inbound|outbound} esp SPI cipher HEX [authenticator HEX]
// set session-key {inbound|outbound} esp SPI authenticator HEX
// set session-key {inbound|outbound} ah SPI HEX
void Reader::SessionKey(const Words& w) {
  const std::string& entry = entry_name_;
  const std::string field = "set session-key";
  if (w.size() < 6) return Error(line_, entry, field, "set session-key inbound|outbound esp|ah SPI ...");
  ike::ManualSessionKey k;
  if (w[2] == "inbound") k.set_direction(c::DIRECTION_INBOUND);
  else if (w[2] == "outbound") k.set_direction(c::DIRECTION_OUTBOUND);
  else return Error(line_, entry, field, "direction is inbound or outbound");
  uint64_t spi;
  if (!ParseUint(w[4], 0xffffffffu, &spi) || spi < 256) {
    return Error(line_, entry, field, "the SPI is 256..4294967295");
  }
  k.set_spi(static_cast<uint32_t>(spi));
  auto hex = [&](absl::string_view h, std::string* out) {
    if (h.size() % 2 != 0 || h.empty()) return false;
    for (char ch : h) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(ch))) return false;
    }
    *out = absl::HexStringToBytes(h);
    return true;
  };
  std::string bytes;
  if (w[3] == "ah") {
    k.set_protocol(c::IPSEC_PROTOCOL_AH);
    if (w.size() != 6 || !hex(w[5], &bytes)) return Error(line_, entry, field, "the AH key is hex");
    k.set_authenticator_key(bytes);
  } else if (w[3] == "esp") {
    k.set_protocol(c::IPSEC_PROTOCOL_ESP);
    for (size_t i = 5; i < w.size(); i += 2) {
      if (i + 1 >= w.size() || !hex(w[i + 1], &bytes)) {
        return Error(line_, entry, field, absl::StrCat("'", w[i], "' needs a hex key"));
      }
      if (w[i] == "cipher") k.set_cipher_key(bytes);
      else if (w[i] == "authenticator") k.set_authenticator_key(bytes);
      else return Error(line_, entry, field, absl::StrCat("unexpected '", w[i], "'"));
    }
  } else {
    return Error(line_, entry, field, "protocol is esp or ah");
  }
  *entry_->add_session_keys() = std::move(k);
}

}  // namespace vpnfleet::controller::ios::internal
