// rpfs delete VM (RP... | --all) [--dry-run]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

class DeleteVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", cmd_.more_rps, "Recovery points to delete");
    cmd->add_flag("--all", cmd_.all, "Delete every recovery point of the VM");
    cmd->add_flag("--dry-run", dry_run_, "Only print what would be freed");
  }

  int Run(const Context& ctx) override {
    if (cmd_.all == !cmd_.more_rps.empty()) {
      return ctx.Fail(Status::InvalidArgument("give either RP names or --all"));
    }
    cmd_.verb = control::Verb::kDelete;
    if (dry_run_) return DryRun(ctx);
    auto done = ctx.OpenAndRun(vm_, cmd_);
    if (!done.ok()) return ctx.Fail(done.status());
    char text[256];
    std::snprintf(text, sizeof(text), "deleted %zu recovery point(s) of %s, freed %s\n",
                  done->deleted.size(), vm_.c_str(), HumanBytes(done->bytes_freed).c_str());
    nlohmann::json j = OutcomeJson(vm_, *done);
    j["bytes_freed"] = done->bytes_freed;
    ctx.Report(j, text);
    return kExitOk;
  }

 private:
  // Reads only: not a command of the VM's.
  int DryRun(const Context& ctx) const {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto names = control::RpsToDelete(**repo, vm_, cmd_);
    if (!names.ok()) return ctx.Fail(names.status());
    auto freed = (*repo)->BytesFreedByDeleting(vm_, *names);
    if (!freed.ok()) return ctx.Fail(freed.status());
    char text[256];
    std::snprintf(text, sizeof(text),
                  "would delete %zu recovery point(s) of %s and free %s (%llu bytes)\n",
                  names->size(), vm_.c_str(), HumanBytes(*freed).c_str(),
                  static_cast<unsigned long long>(*freed));
    ctx.Report({{"vm", JsonText(vm_)},
                {"dry_run", true},
                {"would_delete", JsonTexts(*names)},
                {"bytes_freed", *freed}},
               text);
    return kExitOk;
  }

  std::string vm_;
  control::Command cmd_;  // the RPs go to more_rps: `rp` stays empty
  bool dry_run_ = false;
};

}  // namespace

std::unique_ptr<CliVerb> NewDeleteVerb() { return std::make_unique<DeleteVerb>(); }

}  // namespace rpfs::cli
