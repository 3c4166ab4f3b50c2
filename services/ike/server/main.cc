// vpnfleet-ike: the IKE daemon.
#include <memory>

#include "common/server/daemon.h"
#include "services/ike/config/config_store.h"
#include "services/ike/server/ike_service.h"

int main(int argc, char** argv) {
  return vpnfleet::server::RunDaemon(
      argc, argv, {"ike", 7403, 9403}, [](vpnfleet::server::DaemonContext& ctx) {
        auto store = std::make_shared<vpnfleet::ike::ConfigStore>(vpnfleet::SystemClock::Get());
        auto service = std::make_shared<vpnfleet::ike::IkeServiceImpl>(
            store.get(), ctx.host->registry());
        ctx.host->AddService(service.get(), "vpnfleet.ike.v1.IkeService");
        ctx.keep_alive.push_back(store);
        ctx.keep_alive.push_back(service);
        return absl::OkStatus();
      });
}
