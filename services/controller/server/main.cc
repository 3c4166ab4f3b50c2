// vpnfleet-controller: the fleet orchestrator. Desired state (devices,
// templates, data sets), rollouts and sealed per-pair keys live in
// --data_dir: controller.db (SQLite, WAL) and secret.key (the master key
// that seals keys at rest, 0600, made at first start). Rollouts that were
// running when the controller stopped continue when it starts.
#include <filesystem>

#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/random/rng.h"
#include "common/server/daemon.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "services/controller/server/controller_service.h"
#include "services/controller/store/sqlite_store.h"

ABSL_FLAG(std::string, data_dir, "/var/lib/vpnfleet/controller",
          "Directory of the controller's database and master key.");
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

// Everything the service uses, destroyed in the reverse order of its parts;
// the resume thread first.
struct Controller {
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<SecretBox> box;
  std::unique_ptr<Inventory> inventory;
  std::unique_ptr<PairKeys> keys;
  std::unique_ptr<EdgeClient> edges;
  std::unique_ptr<IosPusher> ios;
  std::unique_ptr<RolloutEngine> rollouts;
  std::unique_ptr<vpnfleet::pki::v1::PkiService::Stub> pki;
  std::unique_ptr<ControllerServiceImpl> service;
  std::thread resume;
  ~Controller() {
    if (resume.joinable()) resume.join();
  }
};

absl::Status Setup(server::DaemonContext& ctx) {
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create --data_dir ", dir, ": ", ec.message()));
  auto c = std::make_shared<Controller>();
  auto store = SqliteStore::Open(dir + "/controller.db");
  if (!store.ok()) return store.status();
  c->store = std::move(*store);
  auto box = SecretBox::FromKeyFile(dir + "/secret.key", SystemRng::Get());
  if (!box.ok()) return box.status();
  c->box = std::make_unique<SecretBox>(std::move(*box));
  const Clock* clock = SystemClock::Get();
  c->inventory = std::make_unique<Inventory>(clock, c->store.get());
  if (auto st = c->inventory->Load(); !st.ok()) return st;
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
  c->service = std::make_unique<ControllerServiceImpl>(c->inventory.get(), c->keys.get(), c->rollouts.get(),
                                                       c->edges.get(), c->pki.get(), ctx.host->registry(),
                                                       ctx.host->authorizer());
  ctx.host->AddService(c->service.get(), "vpnfleet.controller.v1.ControllerService");
  log::Info("controller store opened", {{"data_dir", dir}, {"revision", c->inventory->revision()}});
  Controller* raw = c.get();
  c->resume = std::thread([raw] {
    auto st = raw->rollouts->ResumeAll([](const v1::RolloutProgress& p) {
      log::Info("rollout progress", {{"rollout", p.rollout().id()}, {"message", p.message()},
                                     {"done", p.devices_done()}, {"total", p.devices_total()}});
    });
    if (!st.ok()) log::Error("resuming rollouts failed", {{"error", std::string(st.message())}});
  });
  ctx.keep_alive.push_back(c);
  return absl::OkStatus();
}

}  // namespace
}  // namespace vpnfleet::controller

int main(int argc, char** argv) {
  return vpnfleet::server::RunDaemon(argc, argv, {"controller", 7401, 9401}, vpnfleet::controller::Setup);
}
