#include "services/ike/daemon/sa_status.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "common/bytes/big_endian.h"
#include "services/ike/sa/ikev1_sa.h"
#include "services/ike/sa/proposals.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {
namespace {

namespace cv1 = vpnfleet::common::v1;
namespace v1 = vpnfleet::ike::v1;

// The API's name for an AUTH method; an RFC 7427 signature by its key type.
v1::AuthMethod AuthMethodOf(uint8_t method, bool ec_key) {
  switch (method) {
    case auth::kAuthSharedKey: return v1::AUTH_METHOD_PRE_SHARE;
    case auth::kAuthEcdsaP256:
    case auth::kAuthEcdsaP384:
    case auth::kAuthEcdsaP521: return v1::AUTH_METHOD_ECDSA_SIG;
    case auth::kAuthRsaSignature: return v1::AUTH_METHOD_RSA_SIG;
    case auth::kAuthRsaEncryptedNonces: return v1::AUTH_METHOD_RSA_ENCR;
    case auth::kAuthDigitalSignature: return ec_key ? v1::AUTH_METHOD_ECDSA_SIG : v1::AUTH_METHOD_RSA_SIG;
    default: return v1::AUTH_METHOD_UNSPECIFIED;
  }
}

std::string Spi64(uint64_t v) {
  std::string s(8, '\0');
  bytes::StoreBe64(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}

std::string KeyText(uint32_t spi, const std::string& destination) {
  return absl::StrCat(spi, "@", destination);
}

}  // namespace

v1::IkeSaState ApiState(IkeState s) {
  switch (s) {
    case IkeState::kIdle:
    case IkeState::kInitSent:
    case IkeState::kInitDone:
    case IkeState::kAuthSent: return v1::IKE_SA_STATE_CONNECTING;
    case IkeState::kEstablished: return v1::IKE_SA_STATE_ESTABLISHED;
    case IkeState::kRekeyed: return v1::IKE_SA_STATE_REKEYING;
    case IkeState::kDeleting:
    case IkeState::kDead: return v1::IKE_SA_STATE_DELETING;
  }
  return v1::IKE_SA_STATE_UNSPECIFIED;
}

// IKEv1's IOS state names (Ikev1Sa::StateName) as the API's enum.
v1::IkeSaState Ikev1ApiState(absl::string_view name, IkeState general) {
  if (general == IkeState::kDead || general == IkeState::kDeleting) {
    return v1::IKE_SA_STATE_DELETING;
  }
  static const std::pair<const char*, v1::IkeSaState> kNames[] = {
      {"MM_NO_STATE", v1::IKE_SA_STATE_MM_NO_STATE},
      {"MM_SA_SETUP", v1::IKE_SA_STATE_MM_SA_SETUP},
      {"MM_KEY_EXCH", v1::IKE_SA_STATE_MM_KEY_EXCH},
      {"MM_KEY_AUTH", v1::IKE_SA_STATE_MM_KEY_AUTH},
      {"AG_NO_STATE", v1::IKE_SA_STATE_AG_NO_STATE},
      {"AG_INIT_EXCH", v1::IKE_SA_STATE_AG_INIT_EXCH},
      {"QM_IDLE", v1::IKE_SA_STATE_QM_IDLE},
  };
  for (const auto& [text, state] : kNames) {
    if (name == text) return state;
  }
  return v1::IKE_SA_STATE_CONNECTING;
}

void DescribeIkeSa(uint64_t conn_id, const IkeSession& sa, absl::Time now, v1::IkeSa* out) {
  out->set_conn_id(conn_id);
  if (sa.version() == 1) {
    out->set_version(v1::IKE_VERSION_1);
    out->set_state(Ikev1ApiState(sa.StateName(), sa.state()));
    out->set_aggressive_mode(static_cast<const Ikev1Sa&>(sa).aggressive());
  } else {
    out->set_version(v1::IKE_VERSION_2);
    out->set_state(ApiState(sa.state()));
  }
  out->set_initiator(sa.initiator());
  out->set_local_address(sa.local().address.ToString());
  out->set_local_port(sa.local().port);
  out->set_remote_address(sa.remote().address.ToString());
  out->set_remote_port(sa.remote().port);
  out->set_local_id(IdentityText(sa.local_id()));
  out->set_remote_id(IdentityText(sa.remote_id()));
  out->set_initiator_spi(Spi64(sa.spi_i()));
  out->set_responder_spi(Spi64(sa.spi_r()));
  out->set_encryption(EncryptionOf(sa.suite().encr, sa.suite().key_bits));
  out->set_integrity(IntegrityOf(sa.suite().integ));
  out->set_prf(PrfOf(sa.suite().prf));
  out->set_group(static_cast<cv1::DhGroup>(sa.suite().dh));
  out->set_authentication(AuthMethodOf(sa.remote_auth_method(), sa.remote_key_ec()));
  out->set_local_authentication(AuthMethodOf(sa.local_auth_method(), sa.local_key_ec()));
  out->set_remote_certificate_subject(sa.remote_subject());
  out->set_nat_detected_local(sa.nat_local());
  out->set_nat_detected_remote(sa.nat_remote());
  if (sa.state() == IkeState::kEstablished) {
    out->set_established_unix_seconds(absl::ToUnixSeconds(sa.established_at()));
    out->set_lifetime_remaining_seconds(
        static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Seconds(sa.expires_at() - now))));
  }
  out->set_rekeys(sa.stats().rekeys);
  out->set_retransmits(sa.stats().retransmits);
  const int idx = sa.child_policy_index();
  if (idx >= 0 && static_cast<size_t>(idx) < sa.policy().children.size()) {
    out->set_crypto_map(sa.policy().children[static_cast<size_t>(idx)].crypto_map);
    out->set_crypto_map_sequence(sa.policy().children[static_cast<size_t>(idx)].sequence);
  }
}

