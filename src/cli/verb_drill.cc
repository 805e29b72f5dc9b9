// rpfs drill VM [RP | --latest] [--timeout S] [--expect TEXT] [--exec CMD];
// rpfs drill --all-vms --latest
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

class DrillVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name (not with --all-vms)");
    cmd->add_option("rp", cmd_.rp, "Recovery point to boot (not with --latest)");
    cmd->add_flag("--latest", latest_, "Drill the VM's newest RP");
    cmd->add_flag("--all-vms", all_vms_,
                  "Drill the newest RP of every libvirt VM that has one (with --latest)");
    cmd->add_option("--timeout", cmd_.timeout,
                    "Seconds the guest gets to show its sign of life (default 300)");
    cmd->add_option("--expect", cmd_.expect,
                    "Text the guest's serial console must show (default: its guest agent "
                    "must answer)");
    cmd->add_option(
        "--exec", cmd_.exec,
        "Then run this command in the guest (/bin/sh -c, through its guest agent); "
        "the drill passes only if it exits 0 within --timeout (counted from its start)");
  }

  int Run(const Context& ctx) override {
    cmd_.verb = control::Verb::kDrill;
    auto targets = Targets(ctx);
    if (!targets.ok()) return ctx.Fail(targets.status());
    nlohmann::json all = nlohmann::json::array();
    int code = kExitOk;
    for (const auto& [vm, rp] : *targets) {
      cmd_.rp = rp;
      auto done = ctx.OpenAndRun(vm, cmd_);
      if (!done.ok()) {
        int failed = ctx.Fail(done.status());
        if (code == kExitOk) code = failed;
        continue;
      }
      if (ctx.json) {
        all.push_back(OutcomeJson(vm, *done));
      } else {
        std::fprintf(ctx.out, "%s\n", done->summary.c_str());
      }
      if (!done->drill->ok && code == kExitOk) code = kExitCheckFailed;
    }
    if (ctx.json) ctx.PrintJson(all_vms_ ? all : all.empty() ? nlohmann::json() : all[0]);
    return code;
  }

 private:
  // The (vm, rp) pairs to drill, checked before any runs.
  Result<std::vector<std::pair<std::string, std::string>>> Targets(const Context& ctx) {
    if (all_vms_ && (!vm_.empty() || !latest_)) {
      return Status::InvalidArgument("drill --all-vms takes --latest and no vm name");
    }
    if (!all_vms_ && vm_.empty()) return Status::InvalidArgument("drill needs a vm (or --all-vms)");
    if (!all_vms_ && latest_ == !cmd_.rp.empty()) {
      return Status::InvalidArgument("drill needs an rp name or --latest (one of them)");
    }
    std::vector<std::pair<std::string, std::string>> out;
    if (!latest_) {
      out.emplace_back(vm_, cmd_.rp);
      return out;
    }
    RPFS_ASSIGN_OR_RETURN(auto repo, ctx.OpenRepo());
    std::vector<std::string> vms;
    if (all_vms_) {
      RPFS_ASSIGN_OR_RETURN(auto list, repo->ListVms());
      for (const auto& v : list) {
        if (v.kind == "libvirt") vms.push_back(v.name);
      }
    } else {
      vms.push_back(vm_);
    }
    for (const auto& vm : vms) {
      RPFS_ASSIGN_OR_RETURN(auto rps, repo->ListRps(vm));
      const RpInfo* newest = nullptr;
      for (const auto& r : rps) {
        if (!r.has_domain_xml) continue;
        if (newest == nullptr || r.created_us > newest->created_us) newest = &r;
      }
      if (newest != nullptr) {
        out.emplace_back(vm, newest->name);
      } else if (!all_vms_) {
        return Status::NotFound("vm " + vm + " has no recovery point a drill can boot");
      }
    }
    return out;
  }

  std::string vm_;
  bool latest_ = false;
  bool all_vms_ = false;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewDrillVerb() { return std::make_unique<DrillVerb>(); }

}  // namespace rpfs::cli
