// A thread-safe in-memory table of records by string key, with a revision
// number that grows with every change. Services keep configuration in it until
// they get a durable store; the interface is the one a durable store offers.
#ifndef VPNFLEET_COMMON_STORE_VERSIONED_TABLE_H_
#define VPNFLEET_COMMON_STORE_VERSIONED_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace vpnfleet::store {

template <typename V>
class VersionedTable {
 public:
  // `what` names a record in errors ("device", "security association").
  // `on_erase` runs on a record that is replaced or deleted, before it is
  // released (used to wipe key material).
  explicit VersionedTable(std::string what,
                          std::function<void(V&)> on_erase = nullptr)
      : what_(std::move(what)), on_erase_(std::move(on_erase)) {}

  // Inserts or replaces; with `create_only`, an existing key is an error.
  // Returns the new revision.
  absl::StatusOr<uint64_t> Put(const std::string& key, V value, bool create_only) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rows_.find(key);
    if (it != rows_.end()) {
      if (create_only) {
        return absl::AlreadyExistsError(absl::StrCat(what_, " ", key, " already exists"));
      }
      if (on_erase_) on_erase_(it->second);
      it->second = std::move(value);
    } else {
      rows_.emplace(key, std::move(value));
    }
    return ++revision_;
  }

  // Changes a record in place under the table's lock. If `change` fails, the
  // record is left as it was (it works on a copy) and the revision stays.
  absl::StatusOr<uint64_t> Modify(const std::string& key,
                                  const std::function<absl::Status(V&)>& change) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      return absl::NotFoundError(absl::StrCat(what_, " ", key, " does not exist"));
    }
    V copy = it->second;
    absl::Status st = change(copy);
    if (!st.ok()) {
      if (on_erase_) on_erase_(copy);
      return st;
    }
    std::swap(it->second, copy);
    if (on_erase_) on_erase_(copy);
    return ++revision_;
  }

  absl::StatusOr<V> Get(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      return absl::NotFoundError(absl::StrCat(what_, " ", key, " does not exist"));
    }
    return it->second;
  }

  bool Contains(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    return rows_.count(key) > 0;
  }

  // Records in key order for which `keep` (if given) is true.
  std::vector<V> List(const std::function<bool(const V&)>& keep = nullptr) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<V> out;
    for (const auto& [key, value] : rows_) {
      if (!keep || keep(value)) out.push_back(value);
    }
    return out;
  }

  absl::StatusOr<uint64_t> Delete(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rows_.find(key);
    if (it == rows_.end()) {
      return absl::NotFoundError(absl::StrCat(what_, " ", key, " does not exist"));
    }
    if (on_erase_) on_erase_(it->second);
    rows_.erase(it);
    return ++revision_;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rows_.size();
  }

  uint64_t revision() const {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_;
  }

  ~VersionedTable() {
    if (on_erase_) {
      for (auto& [key, value] : rows_) on_erase_(value);
    }
  }

 private:
  const std::string what_;
  const std::function<void(V&)> on_erase_;
  mutable std::mutex mu_;
  std::map<std::string, V> rows_;
  uint64_t revision_ = 0;
};

}  // namespace vpnfleet::store

#endif  // VPNFLEET_COMMON_STORE_VERSIONED_TABLE_H_
