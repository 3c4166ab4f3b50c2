#include "absl/strings/string_view.h"
#include "services/dataplane/sad/sa_table.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/crypto/algorithms.h"
#include "common/crypto/zeroize.h"
#include "common/net/ip.h"
#include "services/dataplane/spd/classifier.h"

namespace vpnfleet::dataplane {
namespace {

namespace cv1 = vpnfleet::common::v1;

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::Status CheckLifetimes(const cv1::Lifetime& soft, const cv1::Lifetime& hard) {
  auto check = [](uint64_t s, uint64_t h, const char* what) -> absl::Status {
    if (s != 0 && h != 0 && s > h) {
      return Invalid(absl::StrCat("soft_lifetime.", what), "must not exceed the hard lifetime");
    }
    return absl::OkStatus();
  };
  if (auto st = check(soft.seconds(), hard.seconds(), "seconds"); !st.ok()) return st;
  if (auto st = check(soft.kilobytes(), hard.kilobytes(), "kilobytes"); !st.ok()) return st;
  return check(soft.packets(), hard.packets(), "packets");
}

}  // namespace

std::string SaKeyString(const v1::SaKey& key) {
  char spi[16];
  std::snprintf(spi, sizeof spi, "0x%08x", key.spi());
  const char* proto = key.protocol() == cv1::IPSEC_PROTOCOL_AH ? "ah" : "esp";
  return absl::StrCat(proto, "/", spi, "/", key.destination());
}

absl::Status ValidateSa(const v1::SecurityAssociation& sa, const SaTableOptions& options) {
  const v1::SaKey& key = sa.key();
  // RFC 4303 §2.1: SPIs 1..255 are reserved by IANA, 0 is for local use.
  if (key.spi() < 256) return Invalid("key.spi", "must be 256 or more");
  auto dst = net::ParseAddress(key.destination());
  if (!dst.ok()) return Invalid("key.destination", dst.status().message());
  if (key.protocol() != cv1::IPSEC_PROTOCOL_ESP && key.protocol() != cv1::IPSEC_PROTOCOL_AH) {
    return Invalid("key.protocol", "must be ESP or AH");
  }
  if (sa.direction() == cv1::DIRECTION_UNSPECIFIED) {
    return Invalid("direction", "must be inbound or outbound");
  }
  if (sa.mode() != cv1::IPSEC_MODE_TRANSPORT) {
    auto src = net::ParseAddress(sa.tunnel_source());
    if (!src.ok()) return Invalid("tunnel_source", src.status().message());
    auto tdst = net::ParseAddress(sa.tunnel_destination());
    if (!tdst.ok()) return Invalid("tunnel_destination", tdst.status().message());
    if (src->family != tdst->family) {
      return Invalid("tunnel_destination", "tunnel endpoints are of different IP versions");
    }
    if (!(*tdst == *dst)) {
      return Invalid("tunnel_destination", "must equal the SA's destination address");
    }
  }
  const bool legacy = crypto::IsLegacy(sa.encryption()) || crypto::IsLegacy(sa.integrity());
  if (legacy && !options.allow_legacy) {
    return Invalid("encryption", "legacy algorithm (DES, 3DES or HMAC-MD5) while legacy "
                                 "algorithms are not allowed (--allow_legacy)");
  }
  if (key.protocol() == cv1::IPSEC_PROTOCOL_AH) {
    if (sa.encryption() != cv1::ENCRYPTION_UNSPECIFIED) {
      return Invalid("encryption", "AH does not encrypt");
    }
    if (sa.integrity() == cv1::INTEGRITY_UNSPECIFIED) {
      return Invalid("integrity", "AH needs an integrity algorithm");
    }
    if (sa.has_udp_encapsulation()) {
      return Invalid("udp_encapsulation", "AH cannot be UDP-encapsulated (RFC 3948 covers ESP)");
    }
  } else {
    if (sa.encryption() == cv1::ENCRYPTION_UNSPECIFIED) {
      return Invalid("encryption", "ESP needs an encryption algorithm (NULL for none)");
    }
    if (crypto::IsAead(sa.encryption()) && sa.integrity() != cv1::INTEGRITY_UNSPECIFIED) {
      return Invalid("integrity", "a combined-mode cipher takes no integrity algorithm");
    }
    if (sa.encryption() == cv1::ENCRYPTION_NULL && sa.integrity() == cv1::INTEGRITY_UNSPECIFIED) {
      return Invalid("integrity", "NULL encryption needs an integrity algorithm");
    }
    size_t want = crypto::EncryptionKeyLength(sa.encryption());
    if (sa.encryption_key().size() != want) {
      return Invalid("encryption_key", absl::StrCat("must be ", want, " octets for ",
                                                    cv1::EncryptionAlgorithm_Name(sa.encryption()),
                                                    ", got ", sa.encryption_key().size()));
    }
  }
  size_t want_auth = crypto::IntegrityKeyLength(sa.integrity());
  if (sa.integrity_key().size() != want_auth) {
    return Invalid("integrity_key", absl::StrCat("must be ", want_auth, " octets, got ",
                                                 sa.integrity_key().size()));
  }
  if (!sa.replay().disabled() && sa.replay().size() != 0 &&
      (sa.replay().size() < 32 || sa.replay().size() > 4096)) {
    return Invalid("replay.size", "must be 32..4096");
  }
  if (sa.has_udp_encapsulation()) {
    const auto& u = sa.udp_encapsulation();
    if (u.source_port() == 0 || u.source_port() > 65535 || u.destination_port() == 0 ||
        u.destination_port() > 65535) {
      return Invalid("udp_encapsulation", "ports must be 1..65535");
    }
  }
  if (auto st = CheckLifetimes(sa.soft_lifetime(), sa.hard_lifetime()); !st.ok()) return st;
  // The same compiler the forwarder uses, so what is accepted here matches.
  for (int i = 0; i < sa.selectors_size(); ++i) {
    auto compiled = CompileSelector(sa.selectors(i));
    if (!compiled.ok()) return Invalid(absl::StrCat("selectors[", i, "]"), compiled.status().message());
  }
  return absl::OkStatus();
}

SaTable::SaTable(const Clock* clock, SaTableOptions options)
    : clock_(clock), options_(options), table_("security association", &SaTable::Wipe) {}

void SaTable::Wipe(v1::SaStatus& status) {
  crypto::ZeroizeString(status.mutable_sa()->mutable_encryption_key());
  crypto::ZeroizeString(status.mutable_sa()->mutable_integrity_key());
}

v1::SaStatus SaTable::Redacted(v1::SaStatus status) {
  auto* sa = status.mutable_sa();
  sa->set_encryption_key_set(!sa->encryption_key().empty());
  sa->set_integrity_key_set(!sa->integrity_key().empty());
  Wipe(status);
  return status;
}

absl::Status SaTable::Add(const v1::SecurityAssociation& sa) {
  if (auto st = ValidateSa(sa, options_); !st.ok()) return st;
  v1::SaStatus row;
  *row.mutable_sa() = sa;
  row.mutable_sa()->clear_encryption_key_set();
  row.mutable_sa()->clear_integrity_key_set();
  row.set_state(v1::SA_STATE_ACTIVE);
  row.set_added_unix_seconds(absl::ToUnixSeconds(clock_->Now()));
  // The table stores a copy; wipe ours whether or not it was taken.
  auto rev = table_.Put(SaKeyString(sa.key()), row, /*create_only=*/true);
  Wipe(row);
  return rev.status();
}

absl::Status SaTable::Update(const v1::SecurityAssociation& sa) {
  return table_
      .Modify(SaKeyString(sa.key()),
              [&](v1::SaStatus& row) -> absl::Status {
                if (sa.direction() != row.sa().direction()) {
                  return absl::InvalidArgumentError(
                      "direction: an SA's direction cannot change");
                }
                v1::SecurityAssociation merged = sa;
                if (merged.encryption_key().empty()) {
                  *merged.mutable_encryption_key() = row.sa().encryption_key();
                }
                if (merged.integrity_key().empty()) {
                  *merged.mutable_integrity_key() = row.sa().integrity_key();
                }
                merged.clear_encryption_key_set();
                merged.clear_integrity_key_set();
                absl::Status st = ValidateSa(merged, options_);
                // `row` is a copy the table wipes on failure; on success
                // the keys move into it and the old ones are wiped.
                Wipe(row);
                row.mutable_sa()->Swap(&merged);
                crypto::ZeroizeString(merged.mutable_encryption_key());
                crypto::ZeroizeString(merged.mutable_integrity_key());
                return st;
              })
      .status();
}

absl::Status SaTable::Delete(const v1::SaKey& key) {
  return table_.Delete(SaKeyString(key)).status();
}

absl::StatusOr<v1::SaStatus> SaTable::Get(const v1::SaKey& key) const {
  auto row = table_.Get(SaKeyString(key));
  if (!row.ok()) return row.status();
  return Redacted(*std::move(row));
}

std::vector<v1::SaStatus> SaTable::List(const v1::ListSasRequest& filter) const {
  std::vector<v1::SaStatus> out;
  for (auto& row : table_.List([&](const v1::SaStatus& s) {
         return (filter.peer().empty() || s.sa().peer() == filter.peer()) &&
                (filter.reqid() == 0 || s.sa().reqid() == filter.reqid());
       })) {
    out.push_back(Redacted(std::move(row)));
  }
  return out;
}

}  // namespace vpnfleet::dataplane
