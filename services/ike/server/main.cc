// vpnfleet-ike: the IKE daemon.
#include <memory>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/random/rng.h"
#include "common/secrets/ike_config_secrets.h"
#include "common/server/daemon.h"
#include "grpcpp/create_channel.h"
#include "services/ike/dataplane/grpc_dataplane_client.h"
#include "services/ike/config/config_store.h"
#include "services/ike/daemon/sa_manager.h"
#include "services/ike/daemon/trustpoint_renewer.h"
#include "services/ike/io/ike_socket.h"
#include "services/ike/server/ike_service.h"
#include "services/pki/http/civet_transport.h"

ABSL_FLAG(uint32_t, ike_port, 500, "UDP port for IKE.");
ABSL_FLAG(uint32_t, natt_port, 4500,
          "UDP port for IKE after NAT detection (and ESP in UDP, which is the dataplane's).");
ABSL_FLAG(std::string, dataplane, "",
          "The dataplane's gRPC address (e.g. unix:/run/vpnfleet/dataplane.sock). Empty: "
          "negotiate only, install nothing.");
ABSL_FLAG(std::string, dataplane_punt, "",
          "The dataplane's punt socket (its --ike_punt_socket): IKE on the NAT-T port goes "
          "through it. Empty: bind --natt_port here.");
ABSL_FLAG(std::string, punt_socket, "/run/vpnfleet/ike-punt.sock",
          "Our end of the punt channel (with --dataplane_punt).");
ABSL_FLAG(std::string, pki_dir, "/var/lib/vpnfleet/ike/pki",
          "Trustpoint files: DIR/NAME/{ca,cert,key,crl}.pem, as `vpnfleet pki enroll` writes them.");
ABSL_FLAG(absl::Duration, trustpoint_check_interval, absl::Seconds(30),
          "How often trustpoints with `auto-enroll` are checked for renewal (and their CRLs, with "
          "`revocation-check crl`, for refresh).");
ABSL_FLAG(absl::Duration, crl_refresh, absl::Minutes(15),
          "A trustpoint's CRL is fetched from its CA again this long after the last time.");
ABSL_FLAG(absl::Duration, ocsp_timeout, absl::Seconds(3),
          "How long to wait for an OCSP responder (`revocation-check ocsp`); IKE_AUTH waits at "
          "most 5 s for the verdict, then goes on to the next method.");
ABSL_FLAG(absl::Duration, half_open_timeout, absl::Seconds(10),
          "A responder's IKE SA that has not completed IKE_AUTH this long after IKE_SA_INIT "
          "is dropped.");
ABSL_FLAG(uint32_t, cookie_threshold, 64,
          "Half-open responder SAs above which an IKE_SA_INIT request is answered with a COOKIE "
          "and kept only when it returns it (RFC 7296 §2.6); 0: always.");
ABSL_FLAG(uint32_t, half_open_limit, 1000,
          "Responder SAs waiting for IKE_AUTH before new IKE_SA_INIT requests are dropped "
          "(cookies are asked for well before).");

ABSL_FLAG(int32_t, crypto_workers, -1,
          "Threads doing responders' Diffie-Hellman and signatures beside the engine thread; "
          "0: all on the engine thread; -1: one per CPU but one from 4 CPUs up, else 0 (handing "
          "an SA to a thread and back costs more than it frees on 2 busy CPUs).");

