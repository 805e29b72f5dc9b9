// rpfs rename VM RP NEW
#include "cli/command.h"

namespace rpfs::cli {
namespace {

class RenameVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", cmd_.rp, "Recovery point")->required();
    cmd->add_option("new", cmd_.target, "New name")->required();
  }

  int Run(const Context& ctx) override {
    int code = 0;
    if (!ctx.CheckName(cmd_.target, "rp name", &code)) return code;
    cmd_.verb = control::Verb::kRename;
    return ctx.RunAndPrintSummary(vm_, cmd_);  // "renamed VM/RP to NEW"
  }

 private:
  std::string vm_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewRenameVerb() { return std::make_unique<RenameVerb>(); }

}  // namespace rpfs::cli
