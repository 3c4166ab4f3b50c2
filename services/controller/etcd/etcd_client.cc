#include "services/controller/etcd/etcd_client.h"

#include <condition_variable>
#include <mutex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files/files.h"
#include "grpcpp/create_channel.h"

namespace vpnfleet::controller {
namespace {

// Large enough for a whole fleet's List in one reply page and for the
// commits of a 100,000-device rollout plan; etcd's own request limit
// (--max-request-bytes) is what bounds a commit.
constexpr int kMaxMessageBytes = 512 << 20;

absl::Status FromGrpc(const grpc::Status& st, const std::string& endpoint, const char* what) {
  if (st.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                      absl::StrCat("etcd ", endpoint, ": ", what, ": ", st.error_message()));
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEtcdEndpoints(const std::string& spec) {
  absl::string_view rest = spec;
  absl::ConsumePrefix(&rest, "etcd:");
  std::vector<std::string> out;
  for (absl::string_view e : absl::StrSplit(rest, ',', absl::SkipWhitespace())) {
    e = absl::StripAsciiWhitespace(e);
    absl::ConsumePrefix(&e, "https://") || absl::ConsumePrefix(&e, "http://");
    size_t colon = e.rfind(':');
    uint32_t port = 0;
    if (colon == absl::string_view::npos || colon == 0 || !absl::SimpleAtoi(e.substr(colon + 1), &port) ||
        port == 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint '", e.substr(0, 100), "' is not HOST:PORT (e.g. etcd:10.0.0.1:2379,10.0.0.2:2379)"));
    }
    out.emplace_back(e);
  }
  if (out.empty()) return absl::InvalidArgumentError("no etcd endpoint given (etcd:HOST:PORT[,HOST:PORT...])");
  return out;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> EtcdTlsCredentials(const std::string& ca_file,
                                                                              const std::string& cert_file,
                                                                              const std::string& key_file) {
  grpc::SslCredentialsOptions tls;
  auto ca = files::ReadFile(ca_file);
  if (!ca.ok()) return absl::InvalidArgumentError(absl::StrCat("etcd CA bundle: ", ca.status().message()));
  tls.pem_root_certs = *ca;
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("an etcd client certificate needs its key, and a key its certificate");
  }
  if (!cert_file.empty()) {
    auto cert = files::ReadFile(cert_file);
    if (!cert.ok()) return absl::InvalidArgumentError(absl::StrCat("etcd client certificate: ", cert.status().message()));
    auto key = files::ReadFile(key_file);
    if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("etcd client key: ", key.status().message()));
    tls.pem_cert_chain = *cert;
    tls.pem_private_key = std::move(*key);
  }
  return grpc::SslCredentials(tls);
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Connect(EtcdClientOptions options) {
  if (options.endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoint given");
  auto client = std::unique_ptr<EtcdClient>(new EtcdClient(std::move(options)));
  auto creds = client->options_.credentials ? client->options_.credentials : grpc::InsecureChannelCredentials();
  for (const auto& endpoint : client->options_.endpoints) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    args.SetMaxSendMessageSize(kMaxMessageBytes);
    // Fail fast on a dead member, so the call moves to the next one.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    auto channel = grpc::CreateCustomChannel(endpoint, creds, args);
    client->members_.push_back(
        {endpoint, etcdserverpb::KV::NewStub(channel), etcdserverpb::Lease::NewStub(channel),
         etcdserverpb::Watch::NewStub(channel)});
  }
  return client;
}

template <typename Call>
absl::Status EtcdClient::OnSomeMember(const char* what, Call call) {
  const size_t n = members_.size();
  const size_t first = current_.load();
  absl::Status last;
  for (size_t i = 0; i < n; ++i) {
    Member& m = members_[(first + i) % n];
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
    grpc::Status st = call(m, ctx);
    last = FromGrpc(st, m.endpoint, what);
    // etcd answers UNAVAILABLE itself while a member has no leader: the
    // request may have been proposed, but a retry elsewhere is what etcd's
    // own client does for these too.
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) {
      if (i != 0) current_.store((first + i) % n);
      return last;
    }
  }
  return last;
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::Range(const etcdserverpb::RangeRequest& request) {
  etcdserverpb::RangeResponse response;
  auto st = OnSomeMember("range", [&](Member& m, grpc::ClientContext& ctx) {
    response.Clear();
    return m.kv->Range(&ctx, request, &response);
  });
  if (!st.ok()) return st;
  return response;
}

absl::StatusOr<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  auto st = OnSomeMember("txn", [&](Member& m, grpc::ClientContext& ctx) {
    response.Clear();
    return m.kv->Txn(&ctx, request, &response);
  });
  if (!st.ok()) return st;
  return response;
}

absl::StatusOr<etcdserverpb::LeaseGrantResponse> EtcdClient::LeaseGrant(int64_t ttl_seconds) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  etcdserverpb::LeaseGrantResponse response;
  auto st = OnSomeMember("lease grant", [&](Member& m, grpc::ClientContext& ctx) {
    response.Clear();
    return m.lease->LeaseGrant(&ctx, request, &response);
  });
  if (!st.ok()) return st;
  if (!response.error().empty()) return absl::UnavailableError(absl::StrCat("etcd lease grant: ", response.error()));
  return response;
}

absl::StatusOr<int64_t> EtcdClient::LeaseKeepAlive(int64_t lease_id) {
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseKeepAliveResponse response;
  bool answered = false;
  auto st = OnSomeMember("lease keep-alive", [&](Member& m, grpc::ClientContext& ctx) {
    auto stream = m.lease->LeaseKeepAlive(&ctx);
    answered = stream->Write(request) && stream->Read(&response);
    stream->WritesDone();
    if (answered) ctx.TryCancel();
    grpc::Status done = stream->Finish();
    return answered ? grpc::Status::OK : done;
  });
  if (!st.ok()) return st;
  if (!answered) return absl::UnavailableError("etcd lease keep-alive: no answer");
  if (response.ttl() <= 0) return absl::NotFoundError(absl::StrCat("etcd lease ", lease_id, " has expired"));
  return response.ttl();
}

absl::Status EtcdClient::LeaseRevoke(int64_t lease_id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse response;
  return OnSomeMember("lease revoke", [&](Member& m, grpc::ClientContext& ctx) {
    return m.lease->LeaseRevoke(&ctx, request, &response);
  });
}

EtcdWatch::~EtcdWatch() {
  stopping_->store(true);
  if (context_) context_->TryCancel();
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<std::unique_ptr<EtcdWatch>> EtcdClient::Watch(const std::string& key, const std::string& range_end,
                                                             int64_t start_revision,
                                                             EtcdWatch::OnResponse on_response,
                                                             EtcdWatch::OnEnd on_end) {
  etcdserverpb::WatchRequest request;
  auto* create = request.mutable_create_request();
  create->set_key(key);
  create->set_range_end(range_end);
  create->set_start_revision(start_revision);
  const size_t n = members_.size();
  const size_t first = current_.load();
  absl::Status last = absl::UnavailableError("etcd watch: no member");
  for (size_t i = 0; i < n; ++i) {
    Member& m = members_[(first + i) % n];
    auto watch = std::unique_ptr<EtcdWatch>(new EtcdWatch());
    watch->context_ = std::make_unique<grpc::ClientContext>();
    // The reader thread reports the member's confirmation (or the stream's
    // end) here; a member that neither confirms nor fails within the call
    // timeout is given up.
    struct Start {
      std::mutex mu;
      std::condition_variable cv;
      bool decided = false;
      absl::Status status;
    };
    auto start = std::make_shared<Start>();
    grpc::ClientContext* ctx = watch->context_.get();
    const std::string endpoint = m.endpoint;
    etcdserverpb::Watch::Stub* stub = m.watch.get();
    auto stopping = watch->stopping_;
    watch->reader_ = std::thread([ctx, stub, request, start, stopping, endpoint, on_response, on_end] {
      auto decide = [&](absl::Status st) {
        std::lock_guard<std::mutex> lock(start->mu);
        if (start->decided) return false;
        start->decided = true;
        start->status = std::move(st);
        start->cv.notify_all();
        return true;
      };
      auto stream = stub->Watch(ctx);
      etcdserverpb::WatchResponse response;
      absl::Status why;
      if (!stream->Write(request)) {
        why = absl::UnavailableError(absl::StrCat("etcd ", endpoint, ": watch: the stream closed"));
      } else {
        while (stream->Read(&response)) {
          if (response.created()) decide(absl::OkStatus());
          if (response.canceled() || response.compact_revision() != 0) {
            why = absl::UnavailableError(absl::StrCat(
                "etcd ", endpoint, ": watch canceled",
                response.compact_revision() != 0 ? absl::StrCat(" (compacted at revision ", response.compact_revision(), ")")
                                                 : "",
                response.cancel_reason().empty() ? "" : ": ", response.cancel_reason()));
            ctx->TryCancel();
            break;
          }
          if (response.events_size() > 0) on_response(response);
        }
      }
      grpc::Status done = stream->Finish();
      if (why.ok()) {
        why = done.ok() ? absl::UnavailableError(absl::StrCat("etcd ", endpoint, ": watch ended"))
                        : FromGrpc(done, endpoint, "watch");
      }
      // Before confirmation the caller hears of the failure; after, on_end,
      // unless the owner ended the watch.
      if (!decide(why) && !stopping->load()) on_end(why);
    });
    absl::Status started;
    {
      std::unique_lock<std::mutex> lock(start->mu);
      if (!start->cv.wait_for(lock, absl::ToChronoNanoseconds(options_.call_timeout),
                              [&] { return start->decided; })) {
        start->decided = true;
        start->status = absl::DeadlineExceededError(absl::StrCat("etcd ", m.endpoint, ": watch: no confirmation"));
      }
      started = start->status;
    }
    if (started.ok()) {
      if (i != 0) current_.store((first + i) % n);
      return watch;
    }
    last = started;  // the watch's destructor cancels and joins
  }
  return last;
}

std::string EtcdPrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

}  // namespace vpnfleet::controller
