// The gRPC side of authorization: who is calling (a certificate's identity,
// a Unix-socket peer's uid, or "insecure" on a plaintext port the operator
// asked for), what their role may call (AuthzPolicy, with the access each
// method declares in its proto), counters of refusals and one audit line
// per mutating or refused call.
//
// Every handler of every vpnfleet service begins with
//   if (auto denied = authz_->Check(context, kMethod); !denied.ok()) return denied;
// and the lab test calls every method of every service as a viewer to prove it.
#ifndef VPNFLEET_COMMON_SECURITY_AUTHORIZER_H_
#define VPNFLEET_COMMON_SECURITY_AUTHORIZER_H_

#include <sys/types.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/security/authz_policy.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/registry.h"

namespace vpnfleet::security {

// Credentials of the processes connected to a Unix socket, by the file
// descriptor gRPC names their connection with ("fd:N").
class UnixPeers {
 public:
  struct Peer {
    uid_t uid;
    gid_t gid;
    pid_t pid;
  };
  void Set(int fd, Peer peer);
  std::optional<Peer> Get(int fd) const;

 private:
  mutable std::mutex mu_;
  std::map<int, Peer> by_fd_;
};

struct Caller {
  std::string identity;  // "spiffe://...", "CN=..", "unix:uid=0", "insecure", or empty
  std::string role;      // empty: none
};

struct AuthorizerOptions {
  std::string service;     // "ike": log and audit field
  AuthzPolicy policy = AuthzPolicy::Default();
  std::string audit_path;  // a file of JSON lines; empty: the service's own log
};

class Authorizer {
 public:
  Authorizer(AuthorizerOptions options, prometheus::Registry& registry,
             std::shared_ptr<UnixPeers> unix_peers);
  ~Authorizer();

  // Everyone is admin: for unit tests of a service's behaviour, never a daemon.
  static std::shared_ptr<Authorizer> AllowAllForTests();

  // OK, or PERMISSION_DENIED naming the caller and the method.
  // `method` is "package.Service/Method". A null context is a direct call in
  // the same process (unit tests), named "in-process".
  grpc::Status Check(const grpc::ServerContextBase* context, absl::string_view method) const;

  Caller Identify(const grpc::ServerContextBase* context) const;

  // The access `method` declares ("package.Service/Method"); kUnspecified for
  // methods outside vpnfleet's APIs.
  static Access AccessOf(absl::string_view method);

  // One audit line for a call to `method` (mutating or refused ones).
  void Audit(const grpc::ServerContextBase& context, absl::string_view method,
             absl::string_view object, const grpc::Status& outcome) const;

  // Writes the audit line of every vpnfleet call when it ends.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAuditInterceptorFactory();

 private:
  AuthorizerOptions options_;
  std::shared_ptr<UnixPeers> unix_peers_;
  prometheus::Family<prometheus::Counter>* denied_ = nullptr;
  prometheus::Family<prometheus::Counter>* audited_ = nullptr;
  mutable std::mutex audit_mu_;
  FILE* audit_file_ = nullptr;
};

// What an audit line names as the object of a request: its first name-like
// field ("name", "device", "serial_hex", ...), looking one message deep.
std::string AuditObjectOf(const google::protobuf::Message& request);

}  // namespace vpnfleet::security

#endif  // VPNFLEET_COMMON_SECURITY_AUTHORIZER_H_
