// `vpnfleet watch [device|template|data|rollout ...]`: the fleet as it is,
// then every change as the controller commits it (WatchFleet), one line per
// event, or one JSON object per line with -o json. Runs until interrupted
// or the controller ends the stream (then exit 1: watch again).
#include "cli/controller_client.h"

#include <cstring>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace vpnfleet::cli {
namespace controller_cli {
namespace {

const std::map<std::string, v1::FleetObjectKind>& Kinds() {
  static const auto* kinds = new std::map<std::string, v1::FleetObjectKind>{
      {"device", v1::FLEET_OBJECT_KIND_DEVICE},
      {"template", v1::FLEET_OBJECT_KIND_TEMPLATE},
      {"data", v1::FLEET_OBJECT_KIND_DATA_SET},
      {"rollout", v1::FLEET_OBJECT_KIND_ROLLOUT},
  };
  return *kinds;
}

std::string KindWord(v1::FleetObjectKind k) {
  for (const auto& [word, kind] : Kinds()) {
    if (kind == k) return word;
  }
  return "?";
}

// "device spoke1 changed: revision 14, wan 198.51.100.7"
std::string Describe(const v1::FleetEvent& e) {
  std::string what = absl::StrCat(KindWord(e.kind()), " ", e.name());
  if (e.type() == v1::FleetEvent::TYPE_DELETED) return absl::StrCat(what, " deleted");
  std::string detail;
  switch (e.object_case()) {
    case v1::FleetEvent::kDevice:
      detail = absl::StrCat("revision ", e.device().revision().number(), ", wan ", e.device().wan_address());
      break;
    case v1::FleetEvent::kTemplate: detail = absl::StrCat("revision ", e.template_().revision().number()); break;
    case v1::FleetEvent::kDataSet:
      detail = absl::StrCat("revision ", e.data_set().revision().number(), ", template ", e.data_set().template_(),
                            ", device ", e.data_set().device());
      break;
    case v1::FleetEvent::kRollout: {
      const v1::Rollout& r = e.rollout();
      detail = absl::StrCat(absl::AsciiStrToLower(v1::RolloutState_Name(r.state()).substr(strlen("ROLLOUT_STATE_"))),
                            ", ", r.devices_done(), " of ", r.devices_total(), " done");
      if (r.devices_failed()) absl::StrAppend(&detail, ", ", r.devices_failed(), " failed");
      break;
    }
    default: break;
  }
  return absl::StrCat(what, e.initial() ? ": " : " changed: ", detail);
}

}  // namespace

int RunWatch(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
             std::ostream& err) {
  v1::WatchFleetRequest req;
  req.set_send_initial(true);
  for (size_t i = 1; i < a.size(); ++i) {
    auto it = Kinds().find(a[i]);
    if (it == Kinds().end()) {
      err << "vpnfleet watch: '" << a[i] << "' is not device, template, data or rollout\n";
      return 2;
    }
    req.add_kinds(it->second);
  }
  grpc::ClientContext ctx;  // no deadline: a watch runs until stopped
  auto reader = c.stub().WatchFleet(&ctx, req);
  v1::FleetEvent e;
  size_t initial = 0;
  while (reader->Read(&e)) {
    if (o.json) {
      std::string line;
      google::protobuf::util::JsonPrintOptions jo;
      jo.preserve_proto_field_names = true;
      (void)google::protobuf::util::MessageToJsonString(e, &line, jo);
      out << line << "\n" << std::flush;
      continue;
    }
    if (e.type() == v1::FleetEvent::TYPE_SYNCED) {
      out << "% " << initial << " object(s); watching for changes\n" << std::flush;
      continue;
    }
    if (e.initial()) ++initial;
    out << Describe(e) << "\n" << std::flush;
  }
  return c.Fail("watch", reader->Finish());
}

}  // namespace controller_cli
}  // namespace vpnfleet::cli
