// rpfs clone VM RP CLONE [--define]
#include "cli/command.h"

namespace rpfs::cli {
namespace {

class CloneVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", cmd_.rp, "Recovery point")->required();
    cmd->add_option("clone", cmd_.target, "Name of the new clone")->required();
    cmd->add_flag("--define", cmd_.define, "Also define a libvirt domain on the clone's disks");
  }

  int Run(const Context& ctx) override {
    int code = 0;
    if (!ctx.CheckName(cmd_.target, "clone name", &code)) return code;
    cmd_.verb = control::Verb::kClone;
    return ctx.RunAndPrintSummary(vm_, cmd_);
  }

 private:
  std::string vm_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewCloneVerb() { return std::make_unique<CloneVerb>(); }

}  // namespace rpfs::cli
