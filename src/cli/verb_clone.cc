// rpfs clone VM RP CLONE [--define] | rpfs clone --from-region R SNAPSHOT VM CLONE
#include <algorithm>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/region_access.h"
#include "region/remote_chunks.h"
#include "util/crash_point.h"

namespace rpfs::cli {
namespace {

class CloneVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name (with --from-region: the snapshot)")->required();
    cmd->add_option("rp", cmd_.rp, "Recovery point (with --from-region: the VM)")->required();
    cmd->add_option("clone", cmd_.target, "Name of the new clone")->required();
    cmd->add_flag("--define", cmd_.define, "Also define a libvirt domain on the clone's disks");
    cmd->add_option("--from-region", region_,
                    "Clone a snapshot of this region: chunks come from it on first read");
  }

  int Run(const Context& ctx) override {
    int code = 0;
    if (!ctx.CheckName(cmd_.target, "clone name", &code)) return code;
    if (!region_.empty()) return RunFromRegion(ctx, /*snapshot=*/vm_, /*vm=*/cmd_.rp);
    cmd_.verb = control::Verb::kClone;
    return ctx.RunAndPrintSummary(vm_, cmd_);
  }

 private:
  int RunFromRegion(const Context& ctx, const std::string& snapshot, const std::string& vm) {
    int code = 0;
    if (!ctx.CheckName(vm, "vm name", &code)) return code;
    if (cmd_.define) {
      return ctx.Fail(Status::NotSupported(
          "--define with --from-region is not supported yet: define the domain on the clone's "
          "disks in the mount"));
    }
    auto session = OpenRegionSession(ctx, region_);
    if (!session.ok()) return ctx.Fail(session.status());
    region::Region* region = session->region.get();
    auto manifest = LoadSnapshot(*region, snapshot);
    if (!manifest.ok()) return ctx.Fail(manifest.status());
    const std::string from = "region " + region->name() + " snapshot " + snapshot;
    // The hold keeps the snapshot's chunks while the clone may still read them: a delete
    // of the snapshot waits until the clone is hydrated or deleted (docs/region.md).
    region::HoldOwner owner{HostName(), session->repo->StoreId(), vm, "clone " + cmd_.target};
    auto hold = region->Hold(manifest->summary, owner);
    if (!hold.ok()) return ctx.Fail(hold.status());
    CrashPoint("clone.held");  // a hold no clone names: the store's gc releases it
    auto c = session->repo->CreateRemoteClone(
        vm, cmd_.target, region::CloneSource(region->name(), snapshot, *hold), from,
        manifest->chunk_size, region::RemoteDisksOf(*manifest));
    if (!c.ok()) {
      // Nothing holds it now; if this release fails, the store's `rpfs region gc` does it.
      (void)region->Release(*hold);
      return ctx.Fail(c.status());
    }
    // A `region gc --grace 0h` of this store, run meanwhile through the mount, may have
    // taken the hold for one whose clone died (no clone named it yet): then the clone
    // would hold nothing, so it goes. (Unknown, for the region cannot be read: it stays;
    // the hold is there unless that rare race happened.)
    if (auto holds = region->Holds(); holds.ok()) {
      const bool held = std::any_of(holds->begin(), holds->end(),
                                    [&](const region::Summary& h) { return h.sid == *hold; });
      if (!held) {
        (void)session->repo->DeleteClone(vm, cmd_.target);
        return ctx.Fail(Status::Aborted("cloning " + from + " as " + vm + "/" + cmd_.target +
                                        ": its hold was released meanwhile (by `rpfs region "
                                        "gc --grace 0h`?); clone again"));
      }
    }
    nlohmann::json j = CloneJson(*c);
    ctx.Report(j, "cloned " + from + " as " + vm + "/" + cmd_.target + "\n");
    return kExitOk;
  }

  std::string vm_;
  std::string region_;
  control::Command cmd_;
};

}  // namespace

std::unique_ptr<CliVerb> NewCloneVerb() { return std::make_unique<CloneVerb>(); }

}  // namespace rpfs::cli
