// vpnfleet: the command line of the fleet, speaking to every service over
// gRPC. Text output reads like IOS; `-o json` gives JSON for scripts.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/call_command.h"
#include "cli/controller_command.h"
#include "cli/ike_command.h"
#include "cli/pki_command.h"
#include "cli/grpc_probe.h"
#include "cli/status_command.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/grpc.h"
#include "grpcpp/client_context.h"
#include "vpnfleet/ike/v1/ike.grpc.pb.h"
#include "vpnfleet/pki/v1/pki.grpc.pb.h"
#include "common/config/config_file.h"

ABSL_FLAG(std::string, config, "", "Configuration file of 'name = value' lines.");
ABSL_FLAG(std::string, output, "text", "Output format: text or json (also -o json).");
ABSL_FLAG(std::string, controller, "", "Controller address (default $VPNFLEET_CONTROLLER or unix:/run/vpnfleet/controller.sock).");
ABSL_FLAG(std::string, pki, "", "PKI service address (default $VPNFLEET_PKI or unix:/run/vpnfleet/pki.sock).");
ABSL_FLAG(std::string, ike, "", "IKE service address (default $VPNFLEET_IKE or unix:/run/vpnfleet/ike.sock).");
ABSL_FLAG(std::string, dataplane, "", "Dataplane address (default $VPNFLEET_DATAPLANE or unix:/run/vpnfleet/dataplane.sock).");
ABSL_FLAG(int, timeout_ms, 3000, "Deadline of each RPC in milliseconds.");
ABSL_FLAG(std::string, tls_cert, "", "Client certificate (PEM) for TCP targets (default $VPNFLEET_TLS_CERT).");
ABSL_FLAG(std::string, tls_key, "", "Its private key (default $VPNFLEET_TLS_KEY).");
ABSL_FLAG(std::string, tls_ca, "", "CA bundle the services' certificates must chain to (default $VPNFLEET_TLS_CA).");
ABSL_FLAG(std::string, tls_server, "", "Identity the service must present, e.g. spiffe://*/controller/* (default: any from the CA).");
ABSL_FLAG(bool, tls12, false, "Also speak TLS 1.2 (default: TLS 1.3 only).");
ABSL_FLAG(bool, insecure, false, "Call TCP targets in plaintext (a lab whose services run --insecure).");
// pki
ABSL_FLAG(std::string, url, "", "SCEP server URL, http://host:port/scep.");
ABSL_FLAG(std::string, fingerprint, "", "SHA-256 fingerprint the CA certificate must have.");
ABSL_FLAG(std::string, challenge, "", "SCEP challenge password (from `vpnfleet pki challenge`).");
ABSL_FLAG(std::string, subject, "", "Certificate subject, e.g. \"CN=edge1,O=Example\".");
ABSL_FLAG(std::vector<std::string>, san, {}, "Subject alternative names: DNS:name,IP:address.");
ABSL_FLAG(std::string, key_type, "ecdsa-p256", "rsa-2048|rsa-3072|rsa-4096|ecdsa-p256|ecdsa-p384.");
ABSL_FLAG(std::string, key_file, "", "Private key file (PEM, written 0600).");
ABSL_FLAG(std::string, cert_file, "", "Certificate file (PEM).");
ABSL_FLAG(std::string, ca_file, "", "Where to save the CA certificate (PEM).");
ABSL_FLAG(int, poll_seconds, 5, "Interval between CertPoll requests while pending.");
ABSL_FLAG(int, wait_seconds, 300, "How long enroll polls a pending request.");
ABSL_FLAG(int, days_before, 30, "renew: renew when fewer days than this are left.");
ABSL_FLAG(bool, watch, false, "renew: keep running, check hourly and renew when due.");
ABSL_FLAG(std::string, device, "", "Device name (challenge, show ... --device).");
ABSL_FLAG(std::string, cn, "", "challenge: the CN the request must carry.");
ABSL_FLAG(std::string, reason, "", "revoke/reject: the reason.");
ABSL_FLAG(bool, approval, false, "challenge: hold the enrollment for approval.");
ABSL_FLAG(int, valid_seconds, 0, "challenge: validity (0 = the service's default).");
ABSL_FLAG(std::string, kind, "vpnfleet", "device add: vpnfleet or ios.");
ABSL_FLAG(std::string, wan, "", "device add: the WAN (tunnel endpoint) address.");
ABSL_FLAG(std::string, endpoint, "", "device add: its IKE service, host:port or unix:PATH.");
ABSL_FLAG(std::string, site, "", "device add/list: the site.");
ABSL_FLAG(std::string, role, "", "device add/list: the role (hub, spoke, ...).");
ABSL_FLAG(std::vector<std::string>, prefix, {}, "device add: inner prefixes, CIDR,CIDR.");
ABSL_FLAG(std::vector<std::string>, label, {}, "device add: labels, k=v,k=v.");
ABSL_FLAG(std::string, file, "", "template add: the template body (mustache producing IOS commands).");
ABSL_FLAG(std::string, topology, "", "template add: hub-and-spoke, full-mesh or pairs.");
ABSL_FLAG(std::string, auth, "psk", "template add: psk or certificate.");
ABSL_FLAG(std::string, hub_role, "", "template add: the hubs' role (default hub).");
ABSL_FLAG(std::vector<std::string>, pair, {}, "template add: explicit pairs a:b,c:d.");
ABSL_FLAG(std::vector<std::string>, summary, {}, "template add: hub-and-spoke summary prefixes, CIDR,...");
ABSL_FLAG(std::vector<std::string>, var, {}, "template add: variables, name=default,...");
ABSL_FLAG(std::vector<std::string>, required, {}, "template add: required variables.");
ABSL_FLAG(std::string, template_output, "policy", "template add: policy or ios.");
ABSL_FLAG(std::string, template_name, "", "data set/list: the template.");
ABSL_FLAG(std::string, base, "", "template render: base configuration to merge the configlet with.");
ABSL_FLAG(bool, prepend, false, "template render: put the configlet before the base configuration.");
ABSL_FLAG(int, canary, 1, "rollout apply: devices in the canary stage.");
ABSL_FLAG(int, batch, 10, "rollout apply: devices per batch after the canary.");
ABSL_FLAG(int, max_unavailable, 0, "rollout apply: devices changing at once (0 = the batch size).");
ABSL_FLAG(int, health_timeout, 60, "rollout apply: seconds for a stage's tunnels to come up.");
ABSL_FLAG(bool, auto_rollback, true, "rollout apply: roll a failed stage back.");
ABSL_FLAG(uint64_t, expected_revision, 0, "rollout apply: refuse unless the desired state is at this revision.");
ABSL_FLAG(std::string, pki_dir, "", "device enroll: the IKE daemon's trustpoint directory.");

