#include "common/api/field_limits.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace vpnfleet::api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

size_t Limit(const std::map<std::string, size_t>& exceptions, const FieldDescriptor* f, size_t fallback) {
  auto it = exceptions.find(f->full_name());
  return it == exceptions.end() ? fallback : it->second;
}

class Checker {
 public:
  explicit Checker(const FieldLimits& limits) : limits_(limits) {}

  absl::Status Walk(const Message& m, const std::string& path) {
    const Reflection* r = m.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    r->ListFields(m, &fields);
    for (const FieldDescriptor* f : fields) {
      const std::string name = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
      if (!f->is_repeated()) {
        if (auto st = One(m, f, -1, name); !st.ok()) return st;
        continue;
      }
      const int n = r->FieldSize(m, f);
      const size_t limit = Limit(limits_.repeated, f, limits_.max_repeated);
      if (static_cast<size_t>(n) > limit) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": ", n, " items; at most ", limit));
      }
      for (int i = 0; i < n; ++i) {
        if (auto st = One(m, f, i, absl::StrCat(name, "[", i, "]")); !st.ok()) return st;
      }
    }
    return absl::OkStatus();
  }

 private:
  // Field `f` of `m`, element `i` when repeated (-1 when not).
  absl::Status One(const Message& m, const FieldDescriptor* f, int i, const std::string& name) {
    const Reflection* r = m.GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string& s = i < 0 ? r->GetStringReference(m, f, &scratch)
                                     : r->GetRepeatedStringReference(m, f, i, &scratch);
        const size_t limit = Limit(limits_.string_bytes, f, limits_.max_string_bytes);
        if (s.size() > limit) {
          return absl::InvalidArgumentError(absl::StrCat(name, ": ", s.size(), " bytes; at most ", limit));
        }
        if (f->type() == FieldDescriptor::TYPE_STRING && s.find('\0') != std::string::npos) {
          return absl::InvalidArgumentError(absl::StrCat(name, ": holds a NUL character"));
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const int v = i < 0 ? r->GetEnumValue(m, f) : r->GetRepeatedEnumValue(m, f, i);
        if (f->enum_type()->FindValueByNumber(v) == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(name, ": ", v, " is not a ", f->enum_type()->name()));
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return Walk(i < 0 ? r->GetMessage(m, f) : r->GetRepeatedMessage(m, f, i), name);
      default:
        return absl::OkStatus();
    }
  }

  const FieldLimits& limits_;
};

}  // namespace

absl::Status CheckFieldLimits(const google::protobuf::Message& message, const FieldLimits& limits) {
  return Checker(limits).Walk(message, "");
}

}  // namespace vpnfleet::api
