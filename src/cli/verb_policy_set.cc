// rpfs policy set VM [--every D [--at HH:MM]] [--keep-...]...
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

class PolicySetVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    flags_.AddSchedule(cmd);
    flags_.Add(cmd);
  }

  int Run(const Context& ctx) override {
    auto p = flags_.Policy();
    if (!p.ok()) return ctx.Fail(p.status());
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    Status s = (*repo)->SetPolicy(vm_, *p);
    if (!s.ok()) return ctx.Fail(s);
    ctx.Report({{"vm", JsonText(vm_)}, {"policy", p->ToString()}},
               "policy of vm " + vm_ + ": " + p->ToString() + "\n");
    return kExitOk;
  }

 private:
  std::string vm_;
  PolicyFlags flags_;
};

}  // namespace

std::unique_ptr<CliVerb> NewPolicySetVerb() { return std::make_unique<PolicySetVerb>(); }

}  // namespace rpfs::cli
