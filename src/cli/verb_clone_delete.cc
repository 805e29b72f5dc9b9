// rpfs clone-delete VM CLONE
#include "cli/command.h"

namespace rpfs::cli {
namespace {

class CloneDeleteVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("clone", cmd_.target, "Clone")->required();
  }

  int Run(const Context& ctx) override {
    cmd_.verb = control::Verb::kDeleteClone;
    return ctx.RunAndPrintSummary(vm_, cmd_);
  }

 private:
  std::string vm_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewCloneDeleteVerb() { return std::make_unique<CloneDeleteVerb>(); }

}  // namespace rpfs::cli
