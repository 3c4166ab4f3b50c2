// The controller's desired state so far: devices, templates and data sets.
// One revision counter covers all of it, so every change is a revision.
// References are checked both ways: a data set names an existing template
// and device, and neither can be deleted while a data set uses it.
//
// Kept in memory; the durable store (SQLite, WAL) replaces the tables behind
// this same interface.
#ifndef VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_H_
#define VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock/clock.h"
#include "vpnfleet/controller/v1/controller.pb.h"

namespace vpnfleet::controller {


absl::Status ValidateDevice(const v1::Device& device);
absl::Status ValidateTemplate(const v1::Template& tmpl);

class Inventory {
 public:
  explicit Inventory(const Clock* clock);

  absl::StatusOr<v1::Device> PutDevice(v1::Device device, bool create_only);
  absl::StatusOr<v1::Device> GetDevice(const std::string& name) const;
  std::vector<v1::Device> ListDevices(const v1::ListDevicesRequest& filter) const;
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

 private:
  vpnfleet::common::v1::Revision NextRevision() /* requires mu_ */;
  absl::Status CheckDataSet(const v1::DataSet& ds) const /* requires mu_ */;

  const Clock* clock_;
  mutable std::mutex mu_;
  uint64_t revision_ = 0;
  std::map<std::string, v1::Device> devices_;
  std::map<std::string, v1::Template> templates_;
  std::map<std::string, v1::DataSet> data_sets_;
};

}  // namespace vpnfleet::controller

#endif  // VPNFLEET_SERVICES_CONTROLLER_MODEL_INVENTORY_H_
