// rpfs __complete vms | rps VM | clones VM: names, one per line, for the bash completion
// (`rpfs __docs bash`). Hidden from --help; like any verb it runs in the daemon while a
// mount serves the store, so completion works on a mounted store too.
#include <cstdio>

#include "cli/command.h"

namespace rpfs::cli {
namespace {

class CompleteVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("what", what_, "vms, rps or clones")->required();
    cmd->add_option("vm", vm_, "The VM whose RPs or clones to name");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    std::vector<std::string> names;
    if (what_ == "vms") {
      auto vms = (*repo)->ListVms();
      if (!vms.ok()) return ctx.Fail(vms.status());
      for (const auto& v : *vms) names.push_back(v.name);
    } else if (what_ == "rps") {
      auto rps = (*repo)->ListRps(vm_);
      if (!rps.ok()) return ctx.Fail(rps.status());
      for (const auto& r : *rps) names.push_back(r.name);
    } else if (what_ == "clones") {
      if (vm_.empty()) return kExitOk;  // "" would mean every VM's
      auto clones = (*repo)->ListClones(vm_);
      if (!clones.ok()) return ctx.Fail(clones.status());
      for (const auto& c : *clones) names.push_back(c.name);
    } else {
      return ctx.Fail(
          Status::InvalidArgument("__complete: '" + what_ + "' is not one of vms, rps, clones"));
    }
    for (const auto& n : names) std::fprintf(ctx.out, "%s\n", n.c_str());
    return kExitOk;
  }

 private:
  std::string what_;
  std::string vm_;
};

}  // namespace

std::unique_ptr<CliVerb> NewCompleteVerb() { return std::make_unique<CompleteVerb>(); }

}  // namespace rpfs::cli
