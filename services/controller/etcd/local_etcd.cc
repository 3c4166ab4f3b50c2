#include "services/controller/etcd/local_etcd.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "services/controller/etcd/etcd_client.h"

namespace vpnfleet::controller {
namespace {

constexpr char kEtcd[] = "/usr/bin/etcd";

// A loopback port nobody listens on now (the kernel's pick).
absl::StatusOr<int> FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return absl::InternalError("bind");
  }
  close(fd);
  return ntohs(a.sin_port);
}

// True once something accepts TCP connections at 127.0.0.1:PORT. Asked
// before the first gRPC call: a channel that met a closed port backs off for
// seconds before it tries again.
bool Listening(const std::string& endpoint) {
  const int port = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

}  // namespace

bool EtcdInstalled() { return access(kEtcd, X_OK) == 0; }

absl::StatusOr<std::unique_ptr<LocalEtcd>> LocalEtcd::Start(int members) {
  if (!EtcdInstalled()) return absl::FailedPreconditionError("etcd is not installed (apt install etcd-server)");
  auto etcd = std::unique_ptr<LocalEtcd>(new LocalEtcd());
  char tmpl[] = "/tmp/vpnfleet-etcd-XXXXXX";
  if (!mkdtemp(tmpl)) return absl::InternalError("mkdtemp");
  etcd->dir_ = tmpl;
  std::vector<std::string> cluster;
  for (int i = 0; i < members; ++i) {
    auto client = FreePort();
    auto peer = FreePort();
    if (!client.ok() || !peer.ok()) return absl::InternalError("no free loopback port");
    Member m;
    m.name = absl::StrCat("m", i);
    m.client = absl::StrCat("127.0.0.1:", *client);
    m.peer = absl::StrCat("127.0.0.1:", *peer);
    cluster.push_back(absl::StrCat(m.name, "=http://", m.peer));
    etcd->members_.push_back(m);
  }
  const std::string initial_cluster = absl::StrJoin(cluster, ",");
  for (auto& m : etcd->members_) {
    std::vector<std::string> args = {
        kEtcd,
        "--name=" + m.name,
        "--data-dir=" + etcd->dir_ + "/" + m.name,
        "--listen-client-urls=http://" + m.client,
        "--advertise-client-urls=http://" + m.client,
        "--listen-peer-urls=http://" + m.peer,
        "--initial-advertise-peer-urls=http://" + m.peer,
        "--initial-cluster=" + initial_cluster,
        "--initial-cluster-state=new",
        "--initial-cluster-token=vpnfleet-test",
        "--max-txn-ops=1000000",
        "--max-request-bytes=268435456",
        "--quota-backend-bytes=8589934592",
        "--heartbeat-interval=50",
        "--election-timeout=500",
        "--logger=zap",
        "--log-outputs=" + etcd->dir_ + "/" + m.name + ".log",
    };
    pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork");
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kEtcd, argv.data());
      _exit(127);
    }
    m.pid = pid;
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (const auto& m : etcd->members_) {
    while (!Listening(m.client)) {
      if (absl::Now() > give_up) {
        return absl::DeadlineExceededError(absl::StrCat("etcd did not listen at ", m.client, " within 30 s (logs in ",
                                                        etcd->dir_, ")"));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  EtcdClientOptions options;
  options.endpoints = {etcd->members_[0].client};
  options.call_timeout = absl::Seconds(2);
  auto client = EtcdClient::Connect(options);
  if (!client.ok()) return client.status();
  for (;;) {
    etcdserverpb::RangeRequest probe;
    probe.set_key("probe");
    auto answered = (*client)->Range(probe);
    if (answered.ok()) break;
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrCat("etcd did not answer within 30 s (logs in ", etcd->dir_,
                                                      "): ", answered.status().message()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  return etcd;
}

LocalEtcd::~LocalEtcd() {
  for (auto& m : members_) Kill(static_cast<int>(&m - members_.data()));
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void LocalEtcd::Kill(int member) {
  Member& m = members_[member];
  if (m.pid <= 0) return;
  kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

std::string LocalEtcd::endpoints() const {
  std::vector<std::string> out;
  for (const auto& m : members_) out.push_back(m.client);
  return absl::StrJoin(out, ",");
}

}  // namespace vpnfleet::controller
