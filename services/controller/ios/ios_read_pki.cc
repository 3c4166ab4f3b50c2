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

// ------------------------------------------- crypto key pubkey-chain rsa --
// A peer's RSA public key for `authentication rsa-encr`:
//   crypto key pubkey-chain rsa
//    named-key NAME [encryption] | addressed-key IP [encryption]
//     address IP                  (named keys)
//     key-string
//      HEX HEX ...                (the DER SubjectPublicKeyInfo)
//     quit
void Reader::PubkeySub(const Words& w, absl::string_view text) {
  // The lines of a signature key are read (to find where it ends) and
  // skipped.
  const bool unused = pubkey_ == nullptr && signature_key_line_ != 0 && mode_ != Mode::kPubkeyChain &&
                      w[0] != "named-key" && w[0] != "addressed-key";
  PubkeyLine(w, text);
  if (unused && !Diagnosed()) {
    Skip(absl::StrCat("part of the signature key on line ", signature_key_line_, ", which is not used"));
  }
}

void Reader::PubkeyLine(const Words& w, absl::string_view text) {
  const std::string entry = "crypto key pubkey-chain rsa";
  if (mode_ == Mode::kKeyString) {
    if (w[0] == "quit") {
      std::string der;
      if (key_hex_.empty() || key_hex_.size() % 2 != 0 ||
          !std::all_of(key_hex_.begin(), key_hex_.end(),
                       [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); })) {
        Error(key_line_, entry_name_, "key-string", "the key string is not hexadecimal octets");
      } else if (pubkey_ != nullptr) {
        pubkey_->set_key(absl::HexStringToBytes(key_hex_));
      }
      key_hex_.clear();
      mode_ = Mode::kPubkey;
      return;
    }
    for (absl::string_view word : w) absl::StrAppend(&key_hex_, word);
    if (key_hex_.size() > 2 * 4096) {
      Error(key_line_, entry_name_, "key-string", "longer than any RSA key of up to 8192 bits");
      key_hex_.clear();
      mode_ = Mode::kNone;
    }
    return;
  }
  if (w[0] == "named-key" || w[0] == "addressed-key") {
    const bool named = w[0] == "named-key";
    if (w.size() < 2 || w.size() > 3 || (w.size() == 3 && w[2] != "encryption" && w[2] != "signature")) {
      return Error(line_, entry, std::string(w[0]),
                   absl::StrCat(w[0], named ? " NAME" : " IP", " [encryption|signature]"));
    }
    if (!named && !net::ParseAddress(w[1]).ok()) {
      return Error(line_, entry, "addressed-key", absl::StrCat("'", w[1], "' is not an IP address"));
    }
    entry_name_ = absl::StrCat(w[0], " ", w[1]);
    signature_key_line_ = 0;
    if (w.size() == 3 && w[2] == "signature") {
      signature_key_line_ = line_;
      // Raw signature keys (rsa-sig without certificates) are not used:
      // signatures are checked against certificates.
      Warn(line_, entry_name_, "usage", "signature keys are not used (rsa-sig takes certificates); skipped");
      pubkey_ = nullptr;  // its lines are read and dropped
      mode_ = Mode::kPubkey;
      return;
    }
    ike::RsaPublicKey*& known = pubkey_by_name_[absl::StrCat(named ? "named " : "address ", w[1])];
    if (known == nullptr) {
      known = result_.config.add_rsa_public_keys();
      (named ? known->mutable_name() : known->mutable_address())->assign(std::string(w[1]));
      pubkey_lines_[entry_name_] = line_;
    }
    pubkey_ = known;
    mode_ = Mode::kPubkey;
    return;
  }
  if (mode_ == Mode::kPubkey && w[0] == "address" && w.size() == 2) {
    if (pubkey_ == nullptr) return;
    if (pubkey_->name().empty()) {
      return Error(line_, entry_name_, "address", "only a named-key takes an address");
    }
    if (!net::ParseAddress(w[1]).ok()) {
      return Error(line_, entry_name_, "address", absl::StrCat("'", w[1], "' is not an IP address"));
    }
    pubkey_->set_address(std::string(w[1]));
    return;
  }
  if (mode_ == Mode::kPubkey && w[0] == "key-string" && w.size() == 1) {
    key_line_ = line_;
    key_hex_.clear();
    mode_ = Mode::kKeyString;
    return;
  }
  if (w[0] == "quit") return;
  Error(line_, mode_ == Mode::kPubkey ? entry_name_ : entry, std::string(w[0]),
        absl::StrCat("unknown command '", text, "'"));
}

