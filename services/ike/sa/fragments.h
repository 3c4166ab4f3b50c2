// Reassembly of IKEv2 fragments (RFC 7383 §2.6): SKF payloads that each
// opened (were authenticated and decrypted) on their own, put back into
// the one message they came from. Bounded: one message at a time per
// direction, at most kMaxFragments pieces and kMaxBytes of plaintext, and
// a partial message is forgotten kTimeout after its first fragment.
#ifndef VPNFLEET_SERVICES_IKE_SA_FRAGMENTS_H_
#define VPNFLEET_SERVICES_IKE_SA_FRAGMENTS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/random/rng.h"
#include "services/ike/crypto/sk_cipher.h"

namespace vpnfleet::ike {

// §2.5: `inner` (an encoded payload chain) split in order into SKF
// fragments, each sealed on its own so that its IKE message is at most
// `max_message` octets. Errors when that leaves no room, or when more than
// FragmentReassembly::kMaxFragments would be needed.
absl::StatusOr<std::vector<std::string>> SealFragments(const SkCipher& cipher,
                                                       const v2::Header& header,
                                                       uint8_t first_inner,
                                                       absl::string_view inner,
                                                       size_t max_message, Rng& rng);

class FragmentReassembly {
 public:
  static constexpr uint16_t kMaxFragments = 64;
  static constexpr size_t kMaxBytes = 64 * 1024;
  static constexpr absl::Duration kTimeout = absl::Seconds(30);

  // What happened to a fragment.
  enum class Outcome { kKept, kComplete, kDropped };

  // Takes one opened fragment (total_fragments != 0). Returns kComplete
  // with the whole message in `*whole` (first_inner from fragment 1) once
  // every fragment is in. A fragment of another message ID or total starts
  // over (§2.6.2: the sender changed its mind, or this is a new message).
  Outcome Add(SkCipher::Opened fragment, absl::Time now, SkCipher::Opened* whole);

  // Forgets a partial message older than kTimeout.
  void Expire(absl::Time now);

  bool empty() const { return parts_.empty(); }
  size_t bytes() const { return bytes_; }

 private:
  void Clear();

  uint32_t message_id_ = 0;
  uint16_t total_ = 0;
  uint8_t first_inner_ = 0;
  size_t bytes_ = 0;
  absl::Time started_;
  std::map<uint16_t, std::string> parts_;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_SA_FRAGMENTS_H_
