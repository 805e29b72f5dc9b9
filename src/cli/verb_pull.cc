// rpfs pull REGION SNAPSHOT VM RP: a region snapshot made a local RP (docs/region.md).
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "cli/region_access.h"

namespace rpfs::cli {
namespace {

class PullVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("region", region_, "Region")->required();
    cmd->add_option("snapshot", snapshot_, "Snapshot in the region")->required();
    cmd->add_option("vm", vm_, "VM to add the RP to (made, without disks, if new)")->required();
    cmd->add_option("rp", rp_, "Name of the new RP")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    int code = kExitOk;
    if (!ctx.CheckName(vm_, "vm name", &code) || !ctx.CheckName(rp_, "rp name", &code)) {
      return code;
    }
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    auto manifest = LoadSnapshot(*region, snapshot_);
    if (!manifest.ok()) return ctx.Fail(manifest.status());
    const region::Summary* snap = &manifest->summary;
    // Held while it reads, like a clone not yet hydrated: a delete of the snapshot from
    // any host meanwhile waits for the pull instead of failing it. Released whatever the
    // outcome; a pull killed meanwhile leaves a hold no clone names, which this store's
    // `region gc` releases once older than its grace.
    region::HoldOwner owner{HostName(), session->repo->StoreId(), vm_, "pull " + vm_ + "/" + rp_};
    auto hold = region->Hold(*snap, owner);
    if (!hold.ok()) return ctx.Fail(hold.status());
    struct ReleaseAtEnd {
      region::Region* region;
      std::string hold;
      ~ReleaseAtEnd() { (void)region->Release(hold); }
    } release{region, *hold};
    auto streams = region->OpenStreams(*manifest);
    if (!streams.ok()) return ctx.Fail(streams.status());
    ImportOptions opts;
    opts.description = snap->description.empty()
                           ? "pulled from region " + region->name() + " snapshot " + snapshot_
                           : snap->description;
    opts.domain_xml = manifest->domain_xml;
    ProgressBar bar(ctx.err, "pull " + snapshot_);
    auto rp = session->repo->ImportRp(vm_, rp_, std::move(*streams), opts, bar.Callback());
    bar.Finish();
    if (!rp.ok()) return ctx.Fail(rp.status());
    nlohmann::json j = RpJson(*rp);
    j["region"] = JsonText(region->name());
    j["snapshot"] = JsonText(snapshot_);
    ctx.Report(j, "pulled snapshot " + snapshot_ + " from region " + region->name() + " as " + vm_ +
                      "/" + rp_ + " (" + HumanBytes(rp->added_bytes) + " added)\n");
    return kExitOk;
  }

 private:
  std::string region_, snapshot_, vm_, rp_;
};

}  // namespace

std::unique_ptr<CliVerb> NewPullVerb() { return std::make_unique<PullVerb>(); }

}  // namespace rpfs::cli
