#include "services/ike/sa/ike_session.h"

#include "absl/strings/match.h"
#include "services/ike/auth/certificates.h"

namespace vpnfleet::ike {

void FillFromPolicy(const ChildPolicy& cp, size_t proposal_index, ChildSa* c) {
  c->transport = cp.transport;
  c->crypto_map = cp.crypto_map;
  c->sequence = cp.sequence;
  c->acl_line = cp.acl_line;
  c->spd_priority = cp.spd_priority;
  c->transform_set =
      proposal_index < cp.transform_sets.size() ? cp.transform_sets[proposal_index] : "";
  c->reqid = cp.reqid;
  c->lifetime_seconds = cp.lifetime_seconds;
  c->lifetime_kilobytes = cp.lifetime_kilobytes;
  c->replay_window = cp.replay_window;
}

absl::Time ChildRekeyAt(absl::Time now, uint64_t lifetime_seconds, Rng& rng) {
  if (lifetime_seconds == 0) return absl::InfiniteFuture();
  const double life = static_cast<double>(lifetime_seconds);
  const double frac = 0.85 + 0.05 * static_cast<double>(rng.U32() % 1000) / 1000.0;
  return now + absl::Seconds(life * frac);
}

std::optional<SecretBytes> FindPreSharedKey(const std::vector<PskEntry>& psks,
                                            const net::IpAddress& remote,
                                            const v2::IdPayload* peer_id) {
  // A key for the peer's name wins; otherwise the longest address match,
  // like IOS's `crypto isakmp key ... address` lookup (0.0.0.0 0.0.0.0 last).
  if (peer_id != nullptr && peer_id->id_type == auth::kIdFqdn) {
    for (const PskEntry& e : psks) {
      if (!e.hostname.empty() && absl::EqualsIgnoreCase(e.hostname, peer_id->data)) return e.key;
    }
  }
  const PskEntry* best = nullptr;
  for (const PskEntry& e : psks) {
    if (e.address && e.address->Contains(remote) &&
        (best == nullptr || e.address->length > best->address->length)) {
      best = &e;
    }
  }
  if (best != nullptr) return best->key;
  return std::nullopt;
}

}  // namespace vpnfleet::ike
