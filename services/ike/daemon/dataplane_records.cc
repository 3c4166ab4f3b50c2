#include "services/ike/daemon/dataplane_records.h"

#include "absl/strings/str_cat.h"
#include "services/ike/sa/proposals.h"
#include "services/ike/sa/traffic_selectors.h"

namespace vpnfleet::ike {

namespace cv1 = vpnfleet::common::v1;
namespace dv1 = vpnfleet::dataplane::v1;

dv1::SaKey SaKeyOf(const ChildSa& c, bool inbound) {
  dv1::SaKey key;
  key.set_spi(inbound ? c.spi_in : c.spi_out);
  key.set_destination(inbound ? c.local.address.ToString() : c.remote.address.ToString());
  key.set_protocol(cv1::IPSEC_PROTOCOL_ESP);
  return key;
}

std::string SaKeyText(const dv1::SaKey& key) {
  return absl::StrCat(key.spi(), "@", key.destination(), "/", key.protocol());
}

dv1::SecurityAssociation SaRecordOf(const ChildSa& c, bool inbound, uint32_t reqid) {
  dv1::SecurityAssociation sa;
  const std::string local = c.local.address.ToString(), remote = c.remote.address.ToString();
  *sa.mutable_key() = SaKeyOf(c, inbound);
  sa.set_direction(inbound ? cv1::DIRECTION_INBOUND : cv1::DIRECTION_OUTBOUND);
  sa.set_mode(c.transport ? cv1::IPSEC_MODE_TRANSPORT : cv1::IPSEC_MODE_TUNNEL);
  sa.set_tunnel_source(inbound ? remote : local);
  sa.set_tunnel_destination(inbound ? local : remote);
  sa.set_encryption(EncryptionOf(c.suite.encr, c.suite.key_bits));
  sa.set_encryption_key(std::string(inbound ? c.encr_in.view() : c.encr_out.view()));
  sa.set_integrity(IntegrityOf(c.suite.integ));
  if (c.suite.integ != 0) {
    sa.set_integrity_key(std::string(inbound ? c.integ_in.view() : c.integ_out.view()));
  }
  sa.set_extended_sequence_numbers(c.suite.esn);
  if (c.replay_window == 0) {
    sa.mutable_replay()->set_disabled(true);
  } else {
    sa.mutable_replay()->set_size(c.replay_window);
  }
  // The dataplane warns (soft) at 90% of the volume and stops at the limit;
  // time-based rekeys are the IKE SA's own timer.
  sa.mutable_hard_lifetime()->set_seconds(c.lifetime_seconds + 30);
  if (c.lifetime_kilobytes != 0) {
    sa.mutable_hard_lifetime()->set_kilobytes(c.lifetime_kilobytes);
    sa.mutable_soft_lifetime()->set_kilobytes(c.lifetime_kilobytes * 9 / 10);
  }
  if (c.udp_encap) {
    sa.mutable_udp_encapsulation()->set_source_port(c.local.port);
    sa.mutable_udp_encapsulation()->set_destination_port(c.remote.port);
  }
  for (const cv1::TrafficSelector& ts : inbound ? SpdSelectorsOf(c.remote_ts, c.local_ts)
                                                : SpdSelectorsOf(c.local_ts, c.remote_ts)) {
    *sa.add_selectors() = ts;
  }
  sa.set_reqid(reqid);
  sa.set_copy_dscp(true);
  sa.set_crypto_map(c.crypto_map);
  sa.set_crypto_map_sequence(c.sequence);
  sa.set_peer(remote);
  return sa;
}

std::vector<dv1::SpdPolicy> SpdPoliciesOf(const dv1::SpdPolicy& base, const TsList& local_ts,
                                          const TsList& remote_ts, const std::string& local,
                                          const std::string& peer) {
  std::vector<dv1::SpdPolicy> out;
  for (bool inbound : {false, true}) {
    for (const cv1::TrafficSelector& ts : inbound ? SpdSelectorsOf(remote_ts, local_ts)
                                                  : SpdSelectorsOf(local_ts, remote_ts)) {
      dv1::SpdPolicy p = base;
      p.set_direction(inbound ? cv1::DIRECTION_INBOUND : cv1::DIRECTION_OUTBOUND);
      *p.mutable_selector() = ts;
      if (!peer.empty()) {
        p.set_peer(peer);
        p.set_tunnel_source(inbound ? peer : local);
        p.set_tunnel_destination(inbound ? local : peer);
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace vpnfleet::ike
