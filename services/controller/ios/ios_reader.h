// The IOS reader's state, shared by the files that read each kind of
// section: ios_parser.cc splits lines and dispatches them, ios_read_isakmp.cc
// reads ISAKMP (IKEv1) policies, keys and globals, ios_read_ipsec.cc
// transform sets and crypto maps, ios_read_acl.cc access lists and
// ios_read_pki.cc trustpoints and the RSA public key chain, and
// ios_read_ikev2.cc IKEv2's proposals, policies, keyrings and profiles, and
// ios_read_isakmp_profile.cc IKEv1's keyrings and ISAKMP profiles. Not for use
// outside services/controller/ios; ios_parser.h is the interface.
#ifndef VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_READER_H_
#define VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_READER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "services/controller/ios/ios_parser.h"

namespace vpnfleet::controller::ios::internal {

namespace c = vpnfleet::common::v1;
namespace ike = vpnfleet::ike::v1;
using Words = std::vector<absl::string_view>;
inline constexpr char kBlanks[] = " \t\f\v\r\n";  // absl's ASCII whitespace
inline constexpr absl::string_view kSkipFvrfAny =
    "match fvrf any: the global routing table, the only one vpnfleet uses";
inline constexpr absl::string_view kSkipMatchWarned =
    "not carried, as the warning on this profile's first match line says";

enum class Mode {
  kNone,
  kIsakmpPolicy,
  kTransformSet,
  kCryptoMap,
  kAcl,
  kInterface,
  kTrustpoint,
  kPubkeyChain,  // `crypto key pubkey-chain rsa`
  kPubkey,       // ` named-key NAME` / ` addressed-key IP`
  kKeyString,    // `  key-string` ... `  quit`: hex words
  kIkev2Proposal,
  kIkev2Policy,
  kIkev2Keyring,
  kIkev2Peer,     // ` peer NAME` of a keyring, up to its ` !`
  kIkev2Profile,
  kKeyring,        // `crypto keyring NAME` (IKEv1)
  kIsakmpProfile,  // `crypto isakmp profile NAME`
};

bool ParseUint(absl::string_view s, uint64_t max, uint64_t* out);
// 0.0.0.255 → 24; nullopt for a wildcard that is not contiguous.
std::optional<int> WildcardLength(absl::string_view wildcard);
// 255.255.255.0 → 24; nullopt for a netmask that is not contiguous.
std::optional<int> NetmaskLength(absl::string_view netmask);
// The diagnostic for a DH group word DhGroupNumber does not know.
std::string UnknownGroup(absl::string_view word);

class Reader {
 public:
  explicit Reader(absl::string_view device) : device_(device) {}

  ParseResult Run(absl::string_view text);

 private:
  // ios_parser.cc: plumbing and dispatch.
  void Diag(v1::Diagnostic::Severity sev, uint32_t line, absl::string_view entry,
            absl::string_view field, std::string message);
  void Error(uint32_t line, absl::string_view entry, absl::string_view field, std::string message);
  void Warn(uint32_t line, absl::string_view entry, absl::string_view field, std::string message);
  // The current line is read as nothing, for `reason`.
  void Skip(absl::string_view reason);
  // ... and so are the indented lines that follow it (a block IOS would
  // have refused or that we do not carry), until the next unindented one.
  void SkipBlock(std::string reason);
  bool Diagnosed() const;  // the current line got a diagnostic
  std::string SameKeepalive() const;  // the reason a repeated DPD setting is skipped
  static bool IsTopLevel(const Words& w);
  void Line(uint32_t number, absl::string_view raw);
  bool IsSubCommand(const Words& w) const;
  static absl::string_view After(absl::string_view text, size_t n);
  void TopLevel(const Words& w, absl::string_view text);
  void SubCommand(const Words& w, absl::string_view text);
  void InterfaceSub(const Words& w);
  void Finish();
  void MergeSkipped();
  void FinishReferences();
  void ApplyGlobalSaDefaults();

  // ios_read_isakmp.cc
  void Isakmp(const Words& w);
  void IsakmpKey(const Words& w);
  void PolicySub(const Words& w, absl::string_view text);

  // ios_read_ipsec.cc
  void Ipsec(const Words& w);
  void TransformSetStart(const Words& w);
  void MapEntry(const Words& w, bool dynamic);
  void MapSub(const Words& w, absl::string_view text);
  void MapSecurityAssociation(const Words& w);
  void SessionKey(const Words& w);
  void TransformSetSub(const Words& w, absl::string_view text);

