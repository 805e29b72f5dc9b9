// rpfs vm remove VM
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

class VmRemoveVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", name_, "VM name")->required();
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    Status s = (*repo)->RemoveVm(name_);
    if (!s.ok()) return ctx.Fail(s);
    ctx.Report({{"vm", JsonText(name_)}, {"removed", true}}, "removed vm " + name_ + "\n");
    return kExitOk;
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<CliVerb> NewVmRemoveVerb() { return std::make_unique<VmRemoveVerb>(); }

}  // namespace rpfs::cli
