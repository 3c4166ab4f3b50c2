// INFORMATIONAL (RFC 7296 §1.4): Delete of CHILD SAs and of the IKE SA, and
// the empty request that checks the peer is alive (§2.4; IOS `crypto isakmp
// keepalive`).
#include "services/ike/sa/ike_sa.h"
#include "services/ike/sa/notify.h"
#include "services/ike/sa/payloads.h"

namespace vpnfleet::ike {
namespace {

v2::Payload DeleteOf(uint8_t protocol, std::vector<std::string> spis) {
  v2::Payload p;
  p.type = static_cast<uint8_t>(v2::PayloadType::kDelete);
  v2::DeletePayload d;
  d.protocol = protocol;
  d.spi_size = protocol == kProtocolIke ? 0 : 4;
  d.spis = std::move(spis);
  p.body = std::move(d);
  return p;
}

}  // namespace

void IkeSa::HandleInformationalRequest(uint32_t mid, const std::vector<v2::Payload>& payloads,
                                       Actions& out) {
  const uint8_t exchange = static_cast<uint8_t>(v2::ExchangeType::kInformational);
  std::vector<std::string> deleted;
  for (const v2::Payload& p : payloads) {
    const auto* n = std::get_if<v2::NotifyPayload>(&p.body);
    if (n != nullptr && n->type == notify::kInvalidSpi && n->data.size() == 4) {
      // The peer has no SA for what we send it on: that pair is dead
      // (it restarted); dropping it lets traffic negotiate a new one.
      if (ChildSa* c = FindChildByOut(msg::Spi32Of(n->data))) {
        out.push_back(action::DeleteChild{c->spi_in, c->spi_out, "peer reports INVALID_SPI"});
        const uint32_t in = c->spi_in;
        children_.erase(std::remove_if(children_.begin(), children_.end(),
                                       [in](const ChildSa& x) { return x.spi_in == in; }),
                        children_.end());
      }
      continue;
    }
    const auto* d = std::get_if<v2::DeletePayload>(&p.body);
    if (d == nullptr) continue;
    if (d->protocol == kProtocolIke) {
      // §1.4.1: the whole IKE SA and its children go; the answer is empty.
      (void)SendResponse(exchange, mid, {}, out);
      DeleteAllChildren("peer deleted the IKE SA", out);
      outstanding_.reset();
      queue_.clear();
      SetState(IkeState::kDead, out);
      return;
    }
    if (d->protocol != kProtocolEsp) continue;
    for (const std::string& spi : d->spis) {
      // The peer names its inbound SPI: our outbound one. We answer with
      // our inbound SPI of the same pair.
      ChildSa* c = FindChildByOut(msg::Spi32Of(spi));
      if (c == nullptr) continue;
      deleted.push_back(msg::Spi32(c->spi_in));
      out.push_back(action::DeleteChild{c->spi_in, c->spi_out, "peer Delete"});
      const uint32_t in = c->spi_in;
      children_.erase(std::remove_if(children_.begin(), children_.end(),
                                     [in](const ChildSa& x) { return x.spi_in == in; }),
                      children_.end());
      // A Delete of the SA we are re-keying ends our rekey too (§2.25.1).
      for (auto it = queue_.begin(); it != queue_.end();) {
        it = (it->spi_in == in) ? queue_.erase(it) : std::next(it);
      }
    }
  }
  std::vector<v2::Payload> reply;
  if (!deleted.empty()) reply.push_back(DeleteOf(kProtocolEsp, std::move(deleted)));
  (void)SendResponse(exchange, mid, reply, out);
}

void IkeSa::HandleInformationalResponse(const std::vector<v2::Payload>& /*payloads*/,
                                        Actions& /*out*/) {
  // A Delete's answer names the peer's half of the pair, which we already
  // removed; a liveness answer only had to arrive (last_heard_ moved).
}

void IkeSa::StartInformational(const Pending& p, Actions& out) {
  std::vector<v2::Payload> payloads;
  switch (p.kind) {
    case Pending::Kind::kDpd:
      ++stats_.dpd_sent;
      break;
    case Pending::Kind::kDeleteChild: {
      if (p.orphan) {
        payloads.push_back(DeleteOf(kProtocolEsp, {msg::Spi32(p.spi_in)}));
        break;
      }
      ChildSa* c = FindChildByIn(p.spi_in);
      if (c == nullptr) return;
      payloads.push_back(DeleteOf(kProtocolEsp, {msg::Spi32(c->spi_in)}));
      out.push_back(action::DeleteChild{c->spi_in, c->spi_out, p.reason});
      const uint32_t in = c->spi_in;
      children_.erase(std::remove_if(children_.begin(), children_.end(),
                                     [in](const ChildSa& x) { return x.spi_in == in; }),
                      children_.end());
      break;
    }
    case Pending::Kind::kInvalidSpi:
      // §3.10.1: the data is the SPI of the packet we could not place.
      payloads.push_back(msg::Notify(notify::kInvalidSpi, msg::Spi32(p.spi_in), kProtocolEsp));
      break;
    case Pending::Kind::kDeleteIke:
      payloads.push_back(DeleteOf(kProtocolIke, {}));
      DeleteAllChildren(p.reason, out);
      SetState(IkeState::kDeleting, out);
      break;
    default:
      return;
  }
  if (!SendRequest(static_cast<uint8_t>(v2::ExchangeType::kInformational), payloads, p.kind, out)
           .ok()) {
    Fail("INTERNAL_ERROR", out);
  }
}

}  // namespace vpnfleet::ike