  // ios_read_acl.cc. Access lists are kept as text (AclSource) and read by
  // FinishAcls once it is known which ones crypto maps match.
  struct AclSourceLine {
    uint32_t line = 0;
    Words words;  // views into the text being read
    absl::string_view rest;
    bool numbered = false;  // `access-list N ...`, no sequence numbers
  };
  struct AclSource {
    std::string key;    // the name or number
    std::string entry;  // `access-list 101`, `ip access-list extended NAME`
    bool standard = false;
    uint32_t named_line = 0;  // of `ip access-list ...`
    std::vector<AclSourceLine> lines;
  };
  size_t AclSourceFor(absl::string_view key, std::string entry, bool standard);
  ike::AccessList* AclNamed(absl::string_view name);
  void NumberedAcl(const Words& w, absl::string_view text);
  void NamedAcl(const Words& w);
  void AclSub(const Words& w, absl::string_view text);
  void FinishAcls();
  bool AclAddress(const Words& w, size_t* i, c::IpPrefix* out, std::string* error);
  bool AclPorts(const Words& w, size_t* i, c::PortRange* out, std::string* error);
  void AclLine(const Words& w, absl::string_view rest_text, bool numbered);

  // ios_read_pki.cc
  void PubkeySub(const Words& w, absl::string_view text);
  void PubkeyLine(const Words& w, absl::string_view text);
  void TrustpointStart(const Words& w);
  void TrustpointSub(const Words& w, absl::string_view text);

  // ios_read_ikev2.cc. IKEv2 is read into the structs below and turned into
  // policy by FinishIkev2 once the whole file is known: a profile may name
  // a keyring written after it, and only what a crypto map uses counts.
  void Ikev2(const Words& w);
  void Ikev2ProposalSub(const Words& w, absl::string_view text);
  void Ikev2PolicySub(const Words& w, absl::string_view text);
  void Ikev2KeyringSub(const Words& w, absl::string_view text);
  void Ikev2ProfileSub(const Words& w, absl::string_view text);
  void FinishIkev2();

  // ios_read_isakmp_profile.cc: crypto keyring and crypto isakmp profile.
  void KeyringStart(const Words& w);
  void KeyringSub(const Words& w, absl::string_view text);
  void IsakmpProfileSub(const Words& w, absl::string_view text);
  void FinishIsakmpProfiles();
  void Ikev2Dpd(const Words& w, size_t first, uint32_t line, absl::string_view entry);

  absl::string_view device_;
  ParseResult result_;
  uint32_t line_ = 0;
  Mode mode_ = Mode::kNone;
  ike::IsakmpPolicy* policy_ = nullptr;
  ike::TransformSet* transform_set_ = nullptr;
  ike::CryptoMapEntry* entry_ = nullptr;
  ike::AccessList* acl_ = nullptr;
  ike::Trustpoint* trustpoint_ = nullptr;
  ike::RsaPublicKey* pubkey_ = nullptr;  // the pubkey-chain key being read
  std::string key_hex_;                   // its key-string so far
  uint32_t key_line_ = 0;
  uint32_t signature_key_line_ = 0;                 // of the signature key being skipped
  std::map<std::string, uint32_t> pubkey_lines_;    // `named-key NAME` → its line
  std::string entry_name_;
  std::string acl_name_;
  std::string acl_key_;
  std::string interface_;
  std::string pending_remark_;
  struct InterfaceMap {
    std::string map;
    std::string interface;
    uint32_t line;
  };
  std::vector<InterfaceMap> interface_maps_;
  std::vector<std::pair<std::string, uint32_t>> interfaces_;  // name, line of `interface NAME`
  std::vector<uint32_t> nonblank_lines_;  // to join skipped ranges across blank lines
  // `crypto ipsec security-association ...`: defaults for every entry.
  ike::CryptoMapEntry global_sa_;
  // Names a crypto map entry uses, checked once the whole file is read.
  struct Reference {
    enum Kind { kAcl, kTransformSet, kDynamicMap } kind;
    std::string name;
    uint32_t line;
    std::string entry;
  };
  std::vector<Reference> references_;
  bool any_ios_ = false;  // a command IOS configurations have was seen
  uint32_t keepalive_line_ = 0;  // where the one DPD setting was given
  std::string block_reason_;  // set while the lines of a skipped block follow
  std::vector<AclSource> acl_sources_;  // in the order of their first lines
  size_t acl_source_ = 0;                // index of the named list being read
  // The list being read: its sequence numbers (sorted once it is read).
  absl::flat_hash_set<uint32_t> acl_sequences_;
  uint32_t acl_last_sequence_ = 0;
  void UseAcl(ike::AccessList* acl);

