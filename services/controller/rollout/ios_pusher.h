// How the controller changes an `ios` device: over SSH, typed at the
// router's CLI as an engineer (or Ansible's ios_config) would.
//
// Apply reads `show running-config`, computes the commands that take the
// router's crypto policy to the configlet (IosDiffCommands: nothing outside
// the crypto policy is touched), saves the running configuration to
// flash:CHECKPOINT first, types the commands in `configure terminal`
// stopping at the first line the router refuses, and saves with `write
// memory`. Restore puts the checkpoint back with `configure replace
// flash:CHECKPOINT force` (IOS 12.3(7)T and later) and saves.
//
// The router must know the controller's public key for `user` at privilege
// 15; its host key must be in the known_hosts file (no trust on first use).
// Keys typed at the router are never logged or put in errors.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_IOS_PUSHER_H_
#define VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_IOS_PUSHER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {

class IosPusher {
 public:
  virtual ~IosPusher() = default;
  // Returns what was done ("12 commands", or "no change"). ABORTED: the
  // router may be half-changed (Restore undoes it); any other error: it was
  // not changed.
  virtual absl::StatusOr<std::string> Apply(const v1::Device& device, const std::string& configlet,
                                            const std::string& checkpoint) = 0;
  virtual absl::Status Restore(const v1::Device& device, const std::string& checkpoint) = 0;
};

struct SshIosOptions {
  std::string user = "vpnfleet";
  std::string private_key_file;  // the controller's key (OpenSSH format)
  std::string known_hosts_file;  // the routers' host keys, OpenSSH known_hosts
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration command_timeout = absl::Seconds(60);  // `configure replace` can take a while
};

// Each device's management_endpoint is its SSH address, host:port.
std::unique_ptr<IosPusher> NewSshIosPusher(SshIosOptions options);

// A flash file name from a rollout id: [A-Za-z0-9-], prefixed vpnfleet-.
std::string IosCheckpointName(const std::string& rollout_id);

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_IOS_PUSHER_H_
