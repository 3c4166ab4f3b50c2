// DataplaneClient over vpnfleet.dataplane.v1.DataplaneService (gRPC).
#ifndef VPNFLEET_SERVICES_IKE_DATAPLANE_GRPC_DATAPLANE_CLIENT_H_
#define VPNFLEET_SERVICES_IKE_DATAPLANE_GRPC_DATAPLANE_CLIENT_H_

#include <memory>
#include <mutex>

#include "absl/time/time.h"
#include "services/ike/dataplane/dataplane_client.h"
#include "vpnfleet/dataplane/v1/dataplane.grpc.pb.h"

namespace vpnfleet::ike {

class GrpcDataplaneClient : public DataplaneClient {
 public:
  // `timeout` bounds every unary call.
  explicit GrpcDataplaneClient(std::shared_ptr<grpc::ChannelInterface> channel,
                               absl::Duration timeout = absl::Seconds(5));

  absl::Status AddSa(const vpnfleet::dataplane::v1::SecurityAssociation& sa) override;
  absl::Status DeleteSa(const vpnfleet::dataplane::v1::SaKey& key) override;
  absl::StatusOr<uint64_t> AddPolicy(const vpnfleet::dataplane::v1::SpdPolicy& policy) override;
  absl::Status DeletePolicy(uint64_t id) override;
  absl::StatusOr<std::vector<SaCounterEntry>> Counters(
      const vpnfleet::dataplane::v1::SaKey* only) override;
  absl::StatusOr<std::vector<vpnfleet::dataplane::v1::SpdPolicy>> ListPolicies() override;
  absl::Status Ping() override;
  absl::Status Watch(
      const std::function<void(const vpnfleet::dataplane::v1::DataplaneEvent&)>& sink) override;
  void CancelWatch() override;

 private:
  void Bound(grpc::ClientContext* ctx) const;

  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<vpnfleet::dataplane::v1::DataplaneService::Stub> stub_;
  absl::Duration timeout_;
  std::mutex watch_mu_;
  grpc::ClientContext* watch_ = nullptr;  // the stream being read, if any
  bool cancelled_ = false;
};

}  // namespace vpnfleet::ike

#endif  // VPNFLEET_SERVICES_IKE_DATAPLANE_GRPC_DATAPLANE_CLIENT_H_
