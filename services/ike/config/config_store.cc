#include "services/ike/config/config_store.h"

#include "common/secrets/ike_config_secrets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/crypto/zeroize.h"
#include "services/ike/config/config_validator.h"

namespace vpnfleet::ike {
namespace {

namespace v1 = vpnfleet::ike::v1;
using crypto::ZeroizeString;

std::string PeerKey(const v1::PreSharedKey& psk) {
  if (psk.has_address()) {
    return absl::StrCat("a:", psk.address().address(), "/", psk.address().length());
  }
  return absl::StrCat("h:", psk.hostname());
}

std::string PeerKey(const v1::PreSharedKeyPeer& peer) {
  if (peer.has_address()) {
    return absl::StrCat("a:", peer.address().address(), "/", peer.address().length());
  }
  return absl::StrCat("h:", peer.hostname());
}

// A pubkey-chain key is known by its name (named-key), else its address.
template <typename K>
std::string RsaKeyPeer(const K& k) {
  return k.name().empty() ? absl::StrCat("a:", k.address()) : absl::StrCat("n:", k.name());
}

// Puts `item` in place of the element with the same key, or appends it.
template <typename T, typename KeyFn>
void Upsert(google::protobuf::RepeatedPtrField<T>* list, const T& item, KeyFn key) {
  for (auto& existing : *list) {
    if (key(existing) == key(item)) {
      existing = item;
      return;
    }
  }
  *list->Add() = item;
}

template <typename T, typename Pred>
absl::Status Remove(google::protobuf::RepeatedPtrField<T>* list, Pred match,
                    const std::string& what) {
  for (int i = 0; i < list->size(); ++i) {
    if (match(list->Get(i))) {
      list->DeleteSubrange(i, 1);
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError(absl::StrCat(what, " does not exist"));
}

void WipePsk(v1::PreSharedKey* psk) { ZeroizeString(psk->mutable_key()); }

void WipeSessionKey(v1::ManualSessionKey* k) {
  ZeroizeString(k->mutable_cipher_key());
  ZeroizeString(k->mutable_authenticator_key());
}

void WipeAll(v1::IkeConfig* config) {
  for (auto& psk : *config->mutable_pre_shared_keys()) WipePsk(&psk);
  for (auto& map : *config->mutable_crypto_maps()) {
    for (auto& e : *map.mutable_entries()) {
      for (auto& k : *e.mutable_session_keys()) WipeSessionKey(&k);
    }
  }
}

// A redacted object sent back keeps the secret stored for the same key.
void CarryOverSecrets(const v1::IkeConfig& from, v1::IkeConfig* to) {
  for (auto& psk : *to->mutable_pre_shared_keys()) {
    if (!psk.key().empty() || !psk.key_set()) continue;
    for (const auto& old : from.pre_shared_keys()) {
      if (PeerKey(old) == PeerKey(psk)) *psk.mutable_key() = old.key();
    }
  }
  for (auto& map : *to->mutable_crypto_maps()) {
    for (auto& e : *map.mutable_entries()) {
      for (auto& k : *e.mutable_session_keys()) {
        for (const auto& old_map : from.crypto_maps()) {
          if (old_map.name() != map.name()) continue;
          for (const auto& old_e : old_map.entries()) {
            if (old_e.sequence() != e.sequence()) continue;
            for (const auto& old_k : old_e.session_keys()) {
              if (old_k.direction() != k.direction() || old_k.protocol() != k.protocol() ||
                  old_k.spi() != k.spi()) {
                continue;
              }
              if (k.cipher_key().empty() && k.cipher_key_set()) {
                *k.mutable_cipher_key() = old_k.cipher_key();
              }
              if (k.authenticator_key().empty() && k.authenticator_key_set()) {
                *k.mutable_authenticator_key() = old_k.authenticator_key();
              }
            }
          }
        }
      }
    }
  }
  // Stored form: the flags are output only; they are recomputed on Get().
  for (auto& psk : *to->mutable_pre_shared_keys()) psk.clear_key_set();
  for (auto& map : *to->mutable_crypto_maps()) {
    for (auto& e : *map.mutable_entries()) {
      for (auto& k : *e.mutable_session_keys()) {
        k.clear_cipher_key_set();
        k.clear_authenticator_key_set();
      }
    }
  }
}

// The same for a single put edit.
void CarryOverSecrets(const v1::IkeConfig& from, v1::ConfigEdit* edit) {
  if (!edit->has_put_pre_shared_key() && !edit->has_put_crypto_map()) return;
  v1::IkeConfig wrapper;
  if (edit->has_put_pre_shared_key()) {
    wrapper.mutable_pre_shared_keys()->Add()->Swap(edit->mutable_put_pre_shared_key());
    CarryOverSecrets(from, &wrapper);
    edit->mutable_put_pre_shared_key()->Swap(wrapper.mutable_pre_shared_keys(0));
  } else {
    wrapper.mutable_crypto_maps()->Add()->Swap(edit->mutable_put_crypto_map());
    CarryOverSecrets(from, &wrapper);
    edit->mutable_put_crypto_map()->Swap(wrapper.mutable_crypto_maps(0));
  }
}

void WipeEdit(v1::ConfigEdit* edit) {
  if (edit->has_put_pre_shared_key()) WipePsk(edit->mutable_put_pre_shared_key());
  if (edit->has_put_crypto_map()) {
    for (auto& e : *edit->mutable_put_crypto_map()->mutable_entries()) {
      for (auto& k : *e.mutable_session_keys()) WipeSessionKey(&k);
    }
  }
}

absl::Status ApplyEdit(const v1::ConfigEdit& edit, v1::IkeConfig* c) {
  switch (edit.edit_case()) {
    case v1::ConfigEdit::kSetGlobals:
      *c->mutable_globals() = edit.set_globals();
      return absl::OkStatus();
    case v1::ConfigEdit::kPutIsakmpPolicy:
      Upsert(c->mutable_isakmp_policies(), edit.put_isakmp_policy(),
             [](const v1::IsakmpPolicy& p) { return p.priority(); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeleteIsakmpPolicy:
      return Remove(c->mutable_isakmp_policies(),
                    [&](const v1::IsakmpPolicy& p) { return p.priority() == edit.delete_isakmp_policy(); },
                    absl::StrCat("crypto isakmp policy ", edit.delete_isakmp_policy()));
    case v1::ConfigEdit::kPutTransformSet:
      Upsert(c->mutable_transform_sets(), edit.put_transform_set(),
             [](const v1::TransformSet& t) { return t.name(); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeleteTransformSet:
      return Remove(c->mutable_transform_sets(),
                    [&](const v1::TransformSet& t) { return t.name() == edit.delete_transform_set(); },
                    absl::StrCat("transform set ", edit.delete_transform_set()));
    case v1::ConfigEdit::kPutAccessList:
      Upsert(c->mutable_access_lists(), edit.put_access_list(),
             [](const v1::AccessList& a) { return a.name(); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeleteAccessList:
      return Remove(c->mutable_access_lists(),
                    [&](const v1::AccessList& a) { return a.name() == edit.delete_access_list(); },
                    absl::StrCat("access list ", edit.delete_access_list()));
    case v1::ConfigEdit::kPutCryptoMap:
      Upsert(c->mutable_crypto_maps(), edit.put_crypto_map(),
             [](const v1::CryptoMap& m) { return m.name(); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeleteCryptoMap:
      return Remove(c->mutable_crypto_maps(),
                    [&](const v1::CryptoMap& m) { return m.name() == edit.delete_crypto_map(); },
                    absl::StrCat("crypto map ", edit.delete_crypto_map()));
    case v1::ConfigEdit::kPutPreSharedKey:
      Upsert(c->mutable_pre_shared_keys(), edit.put_pre_shared_key(),
             [](const v1::PreSharedKey& p) { return PeerKey(p); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeletePreSharedKey: {
      const std::string key = PeerKey(edit.delete_pre_shared_key());
      for (auto& psk : *c->mutable_pre_shared_keys()) {
        if (PeerKey(psk) == key) WipePsk(&psk);
      }
      return Remove(c->mutable_pre_shared_keys(),
                    [&](const v1::PreSharedKey& p) { return PeerKey(p) == key; },
                    "pre-shared key for that peer");
    }
    case v1::ConfigEdit::kPutTrustpoint:
      Upsert(c->mutable_trustpoints(), edit.put_trustpoint(),
             [](const v1::Trustpoint& t) { return t.name(); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeleteTrustpoint:
      return Remove(c->mutable_trustpoints(),
                    [&](const v1::Trustpoint& t) { return t.name() == edit.delete_trustpoint(); },
                    absl::StrCat("trustpoint ", edit.delete_trustpoint()));
    case v1::ConfigEdit::kPutRsaPublicKey:
      Upsert(c->mutable_rsa_public_keys(), edit.put_rsa_public_key(),
             [](const v1::RsaPublicKey& k) { return RsaKeyPeer(k); });
      return absl::OkStatus();
    case v1::ConfigEdit::kDeleteRsaPublicKey: {
      const std::string key = RsaKeyPeer(edit.delete_rsa_public_key());
      return Remove(c->mutable_rsa_public_keys(),
                    [&](const v1::RsaPublicKey& k) { return RsaKeyPeer(k) == key; },
                    "pubkey-chain key for that peer");
    }
    case v1::ConfigEdit::EDIT_NOT_SET:
      return absl::InvalidArgumentError("an edit names no change");
  }
  return absl::InvalidArgumentError("unknown kind of edit");
}

// Deterministic order, so that two equal configurations compare and print
// equal: policies by priority, everything else by name, entries by sequence.
void Normalize(v1::IkeConfig* c) {
  auto& pol = *c->mutable_isakmp_policies();
  std::sort(pol.begin(), pol.end(), [](const auto& a, const auto& b) { return a.priority() < b.priority(); });
  auto by_name = [](const auto& a, const auto& b) { return a.name() < b.name(); };
  std::sort(c->mutable_transform_sets()->begin(), c->mutable_transform_sets()->end(), by_name);
  std::sort(c->mutable_access_lists()->begin(), c->mutable_access_lists()->end(), by_name);
  std::sort(c->mutable_crypto_maps()->begin(), c->mutable_crypto_maps()->end(), by_name);
  std::sort(c->mutable_trustpoints()->begin(), c->mutable_trustpoints()->end(), by_name);
  std::sort(c->mutable_rsa_public_keys()->begin(), c->mutable_rsa_public_keys()->end(),
            [](const auto& a, const auto& b) { return RsaKeyPeer(a) < RsaKeyPeer(b); });
  auto by_seq = [](const auto& a, const auto& b) { return a.sequence() < b.sequence(); };
  for (auto& acl : *c->mutable_access_lists()) {
    std::sort(acl.mutable_entries()->begin(), acl.mutable_entries()->end(), by_seq);
  }
  for (auto& map : *c->mutable_crypto_maps()) {
    std::sort(map.mutable_entries()->begin(), map.mutable_entries()->end(), by_seq);
  }
}

}  // namespace


ConfigStore::ConfigStore(const Clock* clock) : clock_(clock) {}

ConfigStore::~ConfigStore() { WipeAll(&current_); }

v1::IkeConfig ConfigStore::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  v1::IkeConfig out = current_;
  secrets::RedactIkeConfig(&out);
  return out;
}

uint64_t ConfigStore::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.revision().number();
}

absl::StatusOr<EditResult> ConfigStore::Edit(
    const google::protobuf::RepeatedPtrField<v1::ConfigEdit>& edits,
    uint64_t expected_revision, bool validate_only) {
  if (edits.empty()) return absl::InvalidArgumentError("no edits given");
  // Writers take turns to the end of their change; current_ changes only
  // under apply_mu_, so reading it here needs no other lock.
  std::lock_guard<std::mutex> apply(apply_mu_);
  v1::IkeConfig candidate = current_;
  for (int i = 0; i < edits.size(); ++i) {
    v1::ConfigEdit edit = edits.Get(i);
    CarryOverSecrets(current_, &edit);
    absl::Status st = ApplyEdit(edit, &candidate);
    WipeEdit(&edit);
    if (!st.ok()) {
      WipeAll(&candidate);
      return absl::Status(st.code(), absl::StrCat("edit ", i + 1, ": ", st.message()));
    }
  }
  return Commit(std::move(candidate), expected_revision, validate_only);
}

absl::StatusOr<EditResult> ConfigStore::Replace(const v1::IkeConfig& config,
                                                uint64_t expected_revision,
                                                bool validate_only) {
  std::lock_guard<std::mutex> apply(apply_mu_);
  v1::IkeConfig candidate = config;
  candidate.clear_revision();
  CarryOverSecrets(current_, &candidate);
  return Commit(std::move(candidate), expected_revision, validate_only);
}

absl::StatusOr<EditResult> ConfigStore::Commit(v1::IkeConfig candidate,
                                               uint64_t expected_revision,
                                               bool validate_only) {
  const uint64_t now_rev = current_.revision().number();  // writers hold apply_mu_
  if (expected_revision != 0 && expected_revision != now_rev) {
    WipeAll(&candidate);
    return absl::FailedPreconditionError(absl::StrCat(
        "configuration is at revision ", now_rev, ", not ", expected_revision,
        "; read it again and retry"));
  }
  Normalize(&candidate);
  ValidationResult result = ValidateIkeConfig(candidate);
  if (!result.ok()) {
    WipeAll(&candidate);
    return result.ToStatus();
  }
  EditResult out;
  out.warnings = result.Warnings();
  if (validate_only) {
    WipeAll(&candidate);
    out.revision = now_rev;
    out.changed_unix_seconds = current_.revision().changed_unix_seconds();
    return out;
  }
  out.revision = now_rev + 1;
  out.changed_unix_seconds = absl::ToUnixSeconds(clock_->Now());
  candidate.mutable_revision()->set_number(out.revision);
  candidate.mutable_revision()->set_changed_unix_seconds(out.changed_unix_seconds);
  // Applied before it is stored, outside the readers' lock: a refusal (the
  // dataplane would not take the policies) leaves the stored revision in
  // force, and the engine goes back to it.
  if (listener_) {
    if (absl::Status st = listener_(candidate); !st.ok()) {
      WipeAll(&candidate);
      if (absl::Status back = listener_(current_); !back.ok()) {
        return absl::Status(st.code(),
                            absl::StrCat("not applied: ", st.message(), "; restoring revision ",
                                         now_rev, " failed too: ", back.message()));
      }
      return absl::Status(st.code(), absl::StrCat("not applied: ", st.message(), "; revision ",
                                                  now_rev, " stays in force"));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  WipeAll(&current_);
  current_ = std::move(candidate);
  return out;
}

absl::Status ConfigStore::SetListener(Listener listener) {
  std::lock_guard<std::mutex> apply(apply_mu_);
  listener_ = std::move(listener);
  return listener_(current_);
}

}  // namespace vpnfleet::ike
