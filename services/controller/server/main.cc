// vpnfleet-controller: the fleet orchestrator.
#include <memory>

#include "common/server/daemon.h"
#include "services/controller/server/controller_service.h"

int main(int argc, char** argv) {
  using namespace vpnfleet::controller;
  return vpnfleet::server::RunDaemon(
      argc, argv, {"controller", 7401, 9401}, [](vpnfleet::server::DaemonContext& ctx) {
        auto inventory = std::make_shared<Inventory>(vpnfleet::SystemClock::Get());
        auto service = std::make_shared<ControllerServiceImpl>(inventory.get(),
                                                               ctx.host->registry());
        ctx.host->AddService(service.get(), "vpnfleet.controller.v1.ControllerService");
        ctx.keep_alive.insert(ctx.keep_alive.end(), {inventory, service});
        return absl::OkStatus();
      });
}
