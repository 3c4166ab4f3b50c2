#include "common/security/authorizer.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/security/tls.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/security/auth_context.h"
#include "vpnfleet/common/v1/access.pb.h"

namespace vpnfleet::security {
namespace {

constexpr size_t kMaxObjectBytes = 200;

bool Mutating(Access a) { return a == Access::kWrite || a == Access::kSecret || a == Access::kAdmin; }

class AuditInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuditInterceptor(const Authorizer* authz, grpc::experimental::ServerRpcInfo* info)
      : authz_(authz), info_(info) {
    absl::string_view m = info->method() != nullptr ? info->method() : "";
    if (absl::ConsumePrefix(&m, "/") && absl::StartsWith(m, "vpnfleet.")) {
      method_ = std::string(m);
      // Only our own services' requests are protobuf messages we may look into.
      audited_ = Authorizer::AccessOf(method_) != Access::kUnspecified;
    }
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    using grpc::experimental::InterceptionHookPoints;
    if (audited_ && !have_object_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
      if (void* m = methods->GetRecvMessage(); m != nullptr) {
        object_ = AuditObjectOf(*static_cast<const google::protobuf::Message*>(m));
        have_object_ = true;
      }
    }
    if (audited_ && methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      authz_->Audit(*info_->server_context(), method_, object_, methods->GetSendStatus());
    }
    methods->Proceed();
  }

 private:
  const Authorizer* authz_;
  grpc::experimental::ServerRpcInfo* info_;
  std::string method_;
  bool audited_ = false;
  bool have_object_ = false;
  std::string object_;
};

class AuditInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuditInterceptorFactory(const Authorizer* authz) : authz_(authz) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuditInterceptor(authz_, info);
  }

 private:
  const Authorizer* authz_;
};

std::string Clip(std::string s) {
  if (s.size() > kMaxObjectBytes) s.resize(kMaxObjectBytes);
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

}  // namespace

void UnixPeers::Set(int fd, Peer peer) {
  std::lock_guard<std::mutex> lock(mu_);
  by_fd_[fd] = peer;
}

std::optional<UnixPeers::Peer> UnixPeers::Get(int fd) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return std::nullopt;
  return it->second;
}

Authorizer::Authorizer(AuthorizerOptions options, prometheus::Registry& registry,
                       std::shared_ptr<UnixPeers> unix_peers)
    : options_(std::move(options)), unix_peers_(std::move(unix_peers)) {
  denied_ = &prometheus::BuildCounter()
                 .Name("vpnfleet_grpc_requests_denied_total")
                 .Help("RPCs refused by the authorization policy, by method and caller role "
                       "(\"none\": the identity maps to no role).")
                 .Register(registry);
  audited_ = &prometheus::BuildCounter()
                  .Name("vpnfleet_audit_records_total")
                  .Help("Audit records written (mutating or refused calls), by outcome.")
                  .Register(registry);
  audited_->Add({{"outcome", "ok"}});
  audited_->Add({{"outcome", "denied"}});
  audited_->Add({{"outcome", "failed"}});
  if (!options_.audit_path.empty()) {
    audit_file_ = fopen(options_.audit_path.c_str(), "ae");
    if (audit_file_ == nullptr) {
      log::Error("cannot open the audit log; audit records go to the service log",
                 {{"path", options_.audit_path}});
    }
  }
}

Authorizer::~Authorizer() {
  if (audit_file_ != nullptr) fclose(audit_file_);
}

std::shared_ptr<Authorizer> Authorizer::AllowAllForTests() {
  static auto* registry = new prometheus::Registry();
  AuthorizerOptions o;
  o.service = "test";
  auto policy = AuthzPolicy::Parse("identity * admin\nallow admin *\n");
  o.policy = *policy;
  return std::make_shared<Authorizer>(std::move(o), *registry, std::make_shared<UnixPeers>());
}

Access Authorizer::AccessOf(absl::string_view method) {
  // "pkg.Service/Method" -> "pkg.Service.Method", as descriptors name it.
  std::string dotted(method);
  const size_t slash = dotted.rfind('/');
  if (slash == std::string::npos) return Access::kUnspecified;
  dotted[slash] = '.';
  const auto* m = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(dotted);
  if (m == nullptr) return Access::kUnspecified;
  switch (m->options().GetExtension(vpnfleet::common::v1::access)) {
    case vpnfleet::common::v1::ACCESS_READ: return Access::kRead;
    case vpnfleet::common::v1::ACCESS_WRITE: return Access::kWrite;
    case vpnfleet::common::v1::ACCESS_SECRET: return Access::kSecret;
    case vpnfleet::common::v1::ACCESS_ADMIN: return Access::kAdmin;
    default: return Access::kUnspecified;
  }
}

