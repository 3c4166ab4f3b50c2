// What the controller's CLI commands share: one client with deadlines and
// failure explanations, every page of a List RPC, diagnostics printed as IOS
// prints errors. Internal to cli/: controller_command.cc (inventory, import,
// validate) and rollout_command.cc (plan, apply, status, rollback).
#ifndef VPNFLEET_CLI_CONTROLLER_CLIENT_H_
#define VPNFLEET_CLI_CONTROLLER_CLIENT_H_

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/controller_command.h"
#include "cli/grpc_probe.h"
#include "grpcpp/client_context.h"
#include "vpnfleet/controller/v1/controller.grpc.pb.h"

namespace vpnfleet::cli::controller_cli {

namespace v1 = vpnfleet::controller::v1;

extern const char kControllerUsage[];

// Every page of a List RPC merged into one answer, printed (or -o json)
// as one list whatever the page size.
template <typename Request, typename Response, typename Call>
grpc::Status AllPages(Request request, Response* all, Call call) {
  for (;;) {
    Response page;
    grpc::Status st = call(request, &page);
    if (!st.ok()) return st;
    const std::string next = page.next_page_token();
    page.clear_next_page_token();
    all->MergeFrom(page);
    if (next.empty() || next == request.page_token()) return grpc::Status::OK;
    request.set_page_token(next);
  }
}

class Client {
 public:
  Client(const ControllerCliOptions& o, std::ostream& err)
      : o_(o), err_(err), stub_(v1::ControllerService::NewStub(Dial(o.controller_target))) {}
  v1::ControllerService::Stub& stub() { return *stub_; }
  std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds timeout) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + timeout);
    return ctx;
  }
  std::unique_ptr<grpc::ClientContext> Context() { return Context(o_.timeout); }
  // One call that names its object (`X show NAME`, `X delete NAME`).
  template <typename Request, typename Response>
  grpc::Status ByName(grpc::Status (v1::ControllerService::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                                       Response*),
                      const std::string& name, Response* resp) {
    Request req;
    req.set_name(name);
    return (stub_.get()->*rpc)(Context().get(), req, resp);
  }
  template <typename Request, typename Response>
  int Delete(grpc::Status (v1::ControllerService::Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
             const std::string& command, const std::string& noun, const std::string& name, bool json,
             std::ostream& out) {
    Response resp;
    if (auto st = ByName(rpc, name, &resp); !st.ok()) return Fail(command, st);
    out << (json ? "{}\n" : absl::StrCat("% ", noun, " ", name, " deleted\n"));
    return 0;
  }
  int Fail(const std::string& what, const grpc::Status& st) {
    err_ << "vpnfleet " << what << ": " << st.error_message() << "\n";
    ExplainFailure(st, o_.controller_target, err_);
    if (st.error_code() == grpc::StatusCode::UNAVAILABLE) {
      err_ << "  (is vpnfleet-controller running at " << o_.controller_target << "? set --controller)\n";
    }
    return 1;
  }

 private:
  const ControllerCliOptions& o_;
  std::ostream& err_;
  std::unique_ptr<v1::ControllerService::Stub> stub_;
};

// "% ERROR spoke1: crypto map FLEET 10: match address (line 12): ..."
void PrintDiagnostics(const google::protobuf::RepeatedPtrField<v1::Diagnostic>& ds, std::ostream& out);
void PrintSkipped(const google::protobuf::RepeatedPtrField<v1::SkippedLines>& skipped, std::ostream& out);
bool HasErrors(const google::protobuf::RepeatedPtrField<v1::Diagnostic>& ds);

// `vpnfleet watch [KIND ...]` (a = {"watch", ...}).
int RunWatch(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
             std::ostream& err);

// `vpnfleet rollout plan|apply|status|rollback` (a = {"rollout", ...}).
int RunRollout(Client& c, const std::vector<std::string>& a, const ControllerCliOptions& o, std::ostream& out,
               std::ostream& err);

}  // namespace vpnfleet::cli::controller_cli

#endif  // VPNFLEET_CLI_CONTROLLER_CLIENT_H_
