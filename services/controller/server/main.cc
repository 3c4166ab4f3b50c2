// vpnfleet-controller: the fleet orchestrator. Desired state (devices,
// templates, data sets), rollouts and sealed per-pair keys live in the
// store: by default --data_dir/controller.db (SQLite, WAL), one replica; or
// etcd (--store etcd:ENDPOINTS), where replicas elect a leader that alone
// acts while the others answer with its name. The master key that seals
// keys at rest is --secret_key (0600; made at first start with SQLite; with
// etcd every replica is given the same file). Rollouts that were running
// when the controller (or the leader) stopped continue when it starts (or
// when the next leader is elected).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "prometheus/gauge.h"
#include "common/log/log.h"
#include "common/random/rng.h"
#include "common/server/daemon.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/controller/server/controller_service.h"
#include "services/controller/etcd/etcd_client.h"
#include "services/controller/etcd/leader_election.h"
#include "services/controller/model/inventory_follower.h"
#include "services/controller/store/etcd_store.h"
#include "services/controller/store/sqlite_store.h"

ABSL_FLAG(std::string, data_dir, "/var/lib/vpnfleet/controller",
          "Directory of the controller's database and master key.");
ABSL_FLAG(std::string, store, "",
          "Where desired state lives: sqlite:PATH (one replica; default --data_dir/controller.db) or "
          "etcd:HOST:PORT[,HOST:PORT...] (a replicated set with leader election).");
ABSL_FLAG(std::string, secret_key, "",
          "The master key that seals pair keys at rest (default --data_dir/secret.key). With etcd, every "
          "replica needs the same file, made once (head -c 32 /dev/urandom).");
ABSL_FLAG(std::string, etcd_prefix, "/vpnfleet/", "Key prefix of this fleet in etcd (ends with '/').");
ABSL_FLAG(std::string, etcd_ca, "", "CA bundle of etcd's server certificates; empty: plaintext to etcd (loopback only).");
ABSL_FLAG(std::string, etcd_cert, "", "Client certificate for etcd (when etcd asks for one).");
ABSL_FLAG(std::string, etcd_key, "", "Key of --etcd_cert.");
ABSL_FLAG(std::string, replica_name, "", "This replica's name in the leader election (default: the host name).");
ABSL_FLAG(std::string, advertise_address, "",
          "host:port at which clients reach this replica, told to them by followers when it leads.");
ABSL_FLAG(int, leader_lease_seconds, 10,
          "Lease of the leader in etcd: a dead leader is replaced within this time.");
ABSL_FLAG(std::string, pki, "", "gRPC address of the PKI service (for SCEP enrollment tickets).");
ABSL_FLAG(int, edge_deadline_ms, 10000, "Deadline of each call to an edge's IKE service.");
ABSL_FLAG(std::string, edge_identity, "spiffe://*/edge/{device}",
          "The identity an edge's certificate must have ({device}: the device's name; '*' any "
          "run of characters; empty: any certificate from the CA).");
ABSL_FLAG(int, edge_parallelism, 64, "Edges the controller talks to at once during plans and rollouts.");
ABSL_FLAG(std::string, ios_ssh_key, "",
          "Private key (OpenSSH format) with which rollouts push to ios devices over SSH (their "
          "management_endpoint is host:port of SSH); empty: ios configlets are only rendered.");
ABSL_FLAG(std::string, ios_known_hosts, "",
          "known_hosts file with the ios devices' SSH host keys (required with --ios_ssh_key: no trust on "
          "first use).");
ABSL_FLAG(std::string, ios_ssh_user, "vpnfleet", "The user (privilege 15) the controller logs in as on ios devices.");

namespace vpnfleet::controller {
namespace {

constexpr char kServiceName[] = "vpnfleet.controller.v1.ControllerService";
// Health name SERVING on the replica that leads (etcd store).
constexpr char kLeaderHealth[] = "vpnfleet.controller.v1.ControllerService/leader";

// Everything the service uses, destroyed in the reverse order of its parts;
// the resume thread first.
struct Controller {
  std::unique_ptr<Store> store;
  EtcdStore* etcd_store = nullptr;  // the store, when it is etcd
  std::shared_ptr<EtcdClient> etcd;
  std::unique_ptr<LeaderElection> election;
  std::unique_ptr<SecretBox> box;
  std::unique_ptr<Inventory> inventory;
  std::unique_ptr<PairKeys> keys;
  std::unique_ptr<EdgeClient> edges;
  std::unique_ptr<IosPusher> ios;
  std::unique_ptr<RolloutEngine> rollouts;
  std::unique_ptr<vpnfleet::pki::v1::PkiService::Stub> pki;
  std::unique_ptr<ControllerServiceImpl> service;
  // A follower's copy of the fleet kept current (etcd store); stopped when
  // this replica is elected, and first of all at the end.
  std::unique_ptr<InventoryFollower> follower;
  std::thread resume;
  ~Controller() {
    // A leader resigns first, so that a follower takes over at once.
    if (election) election->Stop();
    if (resume.joinable()) resume.join();
  }