int main(int argc, char** argv) {
  return vpnfleet::server::RunDaemon(
      argc, argv, {"ike", 7403, 9403}, [](vpnfleet::server::DaemonContext& ctx) {
        using namespace vpnfleet::ike;
        SocketOptions so;
        so.port = static_cast<uint16_t>(absl::GetFlag(FLAGS_ike_port));
        so.natt_port = static_cast<uint16_t>(absl::GetFlag(FLAGS_natt_port));
        so.dataplane_punt = absl::GetFlag(FLAGS_dataplane_punt);
        so.punt_path = absl::GetFlag(FLAGS_punt_socket);
        auto sockets = IkeSockets::Open(so);
        if (!sockets.ok()) return sockets.status();
        std::shared_ptr<DataplaneClient> dataplane;
        if (!absl::GetFlag(FLAGS_dataplane).empty()) {
          auto dialled = vpnfleet::security::Dial(absl::GetFlag(FLAGS_dataplane),
                                                  ctx.host->client_security());
          if (!dialled.ok()) return dialled.status();
          dataplane = std::make_shared<GrpcDataplaneClient>(*dialled);
        }
        ManagerOptions mo;
        mo.half_open_limit = absl::GetFlag(FLAGS_half_open_limit);
        mo.half_open_timeout = absl::GetFlag(FLAGS_half_open_timeout);
        mo.cookie_threshold = absl::GetFlag(FLAGS_cookie_threshold);
        mo.pki_dir = absl::GetFlag(FLAGS_pki_dir);
        const int32_t workers = absl::GetFlag(FLAGS_crypto_workers);
        const unsigned cpus = std::thread::hardware_concurrency();
        mo.crypto_workers = workers >= 0 ? static_cast<size_t>(workers) : cpus >= 4 ? cpus - 1 : 0;
        // `revocation-check ocsp`: questions POSTed (RFC 6960 Appendix A.1).
        const int ocsp_timeout_ms =
            static_cast<int>(absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_ocsp_timeout)));
        mo.ocsp_post = [ocsp_timeout_ms](const std::string& url,
                                         const std::string& body) -> absl::StatusOr<std::string> {
          auto http = vpnfleet::pki::CivetTransport::ForUrl(url);
          if (!http.ok()) return http.status();
          (*http)->set_content_type("application/ocsp-request");
          (*http)->set_timeout_ms(ocsp_timeout_ms);
          auto r = (*http)->Post("", body);
          if (!r.ok()) return r.status();
          if (r->status != 200) {
            return absl::UnavailableError(absl::StrCat("OCSP responder answered HTTP ", r->status));
          }
          return std::move(r->body);
        };
        auto manager = std::make_shared<SaManager>(
            vpnfleet::SystemClock::Get(), vpnfleet::SystemRng::Get(), *std::move(sockets),
            dataplane, ctx.host->registry(), mo);
        auto store = std::make_shared<ConfigStore>(vpnfleet::SystemClock::Get());
        manager->Start();
        SaManager* m = manager.get();
        // Applied on the engine thread before the store keeps it: a change
        // the dataplane refuses is refused to the caller.
        absl::Status first = store->SetListener(
            [m](const vpnfleet::ike::v1::IkeConfig& config) -> absl::Status {
              vpnfleet::ike::v1::IkeConfig copy = config;
              absl::Status applied = m->ApplyConfigAndWait(copy);
              vpnfleet::secrets::WipeIkeConfig(&copy);  // this copy's keys, once applied
              return applied;
            });
        if (!first.ok()) {
          vpnfleet::log::Warn("IKE configuration not applied at start",
                              {{"error", std::string(first.message())}});
        }
        // `auto-enroll`: the trustpoints renew themselves over SCEP.
        RenewerOptions ro;
        ro.pki_dir = mo.pki_dir;
        ro.check_interval = absl::GetFlag(FLAGS_trustpoint_check_interval);
        ro.crl_refresh = absl::GetFlag(FLAGS_crl_refresh);
        ConfigStore* config_store = store.get();
        auto renewer = std::make_shared<TrustpointRenewer>(
            vpnfleet::SystemClock::Get(), [config_store] { return config_store->Get(); },
            [](const std::string& url)
                -> absl::StatusOr<std::unique_ptr<vpnfleet::pki::scep::HttpTransport>> {
              auto http = vpnfleet::pki::CivetTransport::ForUrl(url);
              if (!http.ok()) return http.status();
              return std::unique_ptr<vpnfleet::pki::scep::HttpTransport>(std::move(*http));
            },
            &ctx.host->registry(), ro);
        renewer->Start();
        auto service = std::make_shared<IkeServiceImpl>(store.get(), manager.get(),
                                                         ctx.host->registry(),
                                                         ctx.host->authorizer());
        ctx.host->AddService(service.get(), "vpnfleet.ike.v1.IkeService");
        ctx.keep_alive.push_back(manager);
        ctx.keep_alive.push_back(store);
        ctx.keep_alive.push_back(service);
        ctx.keep_alive.push_back(renewer);
        return absl::OkStatus();
      });
}
