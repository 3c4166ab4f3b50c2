// scripts/bench controller: plan and roll out a policy change to N simulated
// edges through a real vpnfleet-controller.
//
// This process is both sides of the controller: the edges, as one gRPC
// server on a Unix socket that serves vpnfleet.ike.v1.IkeService for every
// device (the controller names the device in `vpnfleet-device` metadata;
// each has its own configuration, revision and CHILD SAs, and a tunnel comes
// up on Initiate once the peer runs a policy naming us), and the operator,
// who registers the fleet (one hub, N-1 spokes, hub-and-spoke with summary
// prefixes and a key per pair, or certificates for a template whose hub
// answers through a dynamic map), rolls out the first policy, changes the
// template and then — measured — plans and rolls out the change. The
// controller's CPU time and peak memory come from /proc/PID.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "vpnfleet/controller/v1/controller.grpc.pb.h"
#include "vpnfleet/ike/v1/ike.grpc.pb.h"

ABSL_FLAG(int, devices, 10000, "Edges in the fleet (one hub, the rest spokes).");
ABSL_FLAG(std::string, edge_socket, "", "Unix socket the simulated edges serve on.");
ABSL_FLAG(std::string, controller, "", "The controller's gRPC address.");
ABSL_FLAG(int, controller_pid, 0, "The controller's PID (CPU time, peak memory).");
ABSL_FLAG(std::string, template_file, "", "The hub-and-spoke template body.");
ABSL_FLAG(std::string, auth, "psk", "The topology's peer authentication: psk or certificate.");
ABSL_FLAG(int, batch, 1000, "Devices per rollout batch.");
ABSL_FLAG(int, max_unavailable, 64, "Devices changing at once.");
ABSL_FLAG(bool, stages, false, "Print each rollout-wide progress message with its time.");

namespace {

namespace ike = vpnfleet::ike::v1;
namespace cv1 = vpnfleet::controller::v1;
using Clock = std::chrono::steady_clock;

std::string DeviceOf(grpc::ServerContext* ctx) {
  auto it = ctx->client_metadata().find("vpnfleet-device");
  return it == ctx->client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

class Edges final : public ike::IkeService::Service {
 public:
  grpc::Status GetConfig(grpc::ServerContext* ctx, const ike::GetConfigRequest*, ike::IkeConfig* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    Edge& e = edges_[DeviceOf(ctx)];
    out->ParseFromString(e.config);
    for (auto& k : *out->mutable_pre_shared_keys()) {  // write-only, as the real service
      k.set_key_set(true);
      k.clear_key();
    }
    out->mutable_revision()->set_number(e.revision);
    return grpc::Status::OK;
  }
  grpc::Status ReplaceConfig(grpc::ServerContext* ctx, const ike::ReplaceConfigRequest* req,
                             ike::EditConfigResponse* out) override {
    if (req->config().crypto_maps().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no crypto map");
    }
    std::string bytes = req->config().SerializeAsString();
    std::lock_guard<std::mutex> lock(mu_);
    Edge& e = edges_[DeviceOf(ctx)];
    if (req->expected_revision() != 0 && req->expected_revision() != e.revision) {  // as the real ConfigStore
      ++stale;
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat("configuration is at revision ", e.revision, ", not ", req->expected_revision()));
    }
    if (req->validate_only()) return grpc::Status::OK;
    e.config = std::move(bytes);
    e.peers.clear();
    e.answers_any = false;
    for (const auto& m : req->config().crypto_maps()) {
      e.answers_any = e.answers_any || m.dynamic();  // a dynamic map answers any peer
      for (const auto& en : m.entries()) {
        for (const auto& p : en.peers()) e.peers.insert(p);
      }
    }
    e.up.clear();
    out->mutable_revision()->set_number(++e.revision);
    ++applies;
    return grpc::Status::OK;
  }
  grpc::Status Initiate(grpc::ServerContext* ctx, const ike::InitiateRequest* req,
                        ike::InitiateResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string me = DeviceOf(ctx);
    auto peer = by_wan_.find(req->peer());
    if (peer == by_wan_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such peer");
    const Edge& other = edges_[peer->second];
    if (other.answers_any || other.peers.count(wan_[me])) edges_[me].up.push_back({req->crypto_map(), req->peer()});
    return grpc::Status::OK;
  }
  grpc::Status ListChildSas(grpc::ServerContext* ctx, const ike::ListChildSasRequest*,
                            ike::ListChildSasResponse* out) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [map, peer] : edges_[DeviceOf(ctx)].up) {
      auto* sa = out->add_child_sas();
      sa->set_crypto_map(map);
      sa->set_remote_endpoint(peer);
    }
    return grpc::Status::OK;
  }
  grpc::Status ListIkeSas(grpc::ServerContext*, const ike::ListIkeSasRequest*, ike::ListIkeSasResponse*) override {
    return grpc::Status::OK;
  }

