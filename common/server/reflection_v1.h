// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection), which
// Debian's gRPC 1.51 does not ship (it serves v1alpha): clients such as
// grpcurl, Postman and newer gRPC libraries ask v1 first. Answers come from
// the generated descriptor pool, so every message and service linked into
// the daemon can be described; list_services names what the host serves.
#ifndef VPNFLEET_COMMON_SERVER_REFLECTION_V1_H_
#define VPNFLEET_COMMON_SERVER_REFLECTION_V1_H_

#include <set>
#include <string>
#include <vector>

#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace vpnfleet::server {

class ReflectionV1Service final : public grpc::reflection::v1::ServerReflection::Service {
 public:
  // `services`: fully qualified names list_services answers with.
  explicit ReflectionV1Service(std::vector<std::string> services);

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::reflection::v1::ServerReflectionResponse,
                               grpc::reflection::v1::ServerReflectionRequest>* stream) override;

  // One answer; `sent` holds the files this stream already carried (each
  // file goes once per stream, as the protocol lets servers do).
  grpc::reflection::v1::ServerReflectionResponse Answer(const grpc::reflection::v1::ServerReflectionRequest& request,
                                                        std::set<std::string>* sent) const;

 private:
  std::vector<std::string> services_;
};

}  // namespace vpnfleet::server

#endif  // VPNFLEET_COMMON_SERVER_REFLECTION_V1_H_
