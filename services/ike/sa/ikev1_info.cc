// Ikev1Sa, part: Informational exchanges (RFC 2408 §4.8, RFC 2409 §5.7):
// one message each, HASH(1) = prf(SKEYID_a, M-ID | N/D) first, its own IV.
// Delete of the ISAKMP SA or of ESP SPIs, DPD (RFC 3706 R-U-THERE and its
// ACK), INVALID-SPI; before phase 1 has keys, an unprotected error
// notification of the responder ends our attempt.
#include <openssl/crypto.h>

#include "absl/strings/str_cat.h"
#include "services/ike/sa/ikev1_payloads.h"
#include "services/ike/sa/ikev1_sa.h"

namespace vpnfleet::ike {
namespace {

using isakmp::Exchange;
using isakmp::Payload;
using isakmp::PayloadType;
using ikev1::Be32;
using ikev1::Load32;

constexpr uint8_t kInfo = static_cast<uint8_t>(Exchange::kInformational);

const char* ErrorName(uint16_t type) {
  switch (type) {
    case kV1NoProposalChosen: return "NO_PROPOSAL_CHOSEN";
    case kV1PayloadMalformed: return "MALFORMED";
    case kV1InvalidIdInformation: return "INVALID_ID_INFORMATION";
    case kV1AuthenticationFailed: return "AUTHENTICATION_FAILED";
    default: return "PEER_ERROR";
  }
}

}  // namespace

void Ikev1Sa::SendInformational(const std::vector<Payload>& payloads, Actions& out) {
  if (!cipher_ || skeyid_a_.empty()) return;
  uint32_t mid = 0;
  while (mid == 0) mid = env_.rng->U32();
  auto after = isakmp::EncodePayloads(payloads);
  if (!after.ok()) return;
  std::vector<Payload> m{isakmp::MakeData(PayloadType::kHash,
                                          ikev1::ExchangeHash(*hash_, skeyid_a_.view(), mid, *after))};
  m.insert(m.end(), payloads.begin(), payloads.end());
  std::string iv = ikev1::Phase2Iv(*hash_, p1_last_block_, mid, cipher_->block_size());
  auto d = SealWith(kInfo, mid, &iv, m);
  if (d.ok()) SendRaw(std::move(*d), out);
}

void Ikev1Sa::DropChildByOut(uint32_t spi_out, const std::string& reason, Actions& out) {
  for (size_t c = 0; c < children_.size(); ++c) {
    if (children_[c].spi_out != spi_out) continue;
    out.push_back(action::DeleteChild{children_[c].spi_in, children_[c].spi_out, reason});
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(c));
    return;
  }
}

void Ikev1Sa::SendDeleteChild(uint32_t spi_in, Actions& out) {
  // RFC 2408 §3.15: the SPI we receive on, which the peer sends to.
  isakmp::DeletePayload d;
  d.protocol = isakmp::kProtoEsp;
  d.spi_size = 4;
  d.spis.push_back(Be32(spi_in));
  SendInformational({isakmp::MakeDelete(std::move(d))}, out);
}

void Ikev1Sa::SendDpd(Actions& out) {
  isakmp::NotificationPayload n;
  n.type = kV1RUThere;
  n.spi = Cookies();
  n.data = Be32(dpd_->sequence);
  const absl::Time now = env_.clock->Now();
  dpd_->next_send = now + (policy_->dpd_retry > absl::ZeroDuration() ? policy_->dpd_retry
                                                                    : RetryAfter(dpd_->tries));
  ++stats_.dpd_sent;
  SendInformational({isakmp::MakeNotification(std::move(n))}, out);
}

void Ikev1Sa::ReceiveInformational(const isakmp::Framed& f, Actions& out) {
  const bool encrypted = (f.header.flags & isakmp::kFlagEncrypted) != 0;
  if (!encrypted) {
    // Unauthenticated: believed only while we wait for the responder's
    // first answer (the answer to a proposal it cannot take).
    auto p = isakmp::DecodePayloads(f.header.next_payload, f.body, false);
    const bool waiting = initiator_ && (v1state_ == Ikev1State::kMmNoState ||
                                        v1state_ == Ikev1State::kAgNoState);
    if (!p.ok() || !waiting) {
      ++stats_.dropped;
      return;
    }
    for (const Payload& x : *p) {
      const auto* n = std::get_if<isakmp::NotificationPayload>(&x.body);
      if (n != nullptr && n->type < 8192) {
        Fail(ErrorName(n->type), out, "the responder refused our first message");
        return;
      }
    }
    ++stats_.dropped;
    return;
  }
  if (!cipher_ || skeyid_a_.empty() || f.header.message_id == 0) {
    ++stats_.dropped;
    return;
  }
  std::string iv = ikev1::Phase2Iv(*hash_, p1_last_block_, f.header.message_id,
                                   cipher_->block_size());
  auto p = OpenWith(f, &iv);
  if (!p.ok() || p->empty() || p->front().type != static_cast<uint8_t>(PayloadType::kHash)) {
    ++stats_.dropped;
    return;
  }
  std::string after;
  for (size_t i = 1; i < p->size(); ++i) after += (*p)[i].raw;
  const std::string want =
      ikev1::ExchangeHash(*hash_, skeyid_a_.view(), f.header.message_id, after);
  const auto& got = std::get<isakmp::DataPayload>(p->front().body).data;
  if (got.size() != want.size() || CRYPTO_memcmp(got.data(), want.data(), want.size()) != 0) {
    ++stats_.dropped;
    return;
  }
  for (size_t i = 1; i < p->size(); ++i) {
    const Payload& x = (*p)[i];
    if (const auto* d = std::get_if<isakmp::DeletePayload>(&x.body)) {
      if (d->protocol == isakmp::kProtoIsakmp) {
        for (const std::string& spi : d->spis) {
          if (spi == Cookies()) {
            // The peer is gone: its IPsec SAs with it (as strongSwan does;
            // they would only keep a stale path alive).
            Forget("peer deleted the ISAKMP SA", out);
            return;
          }
        }
      } else if (d->protocol == isakmp::kProtoEsp && d->spi_size == 4) {
        for (const std::string& spi : d->spis) DropChildByOut(Load32(spi), "peer deleted it", out);
      }
      continue;
    }
    const auto* n = std::get_if<isakmp::NotificationPayload>(&x.body);
    if (n == nullptr) continue;
    if (n->type == kV1RUThere && n->data.size() == 4) {
      isakmp::NotificationPayload ack;
      ack.type = kV1RUThereAck;
      ack.spi = Cookies();
      ack.data = n->data;
      SendInformational({isakmp::MakeNotification(std::move(ack))}, out);
    } else if (n->type == kV1RUThereAck && n->data.size() == 4) {
      if (dpd_ && Load32(n->data) == dpd_->sequence) {
        dpd_.reset();
        next_dpd_check_ = env_.clock->Now() + policy_->dpd_interval;
      }
    } else if (n->type == kV1InvalidSpi && n->spi.size() == 4) {
      // The peer has no SA for an SPI we send to: that pair is dead.
      DropChildByOut(Load32(n->spi), "peer reported INVALID-SPI", out);
    } else if (n->type < 8192) {
      out.push_back(action::Failed{ErrorName(n->type), "notification from the peer"});
    }
  }
}

}  // namespace vpnfleet::ike
