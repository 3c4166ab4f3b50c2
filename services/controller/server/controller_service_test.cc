#include "services/controller/server/controller_service.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/random/rng.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "services/controller/ios/ios_parser.h"
#include "services/controller/store/sqlite_store.h"

namespace vpnfleet::controller {
namespace {

using ::testing::HasSubstr;

// An edge nobody can reach: the service's own checks come first.
class NoEdges : public EdgeClient {
 public:
  absl::StatusOr<vpnfleet::ike::v1::IkeConfig> GetConfig(const v1::Device&) override {
    return absl::UnavailableError("unreachable");
  }
  absl::StatusOr<uint64_t> ReplaceConfig(const v1::Device&, const vpnfleet::ike::v1::IkeConfig&, bool,
                                         uint64_t) override {
    return absl::UnavailableError("unreachable");
  }
  absl::Status Initiate(const v1::Device&, const std::string&, uint32_t, const std::string&) override {
    return absl::UnavailableError("unreachable");
  }
  absl::StatusOr<vpnfleet::ike::v1::ListChildSasResponse> ListChildSas(const v1::Device&) override {
    return absl::UnavailableError("unreachable");
  }
  absl::StatusOr<vpnfleet::ike::v1::ListIkeSasResponse> ListIkeSas(const v1::Device&) override {
    return absl::UnavailableError("unreachable");
  }
};

template <typename T>
const T* ptr(const T& t) {
  return &t;
}

struct Fixture {
  FakeClock clock;
  SeededRng rng{1};
  std::unique_ptr<SqliteStore> store = *SqliteStore::Open(":memory:");
  SecretBox box = *SecretBox::FromKey(std::string(32, 'x'), &rng);
  Inventory inventory{&clock, store.get()};
  PairKeys keys{store.get(), &box, &rng, &clock};
  NoEdges edges;
  RolloutEngine rollouts{&inventory, &keys, store.get(), &box, &edges, &clock};
  prometheus::Registry registry;
  std::shared_ptr<security::Authorizer> authz = security::Authorizer::AllowAllForTests();
  ControllerServiceImpl service{&inventory, store.get(), &keys, &rollouts, &edges, nullptr, registry, authz.get()};
};

TEST(ControllerService, DevicesRoundTripAndErrorsMapToCodes) {
  Fixture f;
  v1::PutDeviceRequest put;
  put.mutable_device()->set_name("hub");
  put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
  put.mutable_device()->set_wan_address("198.51.100.1");
  v1::Device stored;
  ASSERT_TRUE(f.service.PutDevice(nullptr, &put, &stored).ok());
  EXPECT_EQ(stored.revision().number(), 1u);

  put.mutable_device()->set_wan_address("not-an-address");
  EXPECT_EQ(f.service.PutDevice(nullptr, &put, &stored).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetDeviceRequest get;
  get.set_name("nope");
  EXPECT_EQ(f.service.GetDevice(nullptr, &get, &stored).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Hostile requests as a stranger sends them: refused with INVALID_ARGUMENT
// naming the field and the limit (never echoing the input), counted, and
// nothing already stored changes.
TEST(ControllerService, RequestsOverTheLimitsAreRefusedAndNothingStoredChanges) {
  Fixture f;
  v1::PutDeviceRequest put;
  put.mutable_device()->set_name("hub");
  put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
  put.mutable_device()->set_wan_address("198.51.100.1");
  v1::Device stored;
  ASSERT_TRUE(f.service.PutDevice(nullptr, &put, &stored).ok());

  auto refused = [&](const v1::PutDeviceRequest& r) {
    v1::Device out;
    grpc::Status st = f.service.PutDevice(nullptr, &r, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_LT(st.error_message().size(), 200u);
    return st.error_message();
  };
  v1::PutDeviceRequest bad = put;
  bad.mutable_device()->set_name(std::string(8000, 'a'));
  EXPECT_EQ(refused(bad), "device.name: 8000 bytes; at most 1024");
  bad = put;
  bad.mutable_device()->set_name(std::string(500, 'a'));
  EXPECT_THAT(refused(bad), HasSubstr("...' must be 1..63"));
  bad = put;
  bad.mutable_device()->set_kind(static_cast<v1::DeviceKind>(99));
  EXPECT_EQ(refused(bad), "device.kind: 99 is not a DeviceKind");
  bad = put;
  bad.mutable_device()->set_wan_address(std::string("198.51.100.1\0x", 14));
  EXPECT_EQ(refused(bad), "device.wan_address: holds a NUL character");
  for (const char* wan : {"0.0.0.0", "::", "127.0.0.1", "224.0.0.5", "255.255.255.255"}) {
    bad = put;
    bad.mutable_device()->set_wan_address(wan);
    EXPECT_THAT(refused(bad), HasSubstr("peers must be able to reach it")) << wan;
  }
  bad = put;
  bad.mutable_device()->set_management_endpoint("0.0.0.0:7403");
  EXPECT_THAT(refused(bad), HasSubstr("unspecified"));
  bad = put;
  for (int i = 0; i < 65; ++i) (*bad.mutable_device()->mutable_labels())[absl::StrCat("k", i)] = "v";
  EXPECT_EQ(refused(bad), "device.labels: 65 items; at most 64");

  v1::PutTemplateRequest tmpl;
  tmpl.mutable_template_()->set_name("t");
  tmpl.mutable_template_()->set_output(static_cast<v1::TemplateOutput>(7));
  tmpl.mutable_template_()->set_body("crypto isakmp policy 10\n");
  v1::Template stored_template;
  EXPECT_EQ(f.service.PutTemplate(nullptr, &tmpl, &stored_template).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ValidateRequest validate;
  validate.add_devices("nobody");
  v1::ValidateResponse validated;
  EXPECT_EQ(f.service.Validate(nullptr, &validate, &validated).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::GetDeviceRequest get;
  get.set_name("hub");
  ASSERT_TRUE(f.service.GetDevice(nullptr, &get, &stored).ok());
  EXPECT_EQ(stored.wan_address(), "198.51.100.1");
  EXPECT_EQ(stored.revision().number(), 1u);
}

// Lists come in pages that never outgrow gRPC's 4 MB: every device once, in
// order, across pages; a page token still works after its device is gone.
TEST(ControllerService, ListsComeInPages) {
  Fixture f;
  const int n = 2345;
  for (int i = 0; i < n; ++i) {
    v1::PutDeviceRequest put;
    put.mutable_device()->set_name(absl::StrCat("edge", 10000 + i));
    put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
    put.mutable_device()->set_wan_address(absl::StrCat("198.51.", 100 + i / 250, ".", 1 + i % 250));
    v1::Device stored;
    ASSERT_TRUE(f.service.PutDevice(nullptr, &put, &stored).ok()) << i;
  }
  v1::ListDevicesRequest req;
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    v1::ListDevicesResponse page;
    ASSERT_TRUE(f.service.ListDevices(nullptr, &req, &page).ok());
    ++pages;
    EXPECT_LE(page.devices_size(), 1000);
    for (const auto& d : page.devices()) seen.push_back(d.name());
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
    if (pages == 1) {  // the page's last device goes away between two calls
      v1::DeleteDeviceRequest del;
      del.set_name(page.next_page_token());
      v1::DeleteDeviceResponse gone;
      ASSERT_TRUE(f.service.DeleteDevice(nullptr, &del, &gone).ok());
    }
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), static_cast<size_t>(n));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());

  req.Clear();
  req.set_page_size(7);
  v1::ListDevicesResponse small;
  ASSERT_TRUE(f.service.ListDevices(nullptr, &req, &small).ok());
  EXPECT_EQ(small.devices_size(), 7);
  EXPECT_EQ(small.next_page_token(), "edge10006");
}

// A PKI that records the registrations it is told, or refuses them.
class RecordingPki final : public vpnfleet::pki::v1::PkiService::Service {
 public:
  grpc::Status RegisterDevice(grpc::ServerContext*, const vpnfleet::pki::v1::RegisterDeviceRequest* req,
                              vpnfleet::pki::v1::DeviceRegistration* resp) override {
    if (refuse) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "down for the test");
    registered.push_back(*req);
    resp->set_device(req->device());
    return grpc::Status::OK;
  }
  bool refuse = false;
  std::vector<vpnfleet::pki::v1::RegisterDeviceRequest> registered;
};

// A device whose address changes is re-registered with the PKI first (its
// next certificate renewal then carries the new address); if the PKI cannot
// be told, nothing is stored.
TEST(ControllerService, AMovedDeviceIsReRegisteredWithThePki) {
  RecordingPki pki;
  grpc::ServerBuilder builder;
  builder.RegisterService(&pki);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  auto stub = vpnfleet::pki::v1::PkiService::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  Fixture f;
  ControllerServiceImpl service{&f.inventory, f.store.get(), &f.keys, &f.rollouts, &f.edges, stub.get(), f.registry,
                                f.authz.get()};
  v1::PutDeviceRequest put;
  put.mutable_device()->set_name("spoke1");
  put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
  put.mutable_device()->set_wan_address("198.51.100.11");
  v1::Device stored;
  ASSERT_TRUE(service.PutDevice(nullptr, &put, &stored).ok());
  EXPECT_TRUE(pki.registered.empty());  // new: its enrollment ticket registers it
  ASSERT_TRUE(service.PutDevice(nullptr, &put, &stored).ok());
  EXPECT_TRUE(pki.registered.empty());  // the same address: nothing to tell

  put.mutable_device()->set_wan_address("198.51.100.12");
  ASSERT_TRUE(service.PutDevice(nullptr, &put, &stored).ok());
  ASSERT_EQ(pki.registered.size(), 1u);
  EXPECT_EQ(pki.registered[0].device(), "spoke1");
  EXPECT_EQ(pki.registered[0].subject_cn(), "spoke1");
  ASSERT_EQ(pki.registered[0].subject_alt_names_size(), 1);
  EXPECT_EQ(pki.registered[0].subject_alt_names(0), "IP:198.51.100.12");

  pki.refuse = true;
  put.mutable_device()->set_wan_address("198.51.100.13");
  grpc::Status st = service.PutDevice(nullptr, &put, &stored);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(st.error_message(), HasSubstr("PKI service"));
  v1::GetDeviceRequest get;
  get.set_name("spoke1");
  ASSERT_TRUE(service.GetDevice(nullptr, &get, &stored).ok());
  EXPECT_EQ(stored.wan_address(), "198.51.100.12");  // unchanged
  server->Shutdown();
}

TEST(ControllerService, DeletingADeviceForgetsItsPairKeys) {
  Fixture f;
  int host = 0;
  for (const char* name : {"hub", "spoke1", "spoke2"}) {
    v1::PutDeviceRequest put;
    put.mutable_device()->set_name(name);
    put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
    put.mutable_device()->set_wan_address(absl::StrCat("198.51.100.", ++host));
    v1::Device stored;
    grpc::Status st = f.service.PutDevice(nullptr, &put, &stored);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  const std::string old_key = *f.keys.Get("hub", "spoke1");
  ASSERT_TRUE(f.keys.Get("hub", "spoke2").ok());
  ASSERT_TRUE(f.keys.Flush().ok());
  ASSERT_EQ(f.store->List(PairKeys::kKind)->size(), 2u);

  v1::DeleteDeviceRequest del;
  del.set_name("spoke1");
  v1::DeleteDeviceResponse resp;
  ASSERT_TRUE(f.service.DeleteDevice(nullptr, &del, &resp).ok());
  auto left = *f.store->List(PairKeys::kKind);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].name, "hub|spoke2");
  // A new spoke1 gets a new key.
  EXPECT_NE(*f.keys.Get("hub", "spoke1"), old_key);
}

TEST(ControllerService, TemplatesWithBrokenSyntaxAreRefused) {
  Fixture f;
  v1::PutTemplateRequest put;
  put.mutable_template_()->set_name("t");
  put.mutable_template_()->set_output(v1::TEMPLATE_OUTPUT_POLICY);
  put.mutable_template_()->set_body("crypto map {{#peers}}X 10\n");
  v1::Template t;
  grpc::Status st = f.service.PutTemplate(nullptr, &put, &t);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("template t: body:"));
}

TEST(ControllerService, ImportReportsLinesAndHidesKeys) {
  Fixture f;
  v1::ImportIosConfigRequest req;
  req.set_device("r1");
  req.set_config_text("crypto isakmp key Secret123 address 192.0.2.1\ncrypto map M 10 ipsec-isakmp\n set pfs group77\n"
                       "!\nrouter ospf 1\n network 10.0.0.0 0.255.255.255 area 0\n");
  v1::ImportIosConfigResponse resp;
  ASSERT_TRUE(f.service.ImportIosConfig(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.diagnostics_size(), 1);
  EXPECT_EQ(resp.diagnostics(0).line(), 3u);
  ASSERT_EQ(resp.skipped_size(), 2);  // the separator, then the routing
  EXPECT_EQ(resp.skipped(1).first_line(), 5u);
  EXPECT_EQ(resp.skipped(1).last_line(), 6u);
  EXPECT_EQ(resp.skipped(1).reason(), ios::kSkipNotCrypto);
  EXPECT_EQ(resp.policy().pre_shared_keys(0).key(), "");
  EXPECT_TRUE(resp.policy().pre_shared_keys(0).key_set());
}

TEST(ControllerService, EnrollmentNeedsThePki) {
  Fixture f;
  v1::EnrollDeviceRequest req;
  req.set_device("hub");
  v1::EnrollmentTicket t;
  EXPECT_EQ(f.service.EnrollDevice(nullptr, &req, &t).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

v1::PutDeviceRequest DeviceRequest(const std::string& name, int host) {
  v1::PutDeviceRequest put;
  put.mutable_device()->set_name(name);
  put.mutable_device()->set_kind(v1::DEVICE_KIND_VPNFLEET);
  put.mutable_device()->set_wan_address(absl::StrCat("198.51.100.", host));
  return put;
}

std::string Describe(const v1::FleetEvent& e) {
  return absl::StrCat(v1::FleetEvent::Type_Name(e.type()), " ", v1::FleetObjectKind_Name(e.kind()), " ", e.name(),
                      e.initial() ? " initial" : "");
}

// The service over loopback TCP in plaintext, with a client stub.
struct Loopback {
  explicit Loopback(grpc::Service* service) {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service);
    server = builder.BuildAndStart();
    if (server == nullptr || port == 0) {
      server.reset();
      return;
    }
    stub = v1::ControllerService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<v1::ControllerService::Stub> stub;
};

// A watcher gets the fleet as it is, a SYNCED mark, then each change as it
// is committed, only of the kinds it asked for.
TEST(ControllerService, WatchFleetSendsTheStateThenEveryChange) {
  Fixture f;
  v1::Device stored;
  ASSERT_TRUE(f.service.PutDevice(nullptr, ptr(DeviceRequest("hub", 1)), &stored).ok());
  // Over loopback TCP in plaintext: the authorizer names such a caller
  // "insecure" (the in-process transport names nobody), and the test's
  // policy lets everyone in.
  Loopback net(&f.service);
  ASSERT_NE(net.server, nullptr);
  auto& stub = net.stub;
  auto& server = net.server;

  grpc::ClientContext all_ctx, rollouts_ctx, bad_ctx;
  for (grpc::ClientContext* c : {&all_ctx, &rollouts_ctx, &bad_ctx}) {
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));  // a failure, not a hang
  }
  v1::WatchFleetRequest all;
  all.set_send_initial(true);
  auto all_stream = stub->WatchFleet(&all_ctx, all);
  // A stream's watch opens when the server runs its handler, after the call
  // returns here: SYNCED says it is open (no rollouts yet, so nothing else).
  v1::WatchFleetRequest only_rollouts;
  only_rollouts.add_kinds(v1::FLEET_OBJECT_KIND_ROLLOUT);
  only_rollouts.set_send_initial(true);
  auto rollout_stream = stub->WatchFleet(&rollouts_ctx, only_rollouts);
  v1::FleetEvent e;
  ASSERT_TRUE(rollout_stream->Read(&e));
  EXPECT_EQ(Describe(e), "TYPE_SYNCED FLEET_OBJECT_KIND_UNSPECIFIED ");
  ASSERT_TRUE(all_stream->Read(&e)) << [&] { auto st = all_stream->Finish(); return absl::StrCat(st.error_code(), " ", st.error_message()); }();
  EXPECT_EQ(Describe(e), "TYPE_PUT FLEET_OBJECT_KIND_DEVICE hub initial");
  EXPECT_EQ(e.device().wan_address(), "198.51.100.1");
  ASSERT_TRUE(all_stream->Read(&e));
  EXPECT_EQ(Describe(e), "TYPE_SYNCED FLEET_OBJECT_KIND_UNSPECIFIED ");

  ASSERT_TRUE(f.service.PutDevice(nullptr, ptr(DeviceRequest("spoke1", 2)), &stored).ok());
  v1::DeleteDeviceRequest del;
  del.set_name("spoke1");
  v1::DeleteDeviceResponse deleted;
  ASSERT_TRUE(f.service.DeleteDevice(nullptr, &del, &deleted).ok());
  v1::Rollout summary;
  summary.set_id("rollout-1");
  summary.set_state(v1::ROLLOUT_STATE_SUCCEEDED);
  summary.add_devices()->set_device("hub");
  ASSERT_TRUE(f.store->Commit({{RolloutEngine::kSummaryKind, "rollout-1", summary.SerializeAsString()}}, false, 0).ok());

  ASSERT_TRUE(all_stream->Read(&e));
  EXPECT_EQ(Describe(e), "TYPE_PUT FLEET_OBJECT_KIND_DEVICE spoke1");
  EXPECT_EQ(e.device().revision().number(), 2u);
  ASSERT_TRUE(all_stream->Read(&e));
  EXPECT_EQ(Describe(e), "TYPE_DELETED FLEET_OBJECT_KIND_DEVICE spoke1");
  ASSERT_TRUE(all_stream->Read(&e));
  EXPECT_EQ(Describe(e), "TYPE_PUT FLEET_OBJECT_KIND_ROLLOUT rollout-1");
  EXPECT_EQ(e.rollout().state(), v1::ROLLOUT_STATE_SUCCEEDED);
  EXPECT_EQ(e.rollout().devices_size(), 0);  // a summary
  ASSERT_TRUE(rollout_stream->Read(&e));  // only rollouts: no device came
  EXPECT_EQ(Describe(e), "TYPE_PUT FLEET_OBJECT_KIND_ROLLOUT rollout-1");

  v1::WatchFleetRequest bad;
  bad.add_kinds(static_cast<v1::FleetObjectKind>(99));
  auto bad_stream = stub->WatchFleet(&bad_ctx, bad);
  EXPECT_FALSE(bad_stream->Read(&e));
  EXPECT_EQ(bad_stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  all_ctx.TryCancel();
  rollouts_ctx.TryCancel();
  all_stream->Finish();
  rollout_stream->Finish();
  server->Shutdown();
}

// Each watch holds a server thread: past kMaxWatchers a replica refuses
// more with RESOURCE_EXHAUSTED, and a closed watch frees its place.
TEST(ControllerService, WatchesPastTheLimitAreRefused) {
  Fixture f;
  Loopback net(&f.service);
  ASSERT_NE(net.server, nullptr);
  auto& stub = net.stub;
  auto& server = net.server;
  v1::WatchFleetRequest req;
  req.set_send_initial(true);
  auto open = [&](grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    return stub->WatchFleet(ctx, req);
  };
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::FleetEvent>>> streams;
  v1::FleetEvent e;
  for (int i = 0; i < ControllerServiceImpl::kMaxWatchers; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    streams.push_back(open(contexts.back().get()));
    ASSERT_TRUE(streams.back()->Read(&e)) << "watch " << i;  // SYNCED: the watch is open
  }
  grpc::ClientContext over_ctx;
  auto over = open(&over_ctx);
  EXPECT_FALSE(over->Read(&e));
  grpc::Status refused = over->Finish();
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("try another replica"));
  contexts[0]->TryCancel();
  streams[0]->Finish();
  // The cancelled handler notices within its 1 s poll and gives its place back.
  bool reopened = false;
  for (int attempt = 0; attempt < 50 && !reopened; ++attempt) {
    grpc::ClientContext again_ctx;
    auto again = open(&again_ctx);
    reopened = again->Read(&e);
    again_ctx.TryCancel();
    again->Finish();
    if (!reopened) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(reopened);
  for (size_t i = 1; i < contexts.size(); ++i) contexts[i]->TryCancel();
  for (size_t i = 1; i < streams.size(); ++i) streams[i]->Finish();
  server->Shutdown();
}

// A follower answers what only reads, and refuses writes and whatever may
// create pair keys with the gate's status.
TEST(ControllerService, AFollowerAnswersReadsAndRefusesWrites) {
  Fixture f;
  v1::Device stored;
  ASSERT_TRUE(f.service.PutDevice(nullptr, ptr(DeviceRequest("hub", 1)), &stored).ok());
  f.service.SetLeaderGate([](bool read_only) {
    return read_only ? absl::OkStatus() : absl::UnavailableError("this controller replica follows; the leader is c-0");
  });
  v1::GetDeviceRequest get;
  get.set_name("hub");
  EXPECT_TRUE(f.service.GetDevice(nullptr, &get, &stored).ok());
  v1::ListRolloutsResponse rollouts;
  EXPECT_TRUE(f.service.ListRollouts(nullptr, ptr(v1::ListRolloutsRequest()), &rollouts).ok());
  grpc::Status put = f.service.PutDevice(nullptr, ptr(DeviceRequest("spoke", 2)), &stored);
  EXPECT_EQ(put.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(put.error_message(), HasSubstr("the leader is c-0"));
  v1::RenderTemplateResponse rendered;
  EXPECT_EQ(f.service.RenderTemplate(nullptr, ptr(v1::RenderTemplateRequest()), &rendered).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  v1::RolloutPlan plan;
  EXPECT_EQ(f.service.PlanRollout(nullptr, ptr(v1::PlanRolloutRequest()), &plan).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace vpnfleet::controller
