#include "common/server/reflection_v1.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace vpnfleet::server {
namespace {

namespace rv1 = grpc::reflection::v1;
using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;

// Names are echoed back in errors only up to this length.
constexpr size_t kMaxEchoed = 100;

std::string Quoted(const std::string& s) {
  return absl::StrCat("'", s.size() > kMaxEchoed ? s.substr(0, kMaxEchoed) + "..." : s, "'");
}

void Fail(rv1::ServerReflectionResponse* r, grpc::StatusCode code, std::string message) {
  auto* e = r->mutable_error_response();
  e->set_error_code(static_cast<int32_t>(code));
  e->set_error_message(std::move(message));
}

// `file` (always: a client may ask twice) and the files it imports that
// this stream has not carried yet.
void AddFiles(const FileDescriptor* file, std::set<std::string>* sent, rv1::FileDescriptorResponse* out) {
  std::vector<const FileDescriptor*> todo = {file};
  std::vector<const FileDescriptor*> order;
  while (!todo.empty()) {
    const FileDescriptor* f = todo.back();
    todo.pop_back();
    if (!sent->insert(f->name()).second && f != file) continue;
    order.push_back(f);
    for (int i = 0; i < f->dependency_count(); ++i) todo.push_back(f->dependency(i));
  }
  // The file asked for comes first (clients read the first entry as the answer).
  for (const FileDescriptor* f : order) {
    google::protobuf::FileDescriptorProto proto;
    f->CopyTo(&proto);
    proto.SerializeToString(out->add_file_descriptor_proto());
  }
}

}  // namespace

ReflectionV1Service::ReflectionV1Service(std::vector<std::string> services) : services_(std::move(services)) {
  std::sort(services_.begin(), services_.end());
  services_.erase(std::unique(services_.begin(), services_.end()), services_.end());
}

rv1::ServerReflectionResponse ReflectionV1Service::Answer(const rv1::ServerReflectionRequest& req,
                                                          std::set<std::string>* sent) const {
  rv1::ServerReflectionResponse r;
  r.set_valid_host(req.host());
  *r.mutable_original_request() = req;
  const DescriptorPool* pool = DescriptorPool::generated_pool();
  const FileDescriptor* file = nullptr;
  switch (req.message_request_case()) {
    case rv1::ServerReflectionRequest::kListServices:
      for (const auto& s : services_) r.mutable_list_services_response()->add_service()->set_name(s);
      return r;
    case rv1::ServerReflectionRequest::kFileByFilename:
      file = pool->FindFileByName(req.file_by_filename());
      if (file == nullptr) {
        Fail(&r, grpc::StatusCode::NOT_FOUND, absl::StrCat("no file ", Quoted(req.file_by_filename())));
        return r;
      }
      break;
    case rv1::ServerReflectionRequest::kFileContainingSymbol:
      file = pool->FindFileContainingSymbol(req.file_containing_symbol());
      if (file == nullptr) {
        Fail(&r, grpc::StatusCode::NOT_FOUND, absl::StrCat("no symbol ", Quoted(req.file_containing_symbol())));
        return r;
      }
      break;
    case rv1::ServerReflectionRequest::kFileContainingExtension: {
      const auto& ext = req.file_containing_extension();
      const auto* type = pool->FindMessageTypeByName(ext.containing_type());
      const auto* field = type ? pool->FindExtensionByNumber(type, ext.extension_number()) : nullptr;
      if (field == nullptr) {
        Fail(&r, grpc::StatusCode::NOT_FOUND,
             absl::StrCat("no extension ", ext.extension_number(), " of ", Quoted(ext.containing_type())));
        return r;
      }
      file = field->file();
      break;
    }
    case rv1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const auto* type = pool->FindMessageTypeByName(req.all_extension_numbers_of_type());
      if (type == nullptr) {
        Fail(&r, grpc::StatusCode::NOT_FOUND,
             absl::StrCat("no message type ", Quoted(req.all_extension_numbers_of_type())));
        return r;
      }
      std::vector<const google::protobuf::FieldDescriptor*> fields;
      pool->FindAllExtensions(type, &fields);
      auto* out = r.mutable_all_extension_numbers_response();
      out->set_base_type_name(type->full_name());
      for (const auto* f : fields) out->add_extension_number(f->number());
      return r;
    }
    default:
      Fail(&r, grpc::StatusCode::UNIMPLEMENTED, "the request names no question this server knows");
      return r;
  }
  AddFiles(file, sent, r.mutable_file_descriptor_response());
  return r;
}

grpc::Status ReflectionV1Service::ServerReflectionInfo(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<rv1::ServerReflectionResponse, rv1::ServerReflectionRequest>* stream) {
  std::set<std::string> sent;
  rv1::ServerReflectionRequest req;
  while (!context->IsCancelled() && stream->Read(&req)) {
    if (!stream->Write(Answer(req, &sent))) break;
  }
  return grpc::Status::OK;
}

}  // namespace vpnfleet::server