Caller Authorizer::Identify(const grpc::ServerContextBase* ctx) const {
  Caller c;
  if (ctx == nullptr) {
    c.identity = "in-process";
    c.role = options_.policy.RoleOf(c.identity);
    return c;
  }
  const grpc::ServerContextBase& context = *ctx;
  auto auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    auto pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!pem.empty()) c.identity = IdentityOfPem(std::string(pem.front().data(), pem.front().size()));
  } else {
    const std::string peer_name = context.peer();  // by value: keep it alive
    absl::string_view peer = peer_name;
    int fd = -1;
    if (absl::ConsumePrefix(&peer, "fd:") && absl::SimpleAtoi(peer, &fd) && unix_peers_) {
      // A Unix-socket connection we accepted ourselves after SO_PEERCRED.
      if (auto p = unix_peers_->Get(fd)) c.identity = absl::StrCat("unix:uid=", p->uid);
    } else if (absl::StartsWith(peer_name, "ipv4:") || absl::StartsWith(peer_name, "ipv6:")) {
      // Only reachable on a TCP port the operator opened with --insecure.
      c.identity = "insecure";
    }
  }
  c.role = options_.policy.RoleOf(c.identity);
  return c;
}

grpc::Status Authorizer::Check(const grpc::ServerContextBase* context,
                               absl::string_view method) const {
  const Caller caller = Identify(context);
  if (options_.policy.Allows(caller.role, method, AccessOf(method))) return grpc::Status::OK;
  denied_->Add({{"method", std::string(method)}, {"role", caller.role.empty() ? "none" : caller.role}})
      .Increment();
  if (caller.identity.empty()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        absl::StrCat(method, ": the caller has no identity"));
  }
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      absl::StrCat(method, " is not allowed for '", caller.identity, "' (role ",
                   caller.role.empty() ? "none" : caller.role, ")"));
}

void Authorizer::Audit(const grpc::ServerContextBase& context, absl::string_view method,
                       absl::string_view object, const grpc::Status& outcome) const {
  const Access access = AccessOf(method);
  const bool refused = outcome.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                       outcome.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  if (!Mutating(access) && !refused) return;
  const Caller caller = Identify(&context);
  const char* result = outcome.ok() ? "ok" : refused ? "denied" : "failed";
  audited_->Add({{"outcome", result}}).Increment();
  // Never the request's content, never an error message (which may quote
  // input): who, what, which object, how it ended.
  if (audit_file_ != nullptr) {
    std::string line = absl::StrCat(
        "{\"time\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
        "\",\"audit\":\"", log::JsonEscape(options_.service), "\",\"rpc\":\"", log::JsonEscape(method),
        "\",\"access\":\"", AccessName(access), "\",\"caller\":\"", log::JsonEscape(caller.identity),
        "\",\"role\":\"", log::JsonEscape(caller.role), "\",\"object\":\"",
        log::JsonEscape(Clip(std::string(object))), "\",\"outcome\":\"", result, "\",\"code\":",
        static_cast<int>(outcome.error_code()), "}\n");
    std::lock_guard<std::mutex> lock(audit_mu_);
    fputs(line.c_str(), audit_file_);
    fflush(audit_file_);
    return;
  }
  log::Info("audit", {{"rpc", std::string(method)},
                      {"access", std::string(AccessName(access))},
                      {"caller", caller.identity},
                      {"role", caller.role},
                      {"object", Clip(std::string(object))},
                      {"outcome", result},
                      {"code", static_cast<int>(outcome.error_code())}});
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Authorizer::MakeAuditInterceptorFactory() {
  return std::make_unique<AuditInterceptorFactory>(this);
}

std::string AuditObjectOf(const google::protobuf::Message& request) {
  static constexpr absl::string_view kNames[] = {"name", "device", "serial_hex", "transaction_id",
                                                 "rollout_id", "id", "template_name", "peer"};
  const auto* d = request.GetDescriptor();
  const auto* r = request.GetReflection();
  for (absl::string_view want : kNames) {
    const auto* f = d->FindFieldByName(std::string(want));
    if (f != nullptr && !f->is_repeated() &&
        f->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      std::string v = r->GetString(request, f);
      if (!v.empty()) return Clip(std::move(v));
    }
  }
  // One message deep: PutDeviceRequest{device: Device{name}}.
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (f->is_repeated() || f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE ||
        !r->HasField(request, f)) {
      continue;
    }
    const auto& inner = r->GetMessage(request, f);
    const auto* name = inner.GetDescriptor()->FindFieldByName("name");
    if (name != nullptr && !name->is_repeated() &&
        name->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      std::string v = inner.GetReflection()->GetString(inner, name);
      if (!v.empty()) return Clip(std::move(v));
    }
  }
  return "";
}

}  // namespace vpnfleet::security
