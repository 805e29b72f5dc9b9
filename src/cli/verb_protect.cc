// rpfs protect VM RP | rpfs unprotect VM RP
#include "cli/command.h"

namespace rpfs::cli {
namespace {

class ProtectVerb final : public CliVerb {
 public:
  explicit ProtectVerb(control::Verb verb) { cmd_.verb = verb; }

  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", cmd_.rp, "Recovery point")->required();
  }

  int Run(const Context& ctx) override { return ctx.RunAndPrintSummary(vm_, cmd_); }

 private:
  std::string vm_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewProtectVerb() {
  return std::make_unique<ProtectVerb>(control::Verb::kProtect);
}
std::unique_ptr<CliVerb> NewUnprotectVerb() {
  return std::make_unique<ProtectVerb>(control::Verb::kUnprotect);
}

}  // namespace rpfs::cli
