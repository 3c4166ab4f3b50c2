// The controller's desired state so far: devices, templates and data sets.
// One revision counter covers all of it, so every change is a revision.
// References are checked both ways: a data set names an existing template
// and device, and neither can be deleted while a data set uses it.
//
// Every change is committed to the Store (one desired-state revision each)
// before it is visible; the maps here are the working copy, read back from
// the store at start.
#ifndef VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_H_
#define VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_H_

#include <cstddef>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "google/protobuf/message.h"
#include "services/controller/store/store.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {


absl::Status ValidateDevice(const v1::Device& device);
absl::Status ValidateTemplate(const v1::Template& tmpl);

// A consistent copy of the desired state at one revision.
struct Snapshot {
  uint64_t revision = 0;
  std::map<std::string, v1::Device> devices;
  std::map<std::string, v1::Template> templates;
  std::map<std::string, v1::DataSet> data_sets;
};

class Inventory {
 public:
  Inventory(const Clock* clock, Store* store);

  // Reads devices, templates and data sets back from the store (all of them:
  // on error the copy stays as it was).
  absl::Status Load();

  // A follower's copy follows the leader's commits: applies changes a store
  // watch delivered (other kinds than the inventory's are ignored) and takes
  // `revision`, read from the store after them. A record that does not
  // parse is DataLoss, after the others are applied.
  absl::Status Apply(const std::vector<StoreChange>& changes, uint64_t revision);

  // Store record kinds.
  static constexpr char kDeviceKind[] = "device";
  static constexpr char kTemplateKind[] = "template";
  static constexpr char kDataSetKind[] = "data-set";

  absl::StatusOr<v1::Device> PutDevice(v1::Device device, bool create_only);
  absl::StatusOr<v1::Device> GetDevice(const std::string& name) const;
  // The devices that match `filter`, in name order, from after its
  // page_token on, at most `limit` of them.
  std::vector<v1::Device> ListDevices(const v1::ListDevicesRequest& filter,
                                      size_t limit = std::numeric_limits<size_t>::max()) const;
  absl::Status DeleteDevice(const std::string& name);

  absl::StatusOr<v1::Template> PutTemplate(v1::Template tmpl);
  absl::StatusOr<v1::Template> GetTemplate(const std::string& name) const;
  std::vector<v1::Template> ListTemplates() const;
  absl::Status DeleteTemplate(const std::string& name);

  absl::StatusOr<v1::DataSet> PutDataSet(v1::DataSet data_set);
  absl::StatusOr<v1::DataSet> GetDataSet(const std::string& name) const;
  std::vector<v1::DataSet> ListDataSets(const v1::ListDataSetsRequest& filter) const;
  absl::Status DeleteDataSet(const std::string& name);

  uint64_t revision() const;
  Snapshot Take() const;
  struct Counts {
    size_t devices = 0, templates = 0, data_sets = 0;
    uint64_t revision = 0;
  };
  Counts Count() const;

 private:
  // Commits one change (msg null: a delete) as the next revision; on success
  // `msg`'s revision is already set to it.
  absl::Status Commit(const char* kind, const std::string& name,
                      google::protobuf::Message* msg,
                      vpnfleet::common::v1::Revision* revision) /* requires mu_ */;
  absl::Status CheckDataSet(const v1::DataSet& ds) const /* requires mu_ */;

  const Clock* clock_;
  Store* store_;
  mutable std::mutex mu_;
  uint64_t revision_ = 0;
  std::map<std::string, v1::Device> devices_;
  absl::flat_hash_map<std::string, std::string> wan_owner_;  // WAN address → device name
  std::map<std::string, v1::Template> templates_;
  std::map<std::string, v1::DataSet> data_sets_;
  // Data set names by the device and by the template they use, so that a
  // delete or a template change does not read every data set.
  absl::flat_hash_map<std::string, std::set<std::string>> sets_of_device_;
  absl::flat_hash_map<std::string, std::set<std::string>> sets_of_template_;
  void Index(const v1::DataSet& ds, bool add) /* requires mu_ */;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_H_