namespace {

constexpr char kUsage[] = R"(vpnfleet: command line of the vpnfleet IPsec fleet.

Usage: vpnfleet [flags] COMMAND

Commands:
  status [SERVICE...]   health and APIs of the services (controller, pki, ike,
                        dataplane); exits 1 unless every one is SERVING
  pki COMMAND           SCEP enrollment of this edge (authenticate, enroll,
                        renew) and the CA's side (challenge, pending, approve,
                        reject, revoke, crl, ca); `vpnfleet pki` lists them
  show crypto pki certificates [--device NAME]
                        issued certificates and the CA, in the IOS layout
  show crypto isakmp sa | show crypto ipsec sa
                        the IKE daemon's IKE and CHILD SAs (--ike ADDRESS)
  clear crypto sa | clear crypto session [PEER] | clear crypto isakmp CONN-ID
                        delete SAs (the peer is told)
  device | template | data | import ios | validate | rollout | watch
                        the controller: inventory, VPNSC templates and data
                        sets, IOS import, fleet validation, staged rollouts,
                        the fleet's changes as they come; `vpnfleet device`
                        lists them
  show crypto isakmp sa --device NAME | show crypto ipsec sa --device NAME
                        a device's SAs, through the controller
  call METHOD [JSON]    any RPC by name (package.Service/Method), the request as
                        proto3 JSON, responses printed as JSON (like grpcurl)

Flags:
  -o, --output text|json      output format
  --controller/--pki/--ike/--dataplane ADDRESS
                              where the services listen: host:port or unix:PATH
  --timeout_ms N              deadline of each RPC
  --config FILE               settings as 'name = value' lines)";

