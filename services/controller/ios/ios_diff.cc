#include "services/controller/ios/ios_diff.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto/zeroize.h"

namespace vpnfleet::controller::ios {
namespace {

// Configlets and running configurations carry keys in clear (`crypto isakmp
// key`, `pre-shared-key`): every copy of a line made here is wiped when it
// goes; what the caller gets back is the caller's to wipe.
void Wipe(std::vector<std::string>* lines) {
  for (auto& l : *lines) crypto::ZeroizeString(&l);
}
void Wipe(std::vector<IosItem>* items) {
  for (auto& i : *items) {
    crypto::ZeroizeString(&i.line);
    Wipe(&i.subs);
  }
}
template <typename T>
class WipedOnExit {
 public:
  explicit WipedOnExit(T* v) : v_(v) {}
  ~WipedOnExit() { Wipe(v_); }
  WipedOnExit(const WipedOnExit&) = delete;
  WipedOnExit& operator=(const WipedOnExit&) = delete;

 private:
  T* v_;
};

std::vector<std::string> Words(absl::string_view line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

std::string FirstWords(absl::string_view line, size_t n) {
  std::vector<std::string> w = Words(line);
  WipedOnExit wipe(&w);
  std::vector<std::string> first(w.begin(), w.begin() + static_cast<long>(std::min(n, w.size())));
  WipedOnExit wipe_first(&first);
  return absl::StrJoin(first, " ");
}

bool Starts(absl::string_view line, absl::string_view prefix) { return absl::StartsWith(line, prefix); }

bool IsInterface(const std::string& key) { return Starts(key, "interface "); }

// The crypto map lines of an interface.
std::vector<std::string> InterfaceMaps(const IosItem& item) {
  std::vector<std::string> out;
  for (const auto& s : item.subs) {
    if (Starts(s, "crypto map ")) out.push_back(s);
  }
  return out;
}

// Enters `from`'s interface and types `prefix` + each of its crypto map
// lines that `other` (the same interface elsewhere, or none) lacks.
void InterfaceMapChange(const IosItem& from, const IosItem* other, const char* prefix,
                        std::vector<std::string>* out) {
  const std::vector<std::string> theirs = other ? InterfaceMaps(*other) : std::vector<std::string>{};
  std::vector<std::string> lines;
  for (const auto& m : InterfaceMaps(from)) {
    if (std::find(theirs.begin(), theirs.end(), m) == theirs.end()) lines.push_back(prefix + m);
  }
  if (lines.empty()) return;
  out->push_back(from.line);
  out->insert(out->end(), lines.begin(), lines.end());
  out->push_back("exit");
}

bool IsAcl(const std::string& key) {
  return Starts(key, "ip access-list extended ") || Starts(key, "ip access-list standard ") ||
         Starts(key, "access-list ");
}

std::string AclName(const std::string& key) { return Words(key).back(); }

// Sections the controller owns (besides crypto ACLs and interfaces' maps).
bool Owned(const std::string& key) {
  for (const char* prefix : {"crypto isakmp ", "crypto keyring ", "crypto ipsec transform-set ",
                             "crypto ipsec security-association ", "crypto map ", "crypto dynamic-map ",
                             "crypto ikev2 ", "crypto pki trustpoint "}) {
    if (Starts(key, prefix)) return true;
  }
  return false;
}

bool IsMapEntry(const std::string& key) { return Starts(key, "crypto map ") || Starts(key, "crypto dynamic-map "); }

// The ACLs crypto map entries match.
void CryptoAcls(const std::vector<IosItem>& items, std::set<std::string>* out) {
  for (const auto& item : items) {
    if (!IsMapEntry(IosItemKey(item.line))) continue;
    for (const auto& s : item.subs) {
      if (Starts(s, "match address ")) out->insert(FirstWords(s.substr(14), 1));
    }
  }
}

void Block(std::vector<std::string>* out, const IosItem& item) {
  out->push_back(item.line);
  for (const auto& s : item.subs) out->push_back(" " + s);
  if (!item.subs.empty()) out->push_back("exit");
}

// `no` and the key undoes a section or setting; a pre-shared key is undone
// with its whole line, as IOS wants it.
void Remove(std::vector<std::string>* out, const std::string& key, const IosItem& item) {
  out->push_back("no " + (Starts(key, "crypto isakmp key ") ? item.line : key));
}

}  // namespace

std::string IosItemKey(absl::string_view line) {
  std::vector<std::string> w = Words(line);
  WipedOnExit wipe(&w);
  auto n = [&](size_t k) { return FirstWords(line, k); };
  if (w.empty()) return "";
  if (w[0] == "interface" && w.size() >= 2) return n(2);
  if (w[0] == "access-list" && w.size() >= 2) return n(2);
  if (w[0] == "ip" && w.size() >= 4 && w[1] == "access-list") return n(4);
  if (w[0] != "crypto" || w.size() < 3) return std::string(line);
  if ((w[1] == "map" || w[1] == "dynamic-map") && w.size() >= 4) return n(4);
  if (w[1] == "keyring") return n(3);
  if (w[1] == "ipsec" && (w[2] == "transform-set" || w[2] == "profile") && w.size() >= 4) return n(4);
  if (w[1] == "ipsec" && w[2] == "security-association" && w.size() >= 5) return n(5);
  if (w[1] == "pki" && w.size() >= 4) return n(4);
  if (w[1] == "ikev2" && w.size() >= 4 &&
      (w[2] == "proposal" || w[2] == "policy" || w[2] == "keyring" || w[2] == "profile")) {
    return n(4);
  }
  if (w[1] == "ikev2") return n(w[2] == "nat" ? 4 : 3);
  if (w[1] == "isakmp" && (w[2] == "policy" || w[2] == "profile") && w.size() >= 4) return n(4);
  if (w[1] == "isakmp" && w[2] == "key") {
    // crypto isakmp key [0|6] KEY address A [MASK] | hostname H: the peer names it.
    for (size_t i = 3; i + 1 < w.size(); ++i) {
      if (w[i] == "address" || w[i] == "hostname") {
        std::vector<std::string> peer(w.begin() + static_cast<long>(i), w.end());
        WipedOnExit wipe_peer(&peer);
        if (!peer.empty() && peer.back() == "no-xauth") peer.pop_back();
        return "crypto isakmp key @" + absl::StrJoin(peer, " ");
      }
    }
    return std::string(line);
  }
  if (w[1] == "isakmp") return n(3);  // identity, keepalive, nat keepalive, aggressive-mode
  return std::string(line);
}

std::vector<IosItem> ReadIosItems(absl::string_view text) {
  std::vector<IosItem> items;
  std::map<std::string, size_t> numbered;  // access-list N → its item
  bool in_item = false;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    raw = absl::StripTrailingAsciiWhitespace(raw);
    const absl::string_view line = absl::StripLeadingAsciiWhitespace(raw);
    if (line.empty() || line == "!" || line == "end" || Starts(line, "Building configuration") ||
        Starts(line, "Current configuration")) {
      if (line == "end") in_item = false;
      continue;
    }
    if (line[0] == '!') continue;
    const bool sub = raw.size() > line.size();
    if (sub) {
      if (in_item) items.back().subs.emplace_back(line);
      continue;
    }
    std::vector<std::string> w = Words(line);
    WipedOnExit wipe(&w);
    if (w[0] == "access-list" && w.size() >= 3) {
      const std::string key = FirstWords(line, 2);
      auto [it, added] = numbered.try_emplace(key, items.size());
      if (added) items.push_back({key, {}});
      items[it->second].subs.push_back(FirstWords(line, w.size()).substr(key.size() + 1));
      in_item = false;
      continue;
    }
    items.push_back({std::string(line), {}});
    in_item = true;
  }
  return items;
}

std::vector<std::string> IosDiffCommands(absl::string_view running_text, absl::string_view desired_text) {
  std::vector<IosItem> running = ReadIosItems(running_text);
  std::vector<IosItem> desired = ReadIosItems(desired_text);
  WipedOnExit wipe_running(&running);
  WipedOnExit wipe_desired(&desired);
  std::map<std::string, const IosItem*> have, want;
  for (const auto& i : running) have.emplace(IosItemKey(i.line), &i);
  for (const auto& i : desired) want.emplace(IosItemKey(i.line), &i);
  std::set<std::string> acls;
  CryptoAcls(running, &acls);
  CryptoAcls(desired, &acls);
  auto managed = [&](const std::string& key) {
    return Owned(key) || (IsAcl(key) && acls.count(AclName(key)));
  };

  std::vector<std::string> out;
  // 1. Interfaces let go of maps they should not have.
  for (const auto& item : running) {
    const std::string key = IosItemKey(item.line);
    if (!IsInterface(key)) continue;
    auto w = want.find(key);
    InterfaceMapChange(item, w != want.end() ? w->second : nullptr, " no ", &out);
  }
  // 2. Map entries that go.
  for (const auto& item : running) {
    const std::string key = IosItemKey(item.line);
    if (IsMapEntry(key) && !want.count(key)) Remove(&out, key, item);
  }
  // 3. What is added or changed, in the configlet's order.
  for (const auto& item : desired) {
    const std::string key = IosItemKey(item.line);
    auto h = have.find(key);
    if (IsInterface(key)) {
      InterfaceMapChange(item, h != have.end() ? h->second : nullptr, " ", &out);
      continue;
    }
    if (h == have.end()) {
      if (Starts(key, "access-list ")) {
        for (const auto& s : item.subs) out.push_back(absl::StrCat(key, " ", s));
      } else {
        Block(&out, item);
      }
      continue;
    }
    const IosItem& now = *h->second;
    if (now.line == item.line && now.subs == item.subs) continue;
    if (Starts(key, "access-list ")) {  // a numbered list is replaced whole
      out.push_back("no " + key);
      for (const auto& s : item.subs) out.push_back(absl::StrCat(key, " ", s));
      continue;
    }
    std::vector<std::string> kept, added, result;
    WipedOnExit wipe_kept(&kept);
    WipedOnExit wipe_added(&added);
    WipedOnExit wipe_result(&result);
    for (const auto& s : now.subs) {
      if (std::find(item.subs.begin(), item.subs.end(), s) != item.subs.end()) kept.push_back(s);
    }
    for (const auto& s : item.subs) {
      if (std::find(now.subs.begin(), now.subs.end(), s) == now.subs.end()) added.push_back(s);
    }
    result = kept;
    result.insert(result.end(), added.begin(), added.end());
    if (IsAcl(key) && result != item.subs) {  // entries would come out in another order
      out.push_back("no " + key);
      Block(&out, item);
      continue;
    }
    // A trustpoint only gains or changes lines: the router prints settings
    // our policy does not model (`subject-name`, `serial-number none`,
    // `revocation-check` defaults, `auto-enroll`), and removing one could
    // undo an enrollment. Its single-valued commands replace themselves.
    const bool add_only = Starts(key, "crypto pki trustpoint ");
    if (add_only && added.empty()) continue;
    out.push_back(item.line);
    for (const auto& s : now.subs) {
      if (add_only) break;
      if (std::find(item.subs.begin(), item.subs.end(), s) == item.subs.end()) out.push_back(" no " + s);
    }
    for (const auto& s : added) out.push_back(" " + s);
    if (!now.subs.empty() || !item.subs.empty()) out.push_back("exit");
  }
  // 4. What nothing uses any more.
  for (const auto& item : running) {
    const std::string key = IosItemKey(item.line);
    if (IsMapEntry(key) || IsInterface(key) || want.count(key) || !managed(key)) continue;
    if (Starts(key, "crypto pki trustpoint ")) continue;  // its certificates go with it
    Remove(&out, key, item);
  }
  return out;
}

}  // namespace vpnfleet::controller::ios