  // Makes this replica the acting one: the fleet is read from the store and
  // rollouts that were running continue.
  absl::Status Begin() {
    if (auto st = inventory->Load(); !st.ok()) return st;
    if (auto st = CheckSealingKey(*store, *box, /*may_record=*/true, absl::ToUnixSeconds(absl::Now())); !st.ok()) {
      return st;
    }
    log::Info("controller store opened", {{"revision", inventory->revision()}});
    resume = std::thread([this] {
      auto st = rollouts->ResumeAll([](const v1::RolloutProgress& p) {
        log::Info("rollout progress", {{"rollout", p.rollout().id()}, {"message", p.message()},
                                       {"done", p.devices_done()}, {"total", p.devices_total()}});
      });
      if (!st.ok()) log::Error("resuming rollouts failed", {{"error", std::string(st.message())}});
    });
    return absl::OkStatus();
  }
};

// Opens the store --store names.
absl::Status OpenStore(Controller& c, const std::string& dir) {
  std::string spec = absl::GetFlag(FLAGS_store);
  if (spec.empty()) spec = "sqlite:" + dir + "/controller.db";
  if (absl::StartsWith(spec, "sqlite:")) {
    auto store = SqliteStore::Open(spec.substr(strlen("sqlite:")));
    if (!store.ok()) return store.status();
    c.store = std::move(*store);
    return absl::OkStatus();
  }
  if (!absl::StartsWith(spec, "etcd:")) {
    return absl::InvalidArgumentError("--store must be sqlite:PATH or etcd:HOST:PORT[,HOST:PORT...]");
  }
  EtcdClientOptions options;
  auto endpoints = ParseEtcdEndpoints(spec);
  if (!endpoints.ok()) return endpoints.status();
  options.endpoints = std::move(*endpoints);
  if (!absl::GetFlag(FLAGS_etcd_ca).empty()) {
    auto creds = EtcdTlsCredentials(absl::GetFlag(FLAGS_etcd_ca), absl::GetFlag(FLAGS_etcd_cert),
                                    absl::GetFlag(FLAGS_etcd_key));
    if (!creds.ok()) return creds.status();
    options.credentials = std::move(*creds);
  } else {
    log::Warn("speaking to etcd in plaintext (no --etcd_ca): only for an etcd on loopback");
  }
  auto client = EtcdClient::Connect(std::move(options));
  if (!client.ok()) return client.status();
  c.etcd = std::move(*client);
  auto store = EtcdStore::Open(c.etcd, absl::GetFlag(FLAGS_etcd_prefix), SystemRng::Get());
  if (!store.ok()) return store.status();
  c.etcd_store = store->get();
  c.store = std::move(*store);
  return absl::OkStatus();
}

std::string ReplicaIdentity() {
  std::string name = absl::GetFlag(FLAGS_replica_name);
  if (name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    name = host;
  }
  const std::string address = absl::GetFlag(FLAGS_advertise_address);
  return address.empty() ? name : absl::StrCat(name, " at ", address);
}

absl::Status Setup(server::DaemonContext& ctx) {
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create --data_dir ", dir, ": ", ec.message()));
  auto c = std::make_shared<Controller>();
  if (auto st = OpenStore(*c, dir); !st.ok()) return st;
  std::string key_file = absl::GetFlag(FLAGS_secret_key);
  if (key_file.empty()) key_file = dir + "/secret.key";
  if (c->etcd_store && !std::filesystem::exists(key_file)) {
    // A key made here would be this replica's alone.
    return absl::FailedPreconditionError(absl::StrCat("no secret key at ", key_file, ": with --store etcd every "
                                                      "replica is given the same --secret_key file"));
  }
  auto box = SecretBox::FromKeyFile(key_file, SystemRng::Get());
  if (!box.ok()) return box.status();
  c->box = std::make_unique<SecretBox>(std::move(*box));
  const Clock* clock = SystemClock::Get();
  c->inventory = std::make_unique<Inventory>(clock, c->store.get());
  c->keys = std::make_unique<PairKeys>(c->store.get(), c->box.get(), SystemRng::Get(), clock);
  c->edges = NewGrpcEdgeClient(absl::GetFlag(FLAGS_edge_deadline_ms), ctx.host->client_security(),
                               absl::GetFlag(FLAGS_edge_identity));
  RolloutOptions options;
  options.max_parallel = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_edge_parallelism)));
  if (!absl::GetFlag(FLAGS_ios_ssh_key).empty()) {
    SshIosOptions ssh;
    ssh.user = absl::GetFlag(FLAGS_ios_ssh_user);
    ssh.private_key_file = absl::GetFlag(FLAGS_ios_ssh_key);
    ssh.known_hosts_file = absl::GetFlag(FLAGS_ios_known_hosts);
    if (ssh.known_hosts_file.empty()) {
      return absl::InvalidArgumentError("--ios_ssh_key needs --ios_known_hosts (the routers' host keys)");
    }
    for (const std::string& f : {ssh.private_key_file, ssh.known_hosts_file}) {
      if (!std::filesystem::exists(f)) return absl::InvalidArgumentError(absl::StrCat("no such file: ", f));
    }
    c->ios = NewSshIosPusher(std::move(ssh));
    options.ios = c->ios.get();
    log::Info("rollouts push to ios devices over SSH", {{"user", absl::GetFlag(FLAGS_ios_ssh_user)}});
  }
  c->rollouts = std::make_unique<RolloutEngine>(c->inventory.get(), c->keys.get(), c->store.get(), c->box.get(),
                                                c->edges.get(), clock, options);
  if (!absl::GetFlag(FLAGS_pki).empty()) {
    auto channel = security::Dial(absl::GetFlag(FLAGS_pki), ctx.host->client_security());
    if (!channel.ok()) return channel.status();
    c->pki = vpnfleet::pki::v1::PkiService::NewStub(*channel);
  }
  c->service = std::make_unique<ControllerServiceImpl>(c->inventory.get(), c->store.get(), c->keys.get(), c->rollouts.get(),
                                                       c->edges.get(), c->pki.get(), ctx.host->registry(),
                                                       ctx.host->authorizer());
  Controller* raw = c.get();
  if (c->etcd_store) {
    prometheus::Gauge* leading = &prometheus::BuildGauge()
                        .Name("vpnfleet_controller_leader")
                        .Help("1 while this controller replica leads the set (etcd store), else 0")
                        .Register(ctx.host->registry())
                        .Add({});
    LeaderElectionOptions election;
    election.key = absl::GetFlag(FLAGS_etcd_prefix) + "leader";
    election.identity = ReplicaIdentity();
    election.lease = absl::Seconds(std::max(2, absl::GetFlag(FLAGS_leader_lease_seconds)));
    const std::string key = election.key;
    // Health: the service is SERVING once this replica can answer (a
    // follower has read the fleet, a leader has taken it over); the name
    // kLeaderHealth is SERVING on the leader alone (a probe that finds the
    // replica to write to).
    server::ServiceHost* host = ctx.host;
    host->SetHealth(kServiceName, false);
    host->SetHealth(kLeaderHealth, false);
    LeaderElection::Callbacks callbacks;
    callbacks.elected = [raw, key, leading, host](int64_t create_revision) {
      raw->etcd_store->SetFence(EtcdFence{key, create_revision});
      raw->follower->Stop();
      if (auto st = raw->Begin(); !st.ok()) {
        log::Error("elected, but cannot take over the fleet; exiting", {{"error", std::string(st.message())}});
        std::fflush(nullptr);
        std::_Exit(3);
      }
      raw->service->UpdateGauges();
      leading->Set(1);
      host->SetHealth(kServiceName, true);
      host->SetHealth(kLeaderHealth, true);
    };
    callbacks.lost = [] {
      // Nothing may act without leadership, and a rollout cannot be
      // stopped halfway safely from here: the process ends, its supervisor
      // starts it again as a follower, and the new leader resumes.
      log::Error("this controller replica lost its leadership; exiting so that it acts no more");
      std::fflush(nullptr);
      std::_Exit(3);
    };
    c->election = std::make_unique<LeaderElection>(c->etcd, std::move(election), std::move(callbacks));
    c->follower = std::make_unique<InventoryFollower>(c->inventory.get(), c->store.get(), [raw, host] {
      raw->service->UpdateGauges();
      host->SetHealth(kServiceName, true);
    });
    const std::string identity = ReplicaIdentity();
    c->service->SetLeaderGate([raw, identity](bool read_only) {
      if (raw->election->leading()) return absl::OkStatus();
      std::string leader = raw->election->leader();
      if (leader == identity) {
        // Paused past its lease: it names itself no more.
        return absl::UnavailableError(
            "this controller replica's leadership lapsed (its etcd lease ran out); another replica takes over");
      }
      const std::string named = leader.empty() ? std::string("no leader is elected yet")
                                               : absl::StrCat("the leader is ", leader);
      if (read_only) {
        if (raw->follower->ready()) return absl::OkStatus();
        return absl::UnavailableError(
            absl::StrCat("this controller replica follows and has not read the fleet yet; ", named));
      }
      return absl::UnavailableError(leader.empty()
                                        ? std::string("this controller replica is not the leader, and no leader is "
                                                      "elected yet")
                                        : absl::StrCat("this controller replica follows; ", named));
    });
    ctx.host->AddService(c->service.get(), kServiceName);
    log::Info("controller replica on etcd; campaigning", {{"identity", ReplicaIdentity()}});
    c->follower->Start();
    c->election->Start();
  } else {
    ctx.host->AddService(c->service.get(), kServiceName);
    if (auto st = c->Begin(); !st.ok()) return st;
  }
  ctx.keep_alive.push_back(c);
  return absl::OkStatus();
}

}  // namespace
}  // namespace vpnfleet::controller

int main(int argc, char** argv) {
  return vpnfleet::server::RunDaemon(argc, argv, {"controller", 7401, 9401}, vpnfleet::controller::Setup);
}
