#include "common/secrets/ike_config_secrets.h"

#include "common/crypto/zeroize.h"

namespace vpnfleet::secrets {
void RedactIkeConfig(vpnfleet::ike::v1::IkeConfig* config) {
  for (auto& psk : *config->mutable_pre_shared_keys()) {
    if (!psk.key().empty()) psk.set_key_set(true);
    crypto::ZeroizeString(psk.mutable_key());
  }
  for (auto& map : *config->mutable_crypto_maps()) {
    for (auto& e : *map.mutable_entries()) {
      for (auto& k : *e.mutable_session_keys()) {
        if (!k.cipher_key().empty()) k.set_cipher_key_set(true);
        if (!k.authenticator_key().empty()) k.set_authenticator_key_set(true);
        crypto::ZeroizeString(k.mutable_cipher_key());
        crypto::ZeroizeString(k.mutable_authenticator_key());
      }
    }
  }
}

void WipeIkeConfig(vpnfleet::ike::v1::IkeConfig* config) {
  for (auto& psk : *config->mutable_pre_shared_keys()) crypto::ZeroizeString(psk.mutable_key());
  for (auto& map : *config->mutable_crypto_maps()) {
    for (auto& e : *map.mutable_entries()) {
      for (auto& k : *e.mutable_session_keys()) {
        crypto::ZeroizeString(k.mutable_cipher_key());
        crypto::ZeroizeString(k.mutable_authenticator_key());
      }
    }
  }
}

void WipeIkeEdits(google::protobuf::RepeatedPtrField<vpnfleet::ike::v1::ConfigEdit>* edits) {
  for (auto& e : *edits) {
    if (e.has_put_pre_shared_key()) crypto::ZeroizeString(e.mutable_put_pre_shared_key()->mutable_key());
    if (e.has_put_crypto_map()) {
      for (auto& entry : *e.mutable_put_crypto_map()->mutable_entries()) {
        for (auto& k : *entry.mutable_session_keys()) {
          crypto::ZeroizeString(k.mutable_cipher_key());
          crypto::ZeroizeString(k.mutable_authenticator_key());
        }
      }
    }
  }
}

}  // namespace vpnfleet::secrets