std::string Target(const std::string& flag, const char* env, const std::string& name) {
  if (!flag.empty()) return flag;
  if (const char* v = std::getenv(env); v != nullptr && *v != '\0') return v;
  return absl::StrCat("unix:/run/vpnfleet/", name, ".sock");
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  // `-o json` is what kubectl users type; absl spells it --output=json.
  std::vector<std::string> raw;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-o" || a == "--o") && i + 1 < argc) {
      raw.push_back(absl::StrCat("--output=", argv[++i]));
    } else if (a.rfind("-o=", 0) == 0) {
      raw.push_back(absl::StrCat("--output=", a.substr(3)));
    } else {
      raw.push_back(a);
    }
  }
  std::vector<char*> raw_ptrs;
  for (auto& a : raw) raw_ptrs.push_back(a.data());
  auto expanded = vpnfleet::config::ExpandArgs(static_cast<int>(raw_ptrs.size()), raw_ptrs.data());
  if (!expanded.ok()) {
    std::cerr << "vpnfleet: " << expanded.status().message() << "\n";
    return 2;
  }
  std::vector<char*> args;
  for (auto& a : *expanded) args.push_back(a.data());
  std::vector<char*> rest = absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  // Before anything touches OpenSSL (SCEP enrollment does).
  vpnfleet::security::RestrictTlsVersions(absl::GetFlag(FLAGS_tls12));
  vpnfleet::security::RouteGrpcLogs();

  const std::string output = absl::GetFlag(FLAGS_output);
  if (output != "text" && output != "json") {
    std::cerr << "vpnfleet: --output must be text or json\n";
    return 2;
  }
  if (rest.size() < 2) {
    std::cerr << kUsage << "\n";
    return 2;
  }
  const std::string command = rest[1];
  const auto timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  {
    auto env_or = [](const std::string& flag, const char* env) {
      const char* v = getenv(env);
      return !flag.empty() ? flag : v != nullptr ? std::string(v) : std::string();
    };
    vpnfleet::security::ClientSecurity sec;
    sec.tls.files.cert = env_or(absl::GetFlag(FLAGS_tls_cert), "VPNFLEET_TLS_CERT");
    sec.tls.files.key = env_or(absl::GetFlag(FLAGS_tls_key), "VPNFLEET_TLS_KEY");
    sec.tls.files.ca = env_or(absl::GetFlag(FLAGS_tls_ca), "VPNFLEET_TLS_CA");
    sec.tls.peer_identity = absl::GetFlag(FLAGS_tls_server);
    sec.insecure = absl::GetFlag(FLAGS_insecure);
    vpnfleet::cli::SetClientSecurity(sec);
  }

  if (command == "call") {
    if (rest.size() < 3 || rest.size() > 4) {
      std::cerr << "vpnfleet call METHOD [JSON]\n";
      return 2;
    }
    vpnfleet::cli::CallOptions co;
    co.method = rest[2];
    if (rest.size() == 4) co.request_json = rest[3];
    co.timeout = timeout;
    co.json = output == "json";
    co.targets = {
        {"controller", Target(absl::GetFlag(FLAGS_controller), "VPNFLEET_CONTROLLER", "controller")},
        {"pki", Target(absl::GetFlag(FLAGS_pki), "VPNFLEET_PKI", "pki")},
        {"ike", Target(absl::GetFlag(FLAGS_ike), "VPNFLEET_IKE", "ike")},
        {"dataplane", Target(absl::GetFlag(FLAGS_dataplane), "VPNFLEET_DATAPLANE", "dataplane")},
      };
    return vpnfleet::cli::RunCall(co, std::cout, std::cerr);
  }
  if (command == "status") {
    std::vector<vpnfleet::cli::ServiceTarget> all = {
        {"controller", "vpnfleet.controller.v1.ControllerService",
         Target(absl::GetFlag(FLAGS_controller), "VPNFLEET_CONTROLLER", "controller")},
        {"pki", "vpnfleet.pki.v1.PkiService",
         Target(absl::GetFlag(FLAGS_pki), "VPNFLEET_PKI", "pki")},
        {"ike", "vpnfleet.ike.v1.IkeService",
         Target(absl::GetFlag(FLAGS_ike), "VPNFLEET_IKE", "ike")},
        {"dataplane", "vpnfleet.dataplane.v1.DataplaneService",
         Target(absl::GetFlag(FLAGS_dataplane), "VPNFLEET_DATAPLANE", "dataplane")},
    };
    std::vector<vpnfleet::cli::ServiceTarget> chosen;
    for (size_t i = 2; i < rest.size(); ++i) {
      bool found = false;
      for (const auto& t : all) {
        if (t.name == rest[i]) {
          chosen.push_back(t);
          found = true;
        }
      }
      if (!found) {
        std::cerr << "vpnfleet status: unknown service '" << rest[i]
                  << "' (controller, pki, ike, dataplane)\n";
        return 2;
      }
    }
    if (chosen.empty()) chosen = all;
    return vpnfleet::cli::RunStatus(chosen, output == "json", timeout, std::cout);
  }
  const std::string pki_target = Target(absl::GetFlag(FLAGS_pki), "VPNFLEET_PKI", "pki");
  const std::string ike_target = Target(absl::GetFlag(FLAGS_ike), "VPNFLEET_IKE", "ike");
  if (command == "pki") {
    vpnfleet::cli::PkiCliOptions o;
    o.json = output == "json";
    o.pki_target = pki_target;
    o.timeout = timeout;
    o.url = absl::GetFlag(FLAGS_url);
    o.fingerprint = absl::GetFlag(FLAGS_fingerprint);
    o.challenge = absl::GetFlag(FLAGS_challenge);
    o.subject = absl::GetFlag(FLAGS_subject);
    o.sans = absl::GetFlag(FLAGS_san);
    o.key_type = absl::GetFlag(FLAGS_key_type);
    o.key_file = absl::GetFlag(FLAGS_key_file);
    o.cert_file = absl::GetFlag(FLAGS_cert_file);
    o.ca_file = absl::GetFlag(FLAGS_ca_file);
    o.poll_seconds = absl::GetFlag(FLAGS_poll_seconds);
    o.wait_seconds = absl::GetFlag(FLAGS_wait_seconds);
    o.days_before = absl::GetFlag(FLAGS_days_before);
    o.watch = absl::GetFlag(FLAGS_watch);
    o.device = absl::GetFlag(FLAGS_device);
    o.cn = absl::GetFlag(FLAGS_cn);
    o.reason = absl::GetFlag(FLAGS_reason);
    o.approval = absl::GetFlag(FLAGS_approval);
    o.valid_seconds = absl::GetFlag(FLAGS_valid_seconds);
    std::vector<std::string> args(rest.begin() + 2, rest.end());
    return vpnfleet::cli::RunPki(args, o, std::cout, std::cerr);
  }
  vpnfleet::cli::ControllerCliOptions co;
  co.json = output == "json";
  co.controller_target = Target(absl::GetFlag(FLAGS_controller), "VPNFLEET_CONTROLLER", "controller");
  co.timeout = timeout;
  co.kind = absl::GetFlag(FLAGS_kind);
  co.wan = absl::GetFlag(FLAGS_wan);
  co.endpoint = absl::GetFlag(FLAGS_endpoint);
  co.site = absl::GetFlag(FLAGS_site);
  co.role = absl::GetFlag(FLAGS_role);
  co.prefixes = absl::GetFlag(FLAGS_prefix);
  co.labels = absl::GetFlag(FLAGS_label);
  co.file = absl::GetFlag(FLAGS_file);
  co.topology = absl::GetFlag(FLAGS_topology);
  co.auth = absl::GetFlag(FLAGS_auth);
  co.hub_role = absl::GetFlag(FLAGS_hub_role);
  co.pairs = absl::GetFlag(FLAGS_pair);
  co.vars = absl::GetFlag(FLAGS_var);
  co.summary = absl::GetFlag(FLAGS_summary);
  co.required = absl::GetFlag(FLAGS_required);
  co.template_output = absl::GetFlag(FLAGS_template_output);
  co.template_name = absl::GetFlag(FLAGS_template_name);
  co.device = absl::GetFlag(FLAGS_device);
  co.base_file = absl::GetFlag(FLAGS_base);
  co.prepend = absl::GetFlag(FLAGS_prepend);
  co.canary = absl::GetFlag(FLAGS_canary);
  co.batch = absl::GetFlag(FLAGS_batch);
  co.max_unavailable = absl::GetFlag(FLAGS_max_unavailable);
  co.health_timeout = absl::GetFlag(FLAGS_health_timeout);
  co.auto_rollback = absl::GetFlag(FLAGS_auto_rollback);
  co.watch = absl::GetFlag(FLAGS_watch);
  co.expected_revision = absl::GetFlag(FLAGS_expected_revision);
  co.pki_dir = absl::GetFlag(FLAGS_pki_dir);
  co.pki.key_type = absl::GetFlag(FLAGS_key_type);
  co.pki.poll_seconds = absl::GetFlag(FLAGS_poll_seconds);
  co.pki.wait_seconds = absl::GetFlag(FLAGS_wait_seconds);
  co.pki.timeout = timeout;
  if (command == "device" || command == "template" || command == "data" || command == "import" ||
      command == "validate" || command == "rollout" || command == "watch") {
    std::vector<std::string> args(rest.begin() + 1, rest.end());
    return vpnfleet::cli::RunController(args, co, std::cout, std::cerr);
  }
  if (command == "show") {
    std::vector<std::string> words(rest.begin() + 2, rest.end());
    if (!co.device.empty() && words.size() == 3 && words[0] == "crypto" &&
        (words[1] == "isakmp" || words[1] == "ipsec") && words[2] == "sa") {
      return vpnfleet::cli::ShowDevice(words[1], co, std::cout, std::cerr);
    }
    if (words == std::vector<std::string>{"crypto", "pki", "certificates"}) {
      namespace pv1 = vpnfleet::pki::v1;
      auto stub = pv1::PkiService::NewStub(vpnfleet::cli::Dial(pki_target));
      pv1::CaInfo ca;
      pv1::ListCertificatesResponse certs;
      grpc::ClientContext c1, c2;
      c1.set_deadline(std::chrono::system_clock::now() + timeout);
      c2.set_deadline(std::chrono::system_clock::now() + timeout);
      grpc::Status st = stub->GetCaInfo(&c1, pv1::GetCaInfoRequest(), &ca);
      pv1::ListCertificatesRequest req;
      req.set_device(absl::GetFlag(FLAGS_device));
      if (st.ok()) st = stub->ListCertificates(&c2, req, &certs);
      if (!st.ok()) {
        std::cerr << "vpnfleet show crypto pki certificates: " << st.error_message() << "\n";
        return 1;
      }
      if (output == "json") {
        for (auto& c : *certs.mutable_certificates()) c.clear_der();
        std::string json;
        google::protobuf::util::JsonPrintOptions jo;
        jo.preserve_proto_field_names = true;
        jo.add_whitespace = true;
        (void)google::protobuf::util::MessageToJsonString(certs, &json, jo);
        std::cout << json;
        return 0;
      }
      vpnfleet::cli::PrintCertificatesIos(
          ca, std::vector<pv1::Certificate>(certs.certificates().begin(), certs.certificates().end()),
          std::cout);
      return 0;
    }
    if (words == std::vector<std::string>{"crypto", "isakmp", "sa"} ||
        words == std::vector<std::string>{"crypto", "ipsec", "sa"}) {
      namespace iv1 = vpnfleet::ike::v1;
      auto stub = iv1::IkeService::NewStub(vpnfleet::cli::Dial(ike_target));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + timeout);
      google::protobuf::util::JsonPrintOptions jo;
      jo.preserve_proto_field_names = true;
      jo.add_whitespace = true;
      std::string json;
      if (words[1] == "isakmp") {
        iv1::ListIkeSasResponse sas;
        grpc::Status st = stub->ListIkeSas(&ctx, iv1::ListIkeSasRequest(), &sas);
        if (!st.ok()) {
          std::cerr << "vpnfleet show crypto isakmp sa: " << st.error_message() << "\n";
          vpnfleet::cli::ExplainFailure(st, ike_target, std::cerr);
          return 1;
        }
        if (output == "json") {
          (void)google::protobuf::util::MessageToJsonString(sas, &json, jo);
          std::cout << json;
        } else {
          vpnfleet::cli::PrintIsakmpSaIos(sas, absl::ToUnixSeconds(absl::Now()), std::cout);
        }
        return 0;
      }
      iv1::ListChildSasResponse sas;
      grpc::Status st = stub->ListChildSas(&ctx, iv1::ListChildSasRequest(), &sas);
      if (!st.ok()) {
        std::cerr << "vpnfleet show crypto ipsec sa: " << st.error_message() << "\n";
        return 1;
      }
      if (output == "json") {
        (void)google::protobuf::util::MessageToJsonString(sas, &json, jo);
        std::cout << json;
      } else {
        vpnfleet::cli::PrintIpsecSaIos(sas, std::cout);
      }
      return 0;
    }
    if (words == std::vector<std::string>{"crypto", "key", "mypubkey", "rsa"}) {
      namespace iv1 = vpnfleet::ike::v1;
      auto stub = iv1::IkeService::NewStub(vpnfleet::cli::Dial(ike_target));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + timeout);
      iv1::ListPublicKeysResponse keys;
      grpc::Status st = stub->ListPublicKeys(&ctx, iv1::ListPublicKeysRequest(), &keys);
      if (!st.ok()) {
        std::cerr << "vpnfleet show crypto key mypubkey rsa: " << st.error_message() << "\n";
        vpnfleet::cli::ExplainFailure(st, ike_target, std::cerr);
        return 1;
      }
      if (output == "json") {
        google::protobuf::util::JsonPrintOptions jo;
        jo.preserve_proto_field_names = true;
        jo.add_whitespace = true;
        std::string json;
        (void)google::protobuf::util::MessageToJsonString(keys, &json, jo);
        std::cout << json;
      } else {
        vpnfleet::cli::PrintMyPubkeyIos(keys, std::cout);
      }
      return 0;
    }
    std::cerr << "vpnfleet show: supported: crypto pki certificates, crypto isakmp sa, "
                 "crypto ipsec sa, crypto key mypubkey rsa\n";
    return 2;
  }
  if (command == "clear") {
    // IOS: `clear crypto sa`, `clear crypto session [remote PEER]`,
    // `clear crypto isakmp CONN-ID`.
    namespace iv1 = vpnfleet::ike::v1;
    std::vector<std::string> words(rest.begin() + 2, rest.end());
    iv1::TerminateRequest req;
    if (words == std::vector<std::string>{"crypto", "sa"} ||
        words == std::vector<std::string>{"crypto", "session"}) {
      req.set_all(true);
    } else if (words.size() == 3 && words[0] == "crypto" && words[1] == "session") {
      req.set_peer(words[2]);
    } else if (words.size() == 4 && words[0] == "crypto" && words[1] == "session" &&
               words[2] == "remote") {
      req.set_peer(words[3]);
    } else if (uint64_t id = 0; words.size() == 3 && words[0] == "crypto" &&
                                words[1] == "isakmp" && absl::SimpleAtoi(words[2], &id)) {
      req.set_ike_conn_id(id);
    } else {
      std::cerr << "vpnfleet clear: crypto sa | crypto session [remote] PEER | "
                   "crypto isakmp CONN-ID\n";
      return 2;
    }
    auto stub = iv1::IkeService::NewStub(vpnfleet::cli::Dial(ike_target));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    iv1::TerminateResponse resp;
    grpc::Status st = stub->Terminate(&ctx, req, &resp);
    if (!st.ok()) {
      std::cerr << "vpnfleet clear: " << st.error_message() << "\n";
      vpnfleet::cli::ExplainFailure(st, ike_target, std::cerr);
      return 1;
    }
    if (output == "json") {
      std::cout << "{\"terminated\": " << resp.terminated() << "}\n";
    } else {
      std::cout << resp.terminated() << " IKE SA(s) deleted\n";
    }
    return 0;
  }
  std::cerr << "vpnfleet: unknown command '" << command << "'\n\n" << kUsage << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's background threads keep OpenSSL state that is freed when they
  // end: shut gRPC down (its threads joined) once every channel of the
  // command is gone, instead of exiting while they still run.
  grpc_init();
  const int rc = Main(argc, argv);
  grpc_shutdown_blocking();
  return rc;
}
