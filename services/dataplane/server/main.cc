// vpnfleet-dataplane: the userspace IPsec forwarder.
#include <memory>

#include "absl/flags/flag.h"
#include "common/server/daemon.h"
#include "services/dataplane/server/dataplane_service.h"

ABSL_FLAG(bool, allow_legacy, false,
          "Accept SAs with legacy algorithms (DES, 3DES, HMAC-MD5).");

int main(int argc, char** argv) {
  using namespace vpnfleet::dataplane;
  return vpnfleet::server::RunDaemon(
      argc, argv, {"dataplane", 7404, 9404}, [](vpnfleet::server::DaemonContext& ctx) {
        SaTableOptions options;
        options.allow_legacy = absl::GetFlag(FLAGS_allow_legacy);
        auto sad = std::make_shared<SaTable>(vpnfleet::SystemClock::Get(), options);
        auto spd = std::make_shared<PolicyTable>();
        auto service = std::make_shared<DataplaneServiceImpl>(sad.get(), spd.get(),
                                                              ctx.host->registry());
        ctx.host->AddService(service.get(), "vpnfleet.dataplane.v1.DataplaneService");
        ctx.keep_alive.insert(ctx.keep_alive.end(), {sad, spd, service});
        return absl::OkStatus();
      });
}