  // What the file defined so far, by name: a hub's configuration (or a
  // hostile upload) has tens of thousands of each, and every line that
  // names one looks it up. Messages of a RepeatedPtrField keep their
  // address as more are added.
  absl::flat_hash_map<std::string, size_t> acl_source_index_;
  absl::flat_hash_map<std::string, ike::AccessList*> acl_by_name_;
  absl::flat_hash_map<std::string, ike::TransformSet*> transform_set_by_name_;
  absl::flat_hash_map<std::string, ike::CryptoMap*> map_by_name_;
  absl::flat_hash_map<std::pair<std::string, uint32_t>, ike::CryptoMapEntry*> map_entry_by_sequence_;
  absl::flat_hash_map<std::string, ike::Trustpoint*> trustpoint_by_name_;
  absl::flat_hash_map<std::string, ike::RsaPublicKey*> pubkey_by_name_;
  absl::flat_hash_map<uint32_t, ike::IsakmpPolicy*> isakmp_policy_by_priority_;
  absl::flat_hash_map<std::string, ike::PreSharedKey*> psk_by_peer_;
  static std::string PeerKey(const ike::PreSharedKey& psk);

  struct Ikev2Proposal {
    uint32_t line = 0;
    std::vector<c::EncryptionAlgorithm> encryption;
    std::vector<c::IntegrityAlgorithm> integrity;
    std::vector<c::PrfAlgorithm> prf;
    std::vector<c::DhGroup> groups;
  };
  struct Named {
    std::string name;
    uint32_t line = 0;
  };
  // A keyring's keys: IKEv2's `peer` blocks, IKEv1's `pre-shared-key` lines.
  struct KeyringPeer {
    std::string name;
    uint32_t line = 0;
    ike::PreSharedKey psk;
    bool has_key = false;
    uint32_t key_line = 0;
  };
  struct Keyring {
    uint32_t line = 0;
    std::vector<KeyringPeer> peers;
  };
  struct Ikev2Profile {
    uint32_t line = 0;
    std::vector<std::pair<ike::AuthMethod, uint32_t>> authentication;  // local and remote
    Named keyring;
    std::vector<Named> trustpoints;
    uint32_t lifetime_seconds = 0;
    uint32_t lifetime_line = 0;
    std::optional<ike::IsakmpIdentity> identity;
    std::string fqdn;  // of `identity local fqdn NAME`
    uint32_t identity_line = 0;
    bool match_warned = false;  // `match identity remote` is named once
  };
  // Shared by both versions' keyrings and profiles.
  void AddKeyringKey(const KeyringPeer& peer, const std::string& entry);
  void ApplyIdentity(ike::IsakmpIdentity identity, const std::string& fqdn, uint32_t line,
                     const std::string& entry);
  bool TrustpointDefined(absl::string_view name) const;
  // A key's peer: IP [MASK] (an IPv4 netmask) or an IPv6 ADDRESS[/LENGTH];
  // nullopt after an error at the current line.
  std::optional<c::IpPrefix> PeerPrefix(absl::string_view ip, absl::string_view mask, const std::string& entry);
  // IOS writes a key as `[0|6|7] KEY`: steps `i` over a type 0 marker when at
  // least `words_after` words follow it; false (with the error given) for the
  // router-encrypted types 6 and 7, which only the router that wrote them can read.
  bool SkipKeyType(const Words& w, size_t& i, size_t words_after, const std::string& entry,
                   absl::string_view field);

  std::map<std::string, Ikev2Proposal> ikev2_proposals_;
  std::vector<Named> ikev2_policy_proposals_;  // `proposal NAME` of every ikev2 policy, in order
  uint32_t ikev2_policy_line_ = 0;             // the first `crypto ikev2 policy`
  std::map<std::string, Keyring> ikev2_keyrings_;
  std::map<std::string, Ikev2Profile> ikev2_profiles_;
  struct ProfileUse {
    Named profile;
    ike::CryptoMapEntry* entry;  // stable: repeated message fields do not move
  };
  std::vector<ProfileUse> ikev2_profile_uses_;
  Ikev2Proposal* ikev2_proposal_ = nullptr;  // the section being read
  Keyring* ikev2_keyring_ = nullptr;

  // crypto keyring / crypto isakmp profile (IKEv1), read like IKEv2's.
  struct IsakmpProfile {
    uint32_t line = 0;
    std::vector<Named> keyrings;
    std::vector<Named> trustpoints;
    std::optional<ike::IsakmpIdentity> identity;
    uint32_t identity_line = 0;
    bool aggressive = false;  // `initiate mode aggressive`
    bool match_warned = false;
  };
  std::map<std::string, Keyring> keyrings_;
  std::map<std::string, IsakmpProfile> isakmp_profiles_;
  std::vector<ProfileUse> isakmp_profile_uses_;
  Keyring* keyring_ = nullptr;
  IsakmpProfile* isakmp_profile_ = nullptr;
  Ikev2Profile* ikev2_profile_ = nullptr;
};

}  // namespace vpnfleet::controller::ios::internal

#endif  // VPNFLEET_SERVICES_CONTROLLER_IOS_IOS_READER_H_