void DescribeChildSa(uint64_t conn_id, const ChildSa& c, absl::Time now, v1::ChildSa* o) {
  o->set_ike_conn_id(conn_id);
  o->set_crypto_map(c.crypto_map);
  o->set_crypto_map_sequence(c.sequence);
  const auto sel = SpdSelectorsOf(c.local_ts, c.remote_ts);
  if (!sel.empty()) {
    o->mutable_local_ident()->mutable_source()->CopyFrom(sel[0].source());
    o->mutable_local_ident()->set_protocol(sel[0].protocol());
    o->mutable_remote_ident()->mutable_source()->CopyFrom(sel[0].destination());
    o->mutable_remote_ident()->set_protocol(sel[0].protocol());
  }
  o->set_local_endpoint(c.local.address.ToString());
  o->set_remote_endpoint(c.remote.address.ToString());
  o->set_remote_port(c.remote.port);
  o->set_inbound_spi(c.spi_in);
  o->set_outbound_spi(c.spi_out);
  o->set_protocol(cv1::IPSEC_PROTOCOL_ESP);
  o->set_mode(c.transport ? cv1::IPSEC_MODE_TRANSPORT : cv1::IPSEC_MODE_TUNNEL);
  o->set_transform_set(c.transform_set);
  o->set_encryption(EncryptionOf(c.suite.encr, c.suite.key_bits));
  o->set_integrity(IntegrityOf(c.suite.integ));
  o->set_pfs_group(static_cast<cv1::DhGroup>(c.suite.dh));
  const int64_t age = absl::ToInt64Seconds(now - c.established);
  o->set_remaining_seconds(static_cast<uint64_t>(
      std::max<int64_t>(0, static_cast<int64_t>(c.lifetime_seconds) - age)));
  o->set_remaining_kilobytes(c.lifetime_kilobytes);
  o->set_replay_detection(c.replay_window != 0);
  o->set_udp_encapsulated(c.udp_encap);
}

void AddCounters(const std::vector<SaCounterEntry>& counters, v1::ListChildSasResponse* out) {
  std::unordered_map<std::string, const cv1::IpsecSaCounters*> by_key;
  by_key.reserve(counters.size());
  for (const SaCounterEntry& e : counters) {
    by_key[KeyText(e.key().spi(), e.key().destination())] = &e.counters();
  }
  for (v1::ChildSa& o : *out->mutable_child_sas()) {
    cv1::IpsecSaCounters* sum = o.mutable_counters();
    auto in = by_key.find(KeyText(o.inbound_spi(), o.local_endpoint()));
    if (in != by_key.end()) {
      const cv1::IpsecSaCounters& k = *in->second;
      sum->set_pkts_decaps(k.pkts_decaps());
      sum->set_pkts_decrypt(k.pkts_decrypt());
      sum->set_pkts_verify(k.pkts_verify());
      sum->set_recv_errors(k.recv_errors());
      sum->set_replay_failures(k.replay_failures());
      sum->set_integrity_failures(k.integrity_failures());
      sum->set_policy_failures(k.policy_failures());
      sum->set_bytes_in(k.bytes_in());
      // The dataplane's count (RemainingKilobytes): what the inbound SA has
      // carried against its volume lifetime.
      const uint64_t used = k.bytes_in() / 1024;
      o.set_remaining_kilobytes(used >= o.remaining_kilobytes() ? 0
                                                                : o.remaining_kilobytes() - used);
      sum->set_last_used_unix_seconds(k.last_used_unix_seconds());
    }
    auto outb = by_key.find(KeyText(o.outbound_spi(), o.remote_endpoint()));
    if (outb != by_key.end()) {
      const cv1::IpsecSaCounters& k = *outb->second;
      sum->set_pkts_encaps(k.pkts_encaps());
      sum->set_pkts_encrypt(k.pkts_encrypt());
      sum->set_pkts_digest(k.pkts_digest());
      sum->set_send_errors(k.send_errors());
      sum->set_bytes_out(k.bytes_out());
      sum->set_last_used_unix_seconds(
          std::max(sum->last_used_unix_seconds(), k.last_used_unix_seconds()));
    }
  }
}

}  // namespace vpnfleet::ike