  void AddDevice(const std::string& name, const std::string& wan) {
    std::lock_guard<std::mutex> lock(mu_);
    by_wan_[wan] = name;
    wan_[name] = wan;
  }
  std::atomic<int> applies{0};
  std::atomic<int> stale{0};  // pushes refused for an expected revision

 private:
  struct Edge {
    std::string config;
    uint64_t revision = 0;
    std::set<std::string> peers;  // the hub names thousands
    bool answers_any = false;
    std::vector<std::pair<std::string, std::string>> up;
  };
  std::mutex mu_;
  std::map<std::string, Edge> edges_;
  std::map<std::string, std::string> by_wan_, wan_;
};

double CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  std::istringstream s(line.substr(line.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && s >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long PeakKib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

std::string Wan(int i) { return absl::StrCat("10.", 100 + i / 65536, ".", (i / 256) % 256, ".", i % 256); }
// Each device's inner prefix in 10.0.0.0/8: a /24 while 65,536 fit (the
// figures of earlier runs), a /26 for larger fleets (up to 262,144 below
// 10.100/16, where the WAN addresses are).
int LanLength(int n) { return n <= 65536 ? 24 : 26; }
std::string Lan(int i, int n) {
  if (n <= 65536) return absl::StrCat("10.", i / 256, ".", i % 256, ".0");
  return absl::StrCat("10.", i / 1024, ".", (i / 4) % 256, ".", (i % 4) * 64);
}

template <typename F>
double Seconds(F&& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool Check(const grpc::Status& st, const std::string& what) {
  if (!st.ok()) std::cerr << "fleet_load: " << what << ": " << st.error_message() << "\n";
  return st.ok();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int n = absl::GetFlag(FLAGS_devices);
  const int pid = absl::GetFlag(FLAGS_controller_pid);
  Edges edges;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + absl::GetFlag(FLAGS_edge_socket), grpc::InsecureServerCredentials());
  builder.RegisterService(&edges);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::cerr << "fleet_load: cannot serve on " << absl::GetFlag(FLAGS_edge_socket) << "\n";
    return 1;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);  // a rollout of 100,000 devices is ~6 MB
  auto stub = cv1::ControllerService::NewStub(
      grpc::CreateCustomChannel(absl::GetFlag(FLAGS_controller), grpc::InsecureChannelCredentials(), args));
  auto ctx = [](int seconds) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return c;
  };
  std::ifstream tf(absl::GetFlag(FLAGS_template_file));
  std::stringstream body;
  body << tf.rdbuf();

  // The fleet: registration in parallel, not measured.
  std::cout << "registering " << n << " devices, a template and " << n << " data sets\n" << std::flush;
  cv1::PutTemplateRequest tr;
  auto* t = tr.mutable_template_();
  t->set_name("hub-and-spoke");
  t->set_output(cv1::TEMPLATE_OUTPUT_POLICY);
  t->set_body(body.str());
  t->mutable_topology()->set_kind(cv1::TOPOLOGY_KIND_HUB_AND_SPOKE);
  t->mutable_topology()->set_auth(absl::GetFlag(FLAGS_auth) == "certificate" ? cv1::PEER_AUTH_CERTIFICATE
                                                                             : cv1::PEER_AUTH_PRE_SHARED_KEY);
  auto* summary = t->mutable_topology()->add_summary_prefixes();
  summary->set_address("10.0.0.0");
  summary->set_length(8);
  for (auto [name, def] : std::vector<std::pair<std::string, std::string>>{
           {"trustpoint", "fleet"}, {"scep_url", "http://192.0.2.1/scep"}, {"ike_encryption", "aes-gcm-256"},
           {"ike_hash", "sha384"}, {"dh_group", "19"}, {"signature", "ecdsa-sig"}, {"ike_lifetime", "86400"},
           {"dpd_seconds", "10"}, {"esp_transform", "esp-gcm 256"}, {"sa_lifetime", "3600"},
           {"wan_interface", "wan0"}, {"auto_enroll", "70"}}) {
    auto* v = t->add_variables();
    v->set_name(name);
    v->set_default_value(def);
  }
  cv1::Template stored;
  // A controller on etcd answers writes once it is elected: wait for that.
  grpc::Status first;
  for (int i = 0; i < 300; ++i) {
    first = stub->PutTemplate(ctx(30).get(), tr, &stored);
    if (first.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!Check(first, "PutTemplate")) return 1;
  std::atomic<int> next{0}, failed{0};
  const double register_s = Seconds([&] {
    std::vector<std::thread> workers;
    for (int w = 0; w < 16; ++w) {
      workers.emplace_back([&] {
        for (int i = next++; i < n; i = next++) {
          cv1::PutDeviceRequest dr;
          auto* d = dr.mutable_device();
          d->set_name(i == 0 ? "hub" : absl::StrCat("spoke", i));
          d->set_kind(cv1::DEVICE_KIND_VPNFLEET);
          d->set_wan_address(Wan(i));
          d->set_management_endpoint("unix:" + absl::GetFlag(FLAGS_edge_socket));
          d->set_role(i == 0 ? "hub" : "spoke");
          auto* p = d->add_inner_prefixes();
          p->set_address(Lan(i, n));
          p->set_length(LanLength(n));
          edges.AddDevice(d->name(), d->wan_address());
          cv1::Device out;
          if (!Check(stub->PutDevice(ctx(30).get(), dr, &out), "PutDevice")) ++failed;
          cv1::PutDataSetRequest sr;
          sr.mutable_data_set()->set_name(d->name() + "-vpn");
          sr.mutable_data_set()->set_template_("hub-and-spoke");
          sr.mutable_data_set()->set_device(d->name());
          cv1::DataSet ds;
          if (!Check(stub->PutDataSet(ctx(30).get(), sr, &ds), "PutDataSet")) ++failed;
        }
      });
    }
    for (auto& w : workers) w.join();
  });
  if (failed) return 1;
  std::cout << "  registered in " << register_s << " s\n" << std::flush;

  auto rollout = [&](int* devices, std::string* state) {
    cv1::StartRolloutRequest req;
    req.mutable_strategy()->set_canary_devices(1);
    req.mutable_strategy()->set_batch_size(static_cast<uint32_t>(absl::GetFlag(FLAGS_batch)));
    req.mutable_strategy()->set_max_unavailable(static_cast<uint32_t>(absl::GetFlag(FLAGS_max_unavailable)));
    req.mutable_strategy()->set_health_timeout_seconds(60);
    req.mutable_strategy()->set_auto_rollback(true);
    auto c = ctx(600);
    auto reader = stub->StartRollout(c.get(), req);
    cv1::RolloutProgress p;
    std::string id;
    int updates = 0;
    const auto t0 = Clock::now();
    while (reader->Read(&p)) {
      id = p.rollout().id();
      ++updates;
      if (absl::GetFlag(FLAGS_stages) && p.rollout().devices().empty()) {
        std::cout << "    " << std::chrono::duration<double>(Clock::now() - t0).count() << " s: " << p.message()
                  << "\n";
      }
    }
    if (!Check(reader->Finish(), "StartRollout")) return false;
    cv1::GetRolloutRequest g;
    g.set_id(id);
    cv1::Rollout r;
    if (!Check(stub->GetRollout(ctx(30).get(), g, &r), "GetRollout")) return false;
    *devices = r.devices_size();
    *state = cv1::RolloutState_Name(r.state());
    std::cout << "  " << id << ": " << *state << ", " << *devices << " devices, " << updates
              << " progress updates\n";
    return true;
  };

  int first_devices = 0;
  std::string first_state;
  bool ok = true;
  std::cout << "first rollout (keys generated, every device created)\n" << std::flush;
  const double first_s = Seconds([&] { ok = rollout(&first_devices, &first_state); });
  if (!ok) return 1;
  std::cout << "  " << first_s << " s\n";

  // The measured change: a new SA lifetime for the whole fleet.
  for (auto& v : *t->mutable_variables()) {
    if (v.name() == "sa_lifetime") v.set_default_value("1800");
  }
  if (!Check(stub->PutTemplate(ctx(30).get(), tr, &stored), "PutTemplate")) return 1;
  const double cpu0 = CpuSeconds(pid);
  cv1::RolloutPlan plan;
  std::cout << "policy change: plan\n" << std::flush;
  const double plan_s = Seconds([&] {
    ok = Check(stub->PlanRollout(ctx(600).get(), cv1::PlanRolloutRequest(), &plan), "PlanRollout");
  });
  if (!ok) return 1;
  int updates = 0;
  for (const auto& d : plan.devices()) updates += d.change() == cv1::DEVICE_CHANGE_UPDATE;
  std::cout << "  " << plan_s << " s, " << updates << " devices to update\n" << std::flush;
  int devices = 0;
  std::string state;
  std::cout << "policy change: rollout\n" << std::flush;
  const int applies0 = edges.applies;
  const double rollout_s = Seconds([&] { ok = rollout(&devices, &state); });
  if (!ok) return 1;
  const double cpu = CpuSeconds(pid) - cpu0;
  const long peak_kib = PeakKib(pid);
  std::cout << "  " << rollout_s << " s, " << edges.applies - applies0 << " edges took the new policy\n";
  const double total = plan_s + rollout_s;
  // The goals: 10,000 edges in 20 s, 100,000 in 60 s (and < 4 GiB).
  const double target = n > 10000 ? 60.0 : 20.0;
  std::cout << "\nplan + rollout of a change to " << n << " edges: " << total << " s wall (plan " << plan_s
            << " s, rollout " << rollout_s << " s), controller CPU " << cpu << " s, peak memory "
            << peak_kib / 1024 << " MiB (target < " << target << " s)\n";
  std::cout << "{\"devices\": " << n << ", \"register_seconds\": " << register_s
            << ", \"first_rollout_seconds\": " << first_s << ", \"first_rollout_state\": \"" << first_state
            << "\", \"plan_seconds\": " << plan_s << ", \"rollout_seconds\": " << rollout_s
            << ", \"change_wall_seconds\": " << total << ", \"change_controller_cpu_seconds\": " << cpu
            << ", \"controller_peak_rss_mib\": " << peak_kib / 1024.0 << ", \"rollout_state\": \"" << state
            << "\", \"devices_updated\": " << devices << ", \"auth\": \"" << absl::GetFlag(FLAGS_auth)
            << "\", \"target_seconds\": " << target << ", \"wall_to_target_ratio\": " << total / target << "}\n";
  server->Shutdown();
  return state == "ROLLOUT_STATE_SUCCEEDED" ? 0 : 1;
}
