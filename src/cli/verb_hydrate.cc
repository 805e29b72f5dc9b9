// rpfs hydrate VM CLONE
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

class HydrateVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("clone", cmd_.target, "Clone")->required();
  }

  int Run(const Context& ctx) override {
    cmd_.verb = control::Verb::kHydrate;
    auto done = ctx.OpenAndRun(vm_, cmd_, "hydrate " + vm_ + "/" + cmd_.target);
    if (!done.ok()) return ctx.Fail(done.status());
    ctx.Report(OutcomeJson(vm_, *done), done->summary + "\n");
    return done->clone->hydrated ? kExitOk : kExitFailed;
  }

 private:
  std::string vm_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewHydrateVerb() { return std::make_unique<HydrateVerb>(); }

}  // namespace rpfs::cli
