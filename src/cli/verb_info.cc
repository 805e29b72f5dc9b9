// rpfs info VM RP [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"

namespace rpfs::cli {
namespace {

class InfoVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", rp_, "Recovery point")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto rp = (*repo)->GetRp(vm_, rp_);
    if (!rp.ok()) return ctx.Fail(rp.status());
    auto unique = (*repo)->BytesFreedByDeleting(vm_, {rp_});
    if (!unique.ok()) return ctx.Fail(unique.status());
    if (ctx.json) {
      auto j = RpJson(*rp);
      j["unique_bytes"] = *unique;
      ctx.PrintJson(j);
      return kExitOk;
    }
    std::fputs(FormatRpInfo(*rp, *unique).c_str(), ctx.out);
    return kExitOk;
  }

 private:
  std::string vm_;
  std::string rp_;
};

}  // namespace

std::unique_ptr<CliVerb> NewInfoVerb() { return std::make_unique<InfoVerb>(); }

}  // namespace rpfs::cli
