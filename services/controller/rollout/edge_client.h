// How the controller reaches an edge: the edge's IKE service (vpnfleet.ike.v1)
// at the device's management endpoint. The seam tests and the 10,000-edge
// benchmark replace; GrpcEdgeClient is the real one.
#ifndef VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_EDGE_CLIENT_H_
#define VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_EDGE_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/security/tls.h"
#include "vpnfleet/controller/v1/controller.pb.h"
#include "vpnfleet/ike/v1/ike.pb.h"

namespace vpnfleet::controller {

class EdgeClient {
 public:
  virtual ~EdgeClient() = default;

  // What the edge runs (keys write-only: key_set).
  virtual absl::StatusOr<vpnfleet::ike::v1::IkeConfig> GetConfig(const v1::Device& device) = 0;
  // Replaces the edge's whole IKE configuration atomically (or only checks
  // it); returns the edge's new configuration revision. With
  // `expected_revision` (not 0) the edge refuses (FailedPrecondition) unless
  // its configuration is at that revision.
  virtual absl::StatusOr<uint64_t> ReplaceConfig(const v1::Device& device,
                                                 const vpnfleet::ike::v1::IkeConfig& config, bool validate_only,
                                                 uint64_t expected_revision) = 0;
  virtual absl::Status Initiate(const v1::Device& device, const std::string& crypto_map, uint32_t sequence,
                                const std::string& peer) = 0;
  virtual absl::StatusOr<vpnfleet::ike::v1::ListChildSasResponse> ListChildSas(const v1::Device& device) = 0;
  virtual absl::StatusOr<vpnfleet::ike::v1::ListIkeSasResponse> ListIkeSas(const v1::Device& device) = 0;
};

// gRPC to each device's management_endpoint (host:port or unix:PATH), one
// channel per endpoint, each call with `deadline_ms`. Every call carries the
// device name as metadata `vpnfleet-device`, so one endpoint may front many
// devices (a management proxy, the benchmark's simulator).
// Calls edges with mutual TLS (or plaintext when `security.insecure`), each
// edge's server certificate checked against `identity` with "{device}"
// replaced by the device's name.
std::unique_ptr<EdgeClient> NewGrpcEdgeClient(int deadline_ms, security::ClientSecurity security,
                                              std::string identity = "spiffe://*/edge/{device}");

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_ROLLOUT_EDGE_CLIENT_H_