// --------------------------------------------------------- trustpoints --
void Reader::TrustpointStart(const Words& w) {
  if (w.size() != 4) return Error(line_, "crypto pki trustpoint", "", "crypto pki trustpoint NAME");
  ike::Trustpoint*& tp = trustpoint_by_name_[w[3]];
  if (tp == nullptr) {
    tp = result_.config.add_trustpoints();
    tp->set_name(std::string(w[3]));
  }
  trustpoint_ = tp;
  entry_name_ = absl::StrCat("crypto pki trustpoint ", w[3]);
  mode_ = Mode::kTrustpoint;
}

void Reader::TrustpointSub(const Words& w, absl::string_view text) {
  ike::Trustpoint* tp = trustpoint_;
  const std::string& entry = entry_name_;
  if (w[0] == "enrollment") {
    if (w.size() == 3 && w[1] == "url") {
      tp->set_enrollment_url(std::string(w[2]));
      return;
    }
    if (w.size() == 3 && w[1] == "mode" && w[2] == "ra") {
      tp->set_enrollment_mode_ra(true);
      return;
    }
    return Warn(line_, entry, "enrollment", "only 'enrollment url' and 'enrollment mode ra' are used");
  }
  if (w[0] == "fingerprint" && w.size() == 2) {
    tp->set_ca_fingerprint_sha256(absl::AsciiStrToLower(w[1]));
    return;
  }
  if (w[0] == "subject-name") {
    tp->set_subject_name(std::string(After(text, 1)));
    return;
  }
  if (w[0] == "subject-alt-name" && w.size() >= 2) {
    tp->add_subject_alt_names(std::string(After(text, 1)));
    return;
  }
  if (w[0] == "revocation-check" && w.size() >= 2) {
    // IOS: up to three methods, tried in order (`ocsp crl none`).
    tp->clear_revocation_check();
    tp->set_revocation_check_crl(false);
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i] == "crl") {
        tp->add_revocation_check(ike::REVOCATION_METHOD_CRL);
        tp->set_revocation_check_crl(true);
      } else if (w[i] == "ocsp") {
        tp->add_revocation_check(ike::REVOCATION_METHOD_OCSP);
      } else if (w[i] == "none") {
        tp->add_revocation_check(ike::REVOCATION_METHOD_NONE);
      } else {
        return Error(line_, entry, "revocation-check",
                     absl::StrCat("unknown method '", w[i], "'; crl, ocsp or none"));
      }
    }
    return;
  }
  if (w[0] == "ocsp" && w.size() == 3 && w[1] == "url") {
    tp->set_ocsp_url(std::string(w[2]));
    return;
  }
  uint64_t n;
  if ((w[0] == "rsakeypair" || w[0] == "eckeypair") && w.size() >= 2) {
    tp->set_key_label(w[1] == tp->name() ? "" : std::string(w[1]));
  }
  if (w[0] == "rsakeypair" && w.size() >= 2) {
    tp->set_key_type(ike::KEY_TYPE_RSA_2048);
    if (w.size() >= 3 && ParseUint(w[2], 8192, &n)) {
      if (n == 2048) tp->set_key_type(ike::KEY_TYPE_RSA_2048);
      else if (n == 3072) tp->set_key_type(ike::KEY_TYPE_RSA_3072);
      else if (n == 4096) tp->set_key_type(ike::KEY_TYPE_RSA_4096);
      else return Error(line_, entry, "rsakeypair", "RSA keys are 2048, 3072 or 4096 bits");
    }
    return;
  }
  if (w[0] == "eckeypair" && w.size() >= 2) {
    tp->set_key_type(ike::KEY_TYPE_ECDSA_P256);
    if (w.size() >= 3 && ParseUint(w[2], 521, &n)) {
      if (n == 384) tp->set_key_type(ike::KEY_TYPE_ECDSA_P384);
      else if (n != 256) return Error(line_, entry, "eckeypair", "EC keys are 256 or 384 bits");
    }
    return;
  }
  if (w[0] == "auto-enroll") {
    tp->set_auto_enroll_percent(80);
    if (w.size() >= 2 && ParseUint(w[1], 100, &n)) {
      if (n == 0) return Error(line_, entry, "auto-enroll", "the percentage is 1..100");
      tp->set_auto_enroll_percent(static_cast<uint32_t>(n));
    }
    return;
  }
  if (w[0] == "serial-number" || w[0] == "fqdn" || w[0] == "ip-address" || w[0] == "subject-alt-name") {
    return Warn(line_, entry, std::string(w[0]),
                "not carried: an edge's certificate request asks for the names the controller registered "
                "for it");
  }
  Warn(line_, entry, std::string(w[0]), "not carried: enrolling is vpnfleet pki enroll's, with the CA's own policy");
}

}  // namespace vpnfleet::controller::ios::internal
