// SaManager, part: what operators ask for (status, initiate, terminate)
// and the event stream they watch.
#include "services/ike/daemon/sa_manager.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/net/ip.h"
#include "services/ike/daemon/sa_status.h"

namespace vpnfleet::ike {

namespace v1 = vpnfleet::ike::v1;

void SaManager::Emit(v1::IkeEvent event) {
  event.set_unix_nanos(absl::ToUnixNanos(clock_->Now()));
  auto it = by_conn_.find(event.ike_conn_id());
  if (it != by_conn_.end() && !it->second->busy) event.set_remote_address(it->second->sa->remote().address.ToString());
  std::lock_guard<std::mutex> lock(sinks_mu_);
  for (auto& [id, sink] : sinks_) sink(event);
}

uint64_t SaManager::Subscribe(EventSink sink) {
  std::lock_guard<std::mutex> lock(sinks_mu_);
  const uint64_t id = next_sink_++;
  sinks_[id] = std::move(sink);
  return id;
}

void SaManager::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(sinks_mu_);
  sinks_.erase(id);
}

namespace {

// The peer filter of a status request: any peer when empty; an address
// that does not parse matches none. Compared as addresses, not as text, so
// that a million SAs are not each printed to be compared.
struct PeerFilter {
  explicit PeerFilter(const std::string& text) : any(text.empty()) {
    if (auto a = net::ParseAddress(text); a.ok()) address = *a;
  }
  bool Matches(const net::IpAddress& a) const { return any || (address && *address == a); }
  bool any;
  std::optional<net::IpAddress> address;
};

}  // namespace

void SaManager::ListPublicKeys(v1::ListPublicKeysResponse* out) const {
  if (const auto& key = book_.rsa_key()) {
    v1::PublicKey* k = out->add_keys();
    k->set_name(key->name());
    k->set_bits(static_cast<uint32_t>(key->size_octets() * 8));
    k->set_key(key->public_der());
    k->set_usage("rsa-encr");
  }
}

void SaManager::ListIkeSas(const v1::ListIkeSasRequest& req, v1::ListIkeSasResponse* out) {
  const absl::Time now = clock_->Now();
  const PeerFilter peer(req.remote_address());
  for (const auto& [id, e] : by_conn_) {
    if (e->busy) {
      // A worker holds it: as it was when handed over.
      const v1::IkeSa& view = busy_[id].view;
      auto a = net::ParseAddress(view.remote_address());
      if (a.ok() && peer.Matches(*a)) *out->add_ike_sas() = view;
      continue;
    }
    if (!peer.Matches(e->sa->remote().address)) continue;
    DescribeIkeSa(e->conn_id, *e->sa, now, out->add_ike_sas());
  }
}

void SaManager::ListChildSas(const v1::ListChildSasRequest& req, v1::ListChildSasResponse* out) {
  const absl::Time now = clock_->Now();
  const PeerFilter peer(req.remote_address());
  for (const auto& [id, e] : by_conn_) {
    if (e->busy) continue;  // a responder before IKE_AUTH: no children yet
    for (const ChildSa& c : e->sa->children()) {
      if (!req.crypto_map().empty() && c.crypto_map != req.crypto_map()) continue;
      if (!peer.Matches(c.remote.address)) continue;
      DescribeChildSa(e->conn_id, c, now, out->add_child_sas());
    }
  }
}

void SaManager::AddChildCounters(v1::ListChildSasResponse* out) {
  if (out->child_sas().empty() || !sync_->connected()) return;
  // Counters live in the dataplane; one call brings all of them (a slow
  // dataplane delays this answer, never the engine).
  auto counters = sync_->CountersNow();
  if (counters.ok()) AddCounters(*counters, out);
}

absl::StatusOr<uint64_t> SaManager::Initiate(const v1::InitiateRequest& req) {
  // Every permit line of the entry gets its CHILD SA, all under one IKE SA
  // to the entry's first matching peer.
  std::optional<net::IpAddress> peer;
  uint64_t conn_id = 0;
  for (const StaticEntry& s : book_.statics()) {
    if (s.child.crypto_map != req.crypto_map() || s.child.sequence != req.sequence()) continue;
    if (!req.peer().empty() && s.peer.ToString() != req.peer()) continue;
    if (peer && !(*peer == s.peer)) continue;
    peer = s.peer;
    int index = -1;
    Entry* e = LiveSaFor(s, &index);
    if (e == nullptr) {
      e = StartInitiator(s, std::nullopt);
      if (e == nullptr) return absl::UnavailableError("no route to the peer");
    } else if (!e->sa->HasChildFor(static_cast<size_t>(index))) {
      Execute(*e, e->sa->AddChild(static_cast<size_t>(index), std::nullopt));
    }
    conn_id = e->conn_id;
  }
  if (peer) return conn_id;
  return absl::NotFoundError(absl::StrCat("no static crypto map entry ", req.crypto_map(), " ",
                                          req.sequence(),
                                          req.peer().empty() ? "" : " with peer " + req.peer()));
}

uint32_t SaManager::Terminate(const v1::TerminateRequest& req) {
  uint32_t n = 0;
  for (auto& [id, e] : by_conn_) {
    const bool match =
        (req.has_ike_conn_id() && e->conn_id == req.ike_conn_id()) ||
        (req.has_peer() && (e->busy ? busy_[id].view.remote_address()
                                    : e->sa->remote().address.ToString()) == req.peer()) ||
        (req.has_all() && req.all());
    if (!match) continue;
    if (e->busy) {
      busy_[id].close_reason = "terminated by operator";  // once its worker is done
      ++n;
      continue;
    }
    if (e->sa->state() == IkeState::kDead) continue;
    Execute(*e, e->sa->Close("terminated by operator"));
    ++n;
  }
  return n;
}

}  // namespace vpnfleet::ike
