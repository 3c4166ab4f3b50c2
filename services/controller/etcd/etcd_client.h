// A client of etcd's v3 gRPC API (KV and Lease), as the controller's etcd
// store and leader election need it: one channel per endpoint, and a call
// that finds its endpoint unreachable is tried on the next one, so a
// controller keeps working while an etcd member is down.
//
// Only errors that say the request never reached a member (UNAVAILABLE) are
// tried elsewhere; callers of Txn must be ready for a transaction whose
// outcome is unknown (the etcd store tags its commits for that).
#ifndef VPNFLEET_SERVICES_CONTROLLER_ETCD_ETCD_CLIENT_H_
#define VPNFLEET_SERVICES_CONTROLLER_ETCD_ETCD_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "grpcpp/security/credentials.h"

namespace vpnfleet::controller {

struct EtcdClientOptions {
  // host:port of each member's client URL.
  std::vector<std::string> endpoints;
  // TLS to etcd; nullptr speaks plaintext (loopback tests only).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  absl::Duration call_timeout = absl::Seconds(10);
};

// Parses "etcd:HOST:PORT,HOST:PORT" (or without "etcd:") into endpoints.
absl::StatusOr<std::vector<std::string>> ParseEtcdEndpoints(const std::string& spec);

// TLS credentials from PEM files: the CA that signed etcd's server
// certificates and, when etcd asks for one, our client certificate and key.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> EtcdTlsCredentials(const std::string& ca_file,
                                                                              const std::string& cert_file,
                                                                              const std::string& key_file);

// A running watch (etcd's Watch API) of one key range: a thread reads the
// stream and hands each response to the owner's callback, until the stream
// ends (the member went away, the range was compacted, or the watch is
// destroyed). Destroying it cancels the stream and joins the thread.
class EtcdWatch {
 public:
  using OnResponse = std::function<void(const etcdserverpb::WatchResponse&)>;
  using OnEnd = std::function<void(absl::Status)>;
  ~EtcdWatch();

 private:
  friend class EtcdClient;
  EtcdWatch() = default;

  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<grpc::ClientContext> context_;
  std::thread reader_;
};

class EtcdClient {
 public:
  static absl::StatusOr<std::unique_ptr<EtcdClient>> Connect(EtcdClientOptions options);

  absl::StatusOr<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& request);
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request);
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> LeaseGrant(int64_t ttl_seconds);
  // The lease's remaining TTL in seconds after the refresh; NotFound once
  // the lease has expired or was revoked.
  absl::StatusOr<int64_t> LeaseKeepAlive(int64_t lease_id);
  absl::Status LeaseRevoke(int64_t lease_id);

  // Watches keys in [key, range_end) for changes after etcd revision
  // `start_revision` (0: from now on). Returns once a member has confirmed
  // the watch, so every change committed after the return is seen.
  // `on_response` runs on the watch's thread for each response with events;
  // `on_end` once, when the watch ends for any reason but its destruction.
  absl::StatusOr<std::unique_ptr<EtcdWatch>> Watch(const std::string& key, const std::string& range_end,
                                                   int64_t start_revision, EtcdWatch::OnResponse on_response,
                                                   EtcdWatch::OnEnd on_end);

  const std::vector<std::string>& endpoints() const { return options_.endpoints; }

 private:
  struct Member {
    std::string endpoint;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
  };
  explicit EtcdClient(EtcdClientOptions options) : options_(std::move(options)) {}

  // Runs `call` on the current member, and on the next ones while they are
  // unreachable.
  template <typename Call>
  absl::Status OnSomeMember(const char* what, Call call);

  EtcdClientOptions options_;
  std::vector<Member> members_;
  std::atomic<size_t> current_{0};
};

// The end of the key range that holds every key starting with `prefix`
// (etcd's "prefix end": the prefix with its last byte below 0xff increased).
std::string EtcdPrefixEnd(const std::string& prefix);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ETCD_ETCD_CLIENT_H_
