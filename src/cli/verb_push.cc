// rpfs push VM RP [--region R] [--name SNAP]: an RP to a region as a volume snapshot,
// sending only the chunks the region lacks (docs/region.md).
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "cli/region_access.h"

namespace rpfs::cli {
namespace {

class PushVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", rp_, "Recovery point")->required();
    cmd->add_option("--region", region_, "Region (default: the only one)");
    cmd->add_option("--name", name_, "Snapshot name in the region (default VM.RP)");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    const std::string name = name_.empty() ? vm_ + "." + rp_ : name_;
    int code = kExitOk;
    if (!ctx.CheckName(name, "snapshot name", &code)) return code;
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto chunks = (*repo)->OpenRpChunks(vm_, rp_);
    if (!chunks.ok()) return ctx.Fail(chunks.status());
    auto region = OpenRegion(**repo, region_);
    if (!region.ok()) return ctx.Fail(region.status());
    ProgressBar bar(ctx.err, "push " + vm_ + "/" + rp_ + " (chunks)");
    region::PushOptions opts{name, HostName()};
    auto r = (*region)->Push(**chunks, opts, bar.Callback());
    bar.Finish();
    if (!r.ok()) return ctx.Fail(r.status());
    ctx.Report(
        {{"region", JsonText((*region)->name())},
         {"snapshot", JsonText(name)},
         {"vm", JsonText(vm_)},
         {"rp", JsonText(rp_)},
         {"resumed", r->resumed},
         {"base", JsonText(r->base)},
         {"chunks", r->chunks},
         {"chunks_inherited", r->chunks_inherited},
         {"chunks_sent", r->chunks_sent},
         {"bytes_sent", r->bytes_sent}},
        "pushed " + vm_ + "/" + rp_ + " to region " + (*region)->name() + " as " + name +
            (r->resumed ? " (resumed)" : "") + ": " + std::to_string(r->chunks_sent) + " of " +
            std::to_string(r->chunks) + " chunks sent, " + HumanBytes(r->bytes_sent) +
            (r->base.empty()
                 ? std::string()
                 : ", " + std::to_string(r->chunks_inherited) + " unchanged since " + r->base) +
            "\n");
    return kExitOk;
  }

 private:
  std::string vm_, rp_, region_, name_;
};

}  // namespace

std::unique_ptr<CliVerb> NewPushVerb() { return std::make_unique<PushVerb>(); }

}  // namespace rpfs::cli
