// vpnfleet-pki: certificate authority and SCEP server.
#include <memory>

#include "common/server/daemon.h"
#include "services/pki/server/pki_service.h"

int main(int argc, char** argv) {
  return vpnfleet::server::RunDaemon(
      argc, argv, {"pki", 7402, 9402}, [](vpnfleet::server::DaemonContext& ctx) {
        auto service = std::make_shared<vpnfleet::pki::PkiServiceImpl>();
        ctx.host->AddService(service.get(), "vpnfleet.pki.v1.PkiService");
        ctx.keep_alive.push_back(service);
        return absl::OkStatus();
      });
}
