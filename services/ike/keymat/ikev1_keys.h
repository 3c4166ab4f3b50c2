// The IKEv1 key schedule (RFC 2409 §5, §5.5, Appendix B): SKEYID for each
// authentication method, SKEYID_d/_a/_e, the phase-1 encryption key and
// IVs, the hashes that authenticate Main/Aggressive Mode and Quick Mode,
// and Quick Mode's KEYMAT. Pure functions of their inputs, like prf.h;
// the prf is the HMAC of the hash phase 1 negotiated.
#ifndef VPNFLEET_SERVICES_IKE_KEYMAT_IKEV1_KEYS_H_
#define VPNFLEET_SERVICES_IKE_KEYMAT_IKEV1_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/ike/keymat/prf.h"

namespace vpnfleet::ike::ikev1 {

// Phase-1 hash algorithm attribute values (RFC 2409 Appendix A; SHA-2 per
// the IANA registry, RFC 4868 truncation applying only to ESP/AH).
enum class HashId : uint16_t {
  kMd5 = 1,
  kSha1 = 2,
  kSha2_256 = 4,
  kSha2_384 = 5,
  kSha2_512 = 6,
};
const char* HashName(uint16_t id);

// The negotiated hash: its digest (the IVs, the encrypted-nonce SKEYID)
// and its HMAC (the prf of every derivation).
class Hash {
 public:
  // MD5 only with `allow_legacy`.
  static absl::StatusOr<Hash> ForId(uint16_t id, bool allow_legacy);
  uint16_t id() const { return id_; }
  size_t size() const { return size_; }
  SecretBytes Prf(absl::string_view key, absl::string_view data) const;
  std::string Digest(absl::string_view data) const;

 private:
  Hash(uint16_t id, size_t size, const char* name) : id_(id), size_(size), name_(name) {}
  uint16_t id_;
  size_t size_;
  const char* name_;
};

// SKEYID (§5): pre-shared keys prf(psk, Ni_b | Nr_b); signatures
// prf(Ni_b | Nr_b, g^xy); encrypted nonces prf(hash(Ni_b | Nr_b), CKY-I | CKY-R).
SecretBytes SkeyidPsk(const Hash& h, absl::string_view psk, absl::string_view ni,
                      absl::string_view nr);
SecretBytes SkeyidSignature(const Hash& h, absl::string_view ni, absl::string_view nr,
                            absl::string_view gxy);
SecretBytes SkeyidEncryptedNonces(const Hash& h, absl::string_view ni, absl::string_view nr,
                                  absl::string_view cky_i, absl::string_view cky_r);

struct Phase1Keys {
  SecretBytes skeyid, skeyid_d, skeyid_a, skeyid_e;
  SecretBytes encryption_key;  // SKEYID_e cut, or stretched per Appendix B
  std::string iv;              // the first message's IV: hash(g^xi | g^xr), block-sized
};

// SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0), SKEYID_a and SKEYID_e
// the same with the previous key first and 1, 2; the encryption key of
// `key_size` octets and the IV of `block_size` octets.
absl::StatusOr<Phase1Keys> DerivePhase1(const Hash& h, SecretBytes skeyid,
                                        absl::string_view gxy, absl::string_view cky_i,
                                        absl::string_view cky_r, absl::string_view gxi,
                                        absl::string_view gxr, size_t key_size,
                                        size_t block_size);

// HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b);
// HASH_R swaps the values and cookies and takes IDir_b. With signatures,
// these are what gets signed.
std::string PhaseOneHash(const Hash& h, absl::string_view skeyid, bool of_initiator,
                         absl::string_view gxi, absl::string_view gxr, absl::string_view cky_i,
                         absl::string_view cky_r, absl::string_view sai_b,
                         absl::string_view id_b);

// The IV of a phase-2 or informational exchange (Appendix B): the hash of
// the last phase-1 CBC block and the message ID, block-sized.
std::string Phase2Iv(const Hash& h, absl::string_view last_phase1_block, uint32_t message_id,
                     size_t block_size);

// prf(SKEYID_a, M-ID | rest): Quick Mode's HASH(1) and HASH(2) (rest: the
// message's payloads after HASH, for HASH(2) with Ni_b first) and the
// informational HASH(1).
std::string ExchangeHash(const Hash& h, absl::string_view skeyid_a, uint32_t message_id,
                         absl::string_view rest);
// Quick Mode's HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b).
std::string QuickModeHash3(const Hash& h, absl::string_view skeyid_a, uint32_t message_id,
                           absl::string_view ni, absl::string_view nr);

// KEYMAT (§5.5) of one SA direction: prf(SKEYID_d, [g(qm)^xy |] protocol |
// SPI | Ni_b | Nr_b), stretched K1 | K2 ... where Kn+1 = prf(SKEYID_d,
// Kn | seed), to `length` octets (encryption key first, then integrity).
// `spi` is the receiving side's (the SPI the SA is known by).
absl::StatusOr<SecretBytes> QuickModeKeymat(const Hash& h, absl::string_view skeyid_d,
                                            absl::string_view gxy_qm, uint8_t protocol,
                                            uint32_t spi, absl::string_view ni,
                                            absl::string_view nr, size_t length);

// The message ID octets as hashed.
std::string MessageIdBytes(uint32_t message_id);

}  // namespace vpnfleet::ike::ikev1

#endif  // VPNFLEET_SERVICES_IKE_KEYMAT_IKEV1_KEYS_H_
