// For tests: a real etcd (Debian's /usr/bin/etcd) of one or more members on
// loopback, in a temporary directory, stopped by PID and removed when the
// object goes. Members run with the transaction limits the controller's
// README asks of a production etcd.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ETCD_LOCAL_ETCD_H_
#define VPNFLEET_SERVICES_CONTROLLER_ETCD_LOCAL_ETCD_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace vpnfleet::controller {

class LocalEtcd {
 public:
  // Starts `members` members and waits until the cluster answers.
  static absl::StatusOr<std::unique_ptr<LocalEtcd>> Start(int members = 1);
  ~LocalEtcd();

  // "127.0.0.1:P1,127.0.0.1:P2,...": every member's client endpoint.
  std::string endpoints() const;
  std::string endpoint(int member) const { return members_[member].client; }
  // SIGKILLs one member (it stays down).
  void Kill(int member);

 private:
  struct Member {
    std::string name, client, peer;
    pid_t pid = -1;
  };
  LocalEtcd() = default;

  std::string dir_;
  std::vector<Member> members_;
};

// True when Debian's etcd is installed (tests skip with a reason otherwise).
bool EtcdInstalled();

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ETCD_LOCAL_ETCD_H_
