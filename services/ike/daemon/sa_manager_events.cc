// SaManager, part: what the dataplane tells us (a packet that needs an SA,
// an SA at the end of its life, ESP on an SPI it does not know).
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "services/ike/daemon/sa_manager.h"

namespace vpnfleet::ike {
namespace {

namespace dv1 = vpnfleet::dataplane::v1;

std::string RawOf(const std::string& text) {
  auto a = net::ParseAddress(text);
  if (!a.ok()) return "";
  return std::string(reinterpret_cast<const char*>(a->bytes.data()),
                     a->family == net::Family::kV4 ? 4 : 16);
}

}  // namespace

void SaManager::OnDataplaneEvent(const dv1::DataplaneEvent& ev) {
  if (ev.has_acquire()) {
    OnAcquire(ev.acquire());
  } else if (ev.has_expire()) {
    OnExpire(ev.expire());
  } else if (ev.has_unknown_spi()) {
    OnUnknownSpi(ev.unknown_spi());
  }
}

void SaManager::OnAcquire(const dv1::Acquire& a) {
  const StaticEntry* entry = nullptr;
  for (const StaticEntry& s : book_.statics()) {
    if (s.child.reqid == a.reqid()) entry = &s;
  }
  if (entry == nullptr) return;  // a dynamic map never initiates
  std::optional<std::pair<v2::TrafficSelector, v2::TrafficSelector>> flow;
  const std::string src = RawOf(a.flow().source().address());
  const std::string dst = RawOf(a.flow().destination().address());
  if (!src.empty() && !dst.empty()) flow = std::make_pair(HostSelector(src), HostSelector(dst));
  // An IKE SA to that peer, up or on its way, gets the child (once: the
  // acquire may race the install, or the line may already be queued);
  // else start one.
  int index = -1;
  if (Entry* e = LiveSaFor(*entry, &index)) {
    if (!e->sa->HasChildFor(static_cast<size_t>(index), flow)) {
      Execute(*e, e->sa->AddChild(static_cast<size_t>(index), flow));
    }
    return;
  }
  StartInitiator(*entry, flow);
}

void SaManager::OnUnknownSpi(const dv1::UnknownSpi& u) {
  if (!book_.invalid_spi_recovery()) {
    metrics_.invalid_spi.Add({{"action", "ignored"}}).Increment();
    return;
  }
  auto peer = net::ParseAddress(u.source());
  if (!peer.ok()) return;
  const absl::Time now = clock_->Now();
  auto last = invalid_spi_last_.find(u.source());
  if (last != invalid_spi_last_.end() && now - last->second < absl::Seconds(10)) return;
  invalid_spi_last_[u.source()] = now;
  if (invalid_spi_last_.size() > 4096) invalid_spi_last_.clear();  // bounded under a flood
  // §2.21.4: over an IKE SA we have with the sender, say INVALID_SPI.
  for (auto& [id, e] : by_conn_) {
    if (e->busy) continue;  // a responder before IKE_AUTH, held by a worker
    if (e->sa->state() == IkeState::kEstablished && e->sa->remote().address == *peer) {
      metrics_.invalid_spi.Add({{"action", "notified"}}).Increment();
      Execute(*e, e->sa->NotifyInvalidSpi(u.spi()));
      return;
    }
  }
  // None (we restarted and lost them): as IOS does, start an IKE SA to a
  // peer a static entry names; its INITIAL_CONTACT makes the peer drop the
  // stale SAs it still sends on.
  for (const StaticEntry& s : book_.statics()) {
    if (s.peer == *peer) {
      log::Info("invalid SPI from a peer without IKE SA: initiating",
                {{"peer", u.source()}, {"spi", std::to_string(u.spi())}});
      metrics_.invalid_spi.Add({{"action", "initiated"}}).Increment();
      StartInitiator(s, std::nullopt);
      return;
    }
  }
  metrics_.invalid_spi.Add({{"action", "ignored"}}).Increment();
}

void SaManager::OnExpire(const dv1::Expire& x) {
  for (auto& [id, e] : by_conn_) {
    if (e->busy) continue;  // a responder before IKE_AUTH: no children yet
    for (const ChildSa& c : e->sa->children()) {
      if (c.spi_in != x.key().spi() && c.spi_out != x.key().spi()) continue;
      Execute(*e, x.hard() ? e->sa->CloseChild(c.spi_in, "lifetime expired")
                           : e->sa->RekeyChild(c.spi_in));
      return;
    }
  }
}

}  // namespace vpnfleet::ike
