#include "services/controller/store/etcd_store.h"

#include <map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "vpnfleet/controller/store/v1/records.pb.h"

namespace vpnfleet::controller {
namespace {

namespace storepb = vpnfleet::controller::store::v1;

constexpr int64_t kListPage = 1000;
constexpr int kMaxAttempts = 50;
constexpr size_t kGetManyBatch = 128;

// A commit etcd refused for its size says so in words an operator can act on.
absl::Status TxnError(const absl::Status& st, size_t writes) {
  const bool too_big = absl::StrContains(st.message(), "too many operations") ||
                       absl::StrContains(st.message(), "too large") ||
                       st.code() == absl::StatusCode::kResourceExhausted;
  if (!too_big) return st;
  return absl::ResourceExhaustedError(absl::StrCat(
      "controller store: a commit of ", writes, " writes is larger than this etcd accepts in one transaction (",
      st.message(), "); run etcd with --max-txn-ops and --max-request-bytes raised (README: High availability)"));
}

bool OutcomeUnknown(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kInternal:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdStore>> EtcdStore::Open(std::shared_ptr<EtcdClient> client, std::string prefix,
                                                           Rng* rng) {
  if (!client || !rng) return absl::InvalidArgumentError("etcd store: no client or random source");
  if (prefix.empty() || prefix.back() != '/') {
    return absl::InvalidArgumentError(absl::StrCat("etcd key prefix '", prefix.substr(0, 100), "' must end with '/'"));
  }
  auto store = std::unique_ptr<EtcdStore>(new EtcdStore(std::move(client), std::move(prefix), rng));
  // Reachable and ours to read: a wrong endpoint or credential fails here,
  // at start, not at the first change.
  if (auto rev = store->Revision(); !rev.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot open the etcd store: ", rev.status().message()));
  }
  return store;
}

std::string EtcdStore::RecordKey(const std::string& kind, const std::string& name) const {
  return absl::StrCat(prefix_, "records/", kind, "/", name);
}

std::string EtcdStore::HistoryKey(uint64_t revision, size_t index) const {
  return absl::StrFormat("%shistory/%020u/%010u", prefix_, revision, index);
}

void EtcdStore::SetFence(std::optional<EtcdFence> fence) {
  std::lock_guard<std::mutex> lock(mu_);
  fence_ = std::move(fence);
}

absl::StatusOr<std::pair<uint64_t, int64_t>> EtcdStore::ReadRevision(std::string* token) {
  etcdserverpb::RangeRequest request;
  request.set_key(prefix_ + "revision");
  auto response = client_->Range(request);
  if (!response.ok()) return response.status();
  if (response->kvs_size() == 0) return std::pair<uint64_t, int64_t>{0, 0};
  storepb::RevisionRecord record;
  if (!record.ParseFromString(response->kvs(0).value())) {
    return absl::DataLossError(absl::StrCat("controller store: ", request.key(), " in etcd is not a revision record"));
  }
  if (token) *token = record.commit_token();
  return std::pair<uint64_t, int64_t>{record.revision(), response->kvs(0).mod_revision()};
}

absl::StatusOr<uint64_t> EtcdStore::Revision() {
  auto rev = ReadRevision(nullptr);
  if (!rev.ok()) return rev.status();
  return rev->first;
}

absl::StatusOr<std::vector<StoreRecord>> EtcdStore::List(const std::string& kind) {
  const std::string base = absl::StrCat(prefix_, "records/", kind, "/");
  etcdserverpb::RangeRequest request;
  request.set_key(base);
  request.set_range_end(EtcdPrefixEnd(base));
  request.set_limit(kListPage);
  std::vector<StoreRecord> out;
  for (;;) {
    auto response = client_->Range(request);
    if (!response.ok()) return response.status();
    // Every page from the same snapshot: a List is one consistent view.
    if (request.revision() == 0) request.set_revision(response->header().revision());
    for (const auto& kv : response->kvs()) out.push_back({kind, kv.key().substr(base.size()), kv.value()});
    if (!response->more() || response->kvs_size() == 0) break;
    request.set_key(response->kvs(response->kvs_size() - 1).key() + std::string(1, '\0'));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> EtcdStore::Get(const std::string& kind, const std::string& name) {
  etcdserverpb::RangeRequest request;
  request.set_key(RecordKey(kind, name));
  auto response = client_->Range(request);
  if (!response.ok()) return response.status();
  if (response->kvs_size() == 0) return std::optional<std::string>();
  return std::optional<std::string>(response->kvs(0).value());
}

absl::StatusOr<std::vector<std::optional<std::string>>> EtcdStore::GetMany(const std::string& kind,
                                                                         const std::vector<std::string>& names) {
  // One read-only transaction per kGetManyBatch keys (etcd's default
  // --max-txn-ops), each answered from one snapshot without a raft round;
  // a name asked twice is read once.
  std::vector<std::optional<std::string>> out(names.size());
  std::map<std::string, std::vector<size_t>> wanted;
  for (size_t i = 0; i < names.size(); ++i) wanted[names[i]].push_back(i);
  auto it = wanted.begin();
  while (it != wanted.end()) {
    etcdserverpb::TxnRequest txn;
    std::vector<const std::vector<size_t>*> slots;
    for (; it != wanted.end() && slots.size() < kGetManyBatch; ++it) {
      txn.add_success()->mutable_request_range()->set_key(RecordKey(kind, it->first));
      slots.push_back(&it->second);
    }
    auto response = client_->Txn(txn);
    if (!response.ok()) return response.status();
    if (static_cast<size_t>(response->responses_size()) != slots.size()) {
      return absl::InternalError(absl::StrCat("etcd answered ", response->responses_size(), " of ", slots.size(),
                                              " reads in a transaction"));
    }
    for (size_t k = 0; k < slots.size(); ++k) {
      const auto& range = response->responses(static_cast<int>(k)).response_range();
      if (range.kvs_size() == 0) continue;
      for (size_t i : *slots[k]) out[i] = range.kvs(0).value();
    }
  }
  return out;
}

absl::StatusOr<uint64_t> EtcdStore::Commit(const std::vector<StoreWrite>& writes, bool new_revision,
                                           int64_t unix_seconds) {
  // etcd refuses a transaction that names a key twice; as in SQLite, the
  // last write of a key is the one that counts.
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < writes.size(); ++i) {
    const auto& w = writes[i];
    if (w.kind.empty() || absl::StrContains(w.kind, '/')) {
      return absl::InvalidArgumentError(absl::StrCat("controller store: record kind '", w.kind.substr(0, 64),
                                                     "' must be non-empty and without '/'"));
    }
    last[RecordKey(w.kind, w.name)] = i;
  }
  std::vector<const StoreWrite*> unique;
  for (size_t i = 0; i < writes.size(); ++i) {
    if (last[RecordKey(writes[i].kind, writes[i].name)] == i) unique.push_back(&writes[i]);
  }
  const std::string token = rng_->Bytes(16);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    bool retry = false;
    auto committed = TryCommit(unique, new_revision, unix_seconds, token, &retry);
    if (committed.ok() || !retry) return committed;
  }
  return absl::AbortedError(absl::StrCat("controller store: other writers changed the revision during ",
                                         kMaxAttempts, " attempts to commit; nothing was written"));
}

absl::StatusOr<uint64_t> EtcdStore::TryCommit(const std::vector<const StoreWrite*>& writes, bool new_revision,
                                              int64_t unix_seconds, const std::string& token, bool* retry) {
  std::optional<EtcdFence> fence;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fence = fence_;
  }
  const std::string revision_key = prefix_ + "revision";
  etcdserverpb::TxnRequest txn;
  uint64_t revision = 0;
  if (new_revision) {
    auto current = ReadRevision(nullptr);
    if (!current.ok()) return current.status();
    revision = current->first + 1;
    auto* cmp = txn.add_compare();
    cmp->set_key(revision_key);
    cmp->set_target(etcdserverpb::Compare::MOD);
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_mod_revision(current->second);
  }
  if (fence) {
    auto* cmp = txn.add_compare();
    cmp->set_key(fence->key);
    cmp->set_target(etcdserverpb::Compare::CREATE);
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_create_revision(fence->create_revision);
  }
  size_t index = 0;
  for (const StoreWrite* w : writes) {
    auto* op = txn.add_success();
    if (w->value) {
      op->mutable_request_put()->set_key(RecordKey(w->kind, w->name));
      op->mutable_request_put()->set_value(*w->value);
    } else {
      op->mutable_request_delete_range()->set_key(RecordKey(w->kind, w->name));
    }
    if (new_revision) {
      storepb::HistoryRecord h;
      h.set_revision(revision);
      h.set_changed_unix_seconds(unix_seconds);
      h.set_kind(w->kind);
      h.set_name(w->name);
      h.set_deleted(!w->value);
      auto* put = txn.add_success()->mutable_request_put();
      put->set_key(HistoryKey(revision, index++));
      put->set_value(h.SerializeAsString());
    }
  }
  if (new_revision) {
    storepb::RevisionRecord r;
    r.set_revision(revision);
    r.set_commit_token(token);
    r.set_changed_unix_seconds(unix_seconds);
    auto* put = txn.add_success()->mutable_request_put();
    put->set_key(revision_key);
    put->set_value(r.SerializeAsString());
  }
  txn.add_success()->mutable_request_range()->set_key(revision_key);
  if (fence) txn.add_failure()->mutable_request_range()->set_key(fence->key);

  auto response = client_->Txn(txn);
  if (!response.ok()) {
    if (new_revision && OutcomeUnknown(response.status())) {
      // The reply was lost, not necessarily the commit: its token tells.
      std::string stored;
      auto now = ReadRevision(&stored);
      if (now.ok() && stored == token) return now->first;
    }
    return TxnError(response.status(), writes.size());
  }
  if (!response->succeeded()) {
    if (fence) {
      const auto& fence_range = response->responses(0).response_range();
      if (fence_range.kvs_size() == 0 || fence_range.kvs(0).create_revision() != fence->create_revision) {
        return absl::FailedPreconditionError(
            "controller store: this replica no longer holds the leadership it wrote under (its election key "
            "expired or was replaced); the change was not written");
      }
    }
    *retry = new_revision;  // another writer took the revision first
    return absl::AbortedError("controller store: the revision changed during the commit");
  }
  if (new_revision) return revision;
  const auto& ops = response->responses();
  const auto& range = ops[ops.size() - 1].response_range();
  if (range.kvs_size() == 0) return uint64_t{0};
  storepb::RevisionRecord r;
  if (!r.ParseFromString(range.kvs(0).value())) {
    return absl::DataLossError(absl::StrCat("controller store: ", revision_key, " in etcd is not a revision record"));
  }
  return r.revision();
}

absl::StatusOr<std::vector<StoreHistoryEntry>> EtcdStore::History(uint64_t after, size_t limit) {
  std::vector<StoreHistoryEntry> out;
  if (limit == 0) return out;  // etcd reads limit 0 as "no limit"
  etcdserverpb::RangeRequest request;
  request.set_key(HistoryKey(after + 1, 0));
  request.set_range_end(EtcdPrefixEnd(prefix_ + "history/"));
  request.set_limit(static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  auto response = client_->Range(request);
  if (!response.ok()) return response.status();
  for (const auto& kv : response->kvs()) {
    storepb::HistoryRecord h;
    if (!h.ParseFromString(kv.value())) {
      return absl::DataLossError(absl::StrCat("controller store: ", kv.key().substr(0, 200),
                                              " in etcd is not a history record"));
    }
    out.push_back({h.revision(), h.changed_unix_seconds(), h.kind(), h.name(), h.deleted()});
  }
  return out;
}

namespace {

// The queue and the etcd watch that fills it; the watch goes first.
class EtcdStoreWatch final : public StoreWatch {
 public:
  EtcdStoreWatch(std::shared_ptr<ChangeQueue> queue, std::unique_ptr<EtcdWatch> watch)
      : queue_(std::move(queue)), watch_(std::move(watch)) {}
  ~EtcdStoreWatch() override { watch_.reset(); }
  absl::StatusOr<std::vector<StoreChange>> Next(absl::Duration timeout) override { return queue_->Next(timeout); }

 private:
  std::shared_ptr<ChangeQueue> queue_;
  std::unique_ptr<EtcdWatch> watch_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoreWatch>> EtcdStore::Watch() {
  auto queue = std::make_shared<ChangeQueue>();
  const std::string records = absl::StrCat(prefix_, "records/");
  const std::string revision_key = absl::StrCat(prefix_, "revision");
  // Records and the revision key: a desired-state commit writes both in one
  // transaction (one etcd revision), so its changes carry its revision.
  auto on_response = [queue, records, revision_key](const etcdserverpb::WatchResponse& response) {
    std::vector<StoreChange> changes;
    changes.reserve(response.events_size());
    std::map<int64_t, uint64_t> desired;  // etcd revision -> our revision
    for (const auto& e : response.events()) {
      if (e.kv().key() == revision_key && e.type() == mvccpb::Event::PUT) {
        storepb::RevisionRecord record;
        if (record.ParseFromString(e.kv().value())) desired[e.kv().mod_revision()] = record.revision();
      }
    }
    for (const auto& e : response.events()) {
      absl::string_view key = e.kv().key();
      if (!absl::ConsumePrefix(&key, records)) continue;
      const size_t slash = key.find('/');
      if (slash == absl::string_view::npos) continue;  // not a record this store wrote
      StoreChange c{std::string(key.substr(0, slash)), std::string(key.substr(slash + 1)), std::nullopt};
      if (e.type() == mvccpb::Event::PUT) c.value = e.kv().value();
      // A delete's kv carries the etcd revision of the delete.
      if (auto it = desired.find(e.kv().mod_revision()); it != desired.end()) c.revision = it->second;
      changes.push_back(std::move(c));
    }
    if (!changes.empty()) queue->Push(std::move(changes));
  };
  auto on_end = [queue](absl::Status why) { queue->Fail(std::move(why)); };
  // [prefix/records/, prefix/revision]: "records/" < "revision" and nothing
  // else of ours sorts between them.
  auto watch = client_->Watch(records, revision_key + std::string(1, '\0'), 0, std::move(on_response),
                              std::move(on_end));
  if (!watch.ok()) return watch.status();
  return std::make_unique<EtcdStoreWatch>(std::move(queue), std::move(*watch));
}

}  // namespace vpnfleet::controller
