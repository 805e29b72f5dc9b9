// The verb table: every `rpfs` verb, once, in the order `rpfs --help` lists them. Adding a
// verb: its verb_<name>.cc (a CliVerb and its New...Verb()) and one row here.
#include "cli/registry.h"

#include <map>

namespace rpfs::cli {

std::unique_ptr<CliVerb> NewInitVerb();
std::unique_ptr<CliVerb> NewVerifyVerb();
std::unique_ptr<CliVerb> NewCompactVerb();
std::unique_ptr<CliVerb> NewDuVerb();
std::unique_ptr<CliVerb> NewVmAddVerb();
std::unique_ptr<CliVerb> NewVmImportVerb();
std::unique_ptr<CliVerb> NewVmListVerb();
std::unique_ptr<CliVerb> NewVmRemoveVerb();
std::unique_ptr<CliVerb> NewCreateVerb();
std::unique_ptr<CliVerb> NewListVerb();
std::unique_ptr<CliVerb> NewInfoVerb();
std::unique_ptr<CliVerb> NewCatVerb();
std::unique_ptr<CliVerb> NewCpVerb();
std::unique_ptr<CliVerb> NewDiffVerb();
std::unique_ptr<CliVerb> NewRenameVerb();
std::unique_ptr<CliVerb> NewDeleteVerb();
std::unique_ptr<CliVerb> NewExportVerb();
std::unique_ptr<CliVerb> NewRollbackVerb();
std::unique_ptr<CliVerb> NewProtectVerb();
std::unique_ptr<CliVerb> NewUnprotectVerb();
std::unique_ptr<CliVerb> NewCloneVerb();
std::unique_ptr<CliVerb> NewCloneListVerb();
std::unique_ptr<CliVerb> NewCloneDeleteVerb();
std::unique_ptr<CliVerb> NewHydrateVerb();
std::unique_ptr<CliVerb> NewPruneVerb();
std::unique_ptr<CliVerb> NewPolicySetVerb();
std::unique_ptr<CliVerb> NewPolicyShowVerb();
std::unique_ptr<CliVerb> NewMountVerb();
std::unique_ptr<CliVerb> NewAutoVerb();
std::unique_ptr<CliVerb> NewCompleteVerb();
std::unique_ptr<CliVerb> NewMetricsVerb();
std::unique_ptr<CliVerb> NewRegionAddVerb();
std::unique_ptr<CliVerb> NewRegionListVerb();
std::unique_ptr<CliVerb> NewRegionRemoveVerb();
std::unique_ptr<CliVerb> NewRegionSnapshotsVerb();
std::unique_ptr<CliVerb> NewRegionDeleteVerb();
std::unique_ptr<CliVerb> NewRegionVerifyVerb();
std::unique_ptr<CliVerb> NewRegionGcVerb();
std::unique_ptr<CliVerb> NewRegionHoldsVerb();
std::unique_ptr<CliVerb> NewRegionReleaseVerb();
std::unique_ptr<CliVerb> NewPushVerb();
std::unique_ptr<CliVerb> NewPullVerb();
std::unique_ptr<CliVerb> NewDrillVerb();

namespace {

struct Group {
  const char* name;
  const char* help;
};

constexpr Group kVm = {"vm", "Manage the VMs of the store"};
constexpr Group kRegion = {"region", "Regions: Ceph RADOS pools shared by many hosts"};
constexpr Group kPolicy = {"policy", "The schedule and retention policy stored with each VM"};

struct Row {
  const Group* group;  // null: a verb of its own, e.g. `rpfs create`
  const char* name;
  const char* help;
  std::unique_ptr<CliVerb> (*make)();
};

const Row kVerbs[] = {
    {nullptr, "init", "Create a new, empty store", NewInitVerb},
    {nullptr, "verify", "Re-hash every chunk and check every reference", NewVerifyVerb},
    {nullptr, "compact", "Reclaim the space of deleted data now", NewCompactVerb},
    {nullptr, "du", "Space used per RP: logical, stored, added, unique", NewDuVerb},
    {nullptr, "metrics", "The store and its VMs in Prometheus text format (node_exporter)",
     NewMetricsVerb},
    {&kVm, "add", "Register a VM made of image files", NewVmAddVerb},
    {&kVm, "import", "Register libvirt domains as VMs", NewVmImportVerb},
    {&kVm, "list", "List the VMs", NewVmListVerb},
    {&kVm, "remove", "Forget a VM that has no recovery points", NewVmRemoveVerb},
    {nullptr, "create", "Take a recovery point of a VM", NewCreateVerb},
    {nullptr, "list", "List recovery points", NewListVerb},
    {nullptr, "info", "Show one recovery point", NewInfoVerb},
    {nullptr, "rename", "Rename a recovery point", NewRenameVerb},
    {nullptr, "delete", "Delete recovery points (and free their unique data)", NewDeleteVerb},
    {nullptr, "export", "Write a disk of a recovery point as a raw image", NewExportVerb},
    {nullptr, "cat", "Print a guest file of a recovery point (path as under files/)", NewCatVerb},
    {nullptr, "cp", "Copy a guest file of a recovery point out (path as under files/)", NewCpVerb},
    {nullptr, "diff", "List the guest files that differ between two recovery points", NewDiffVerb},
    {nullptr, "rollback", "Rewrite a VM's disks to a recovery point (only differing chunks)",
     NewRollbackVerb},
    {nullptr, "drill", "Prove an RP boots: an isolated instant clone, booted and checked",
     NewDrillVerb},
    {nullptr, "protect", "Keep a recovery point from delete and prune", NewProtectVerb},
    {nullptr, "unprotect", "Allow a protected recovery point to be deleted again",
     NewUnprotectVerb},
    {nullptr, "clone", "Make writable disks from a recovery point, at once", NewCloneVerb},
    {nullptr, "clone-list", "List clones, their hydration and their files", NewCloneListVerb},
    {nullptr, "clone-delete", "Delete a clone and its files", NewCloneDeleteVerb},
    {nullptr, "hydrate", "Fetch every chunk of a clone not yet local", NewHydrateVerb},
    {nullptr, "prune", "Delete the RPs a retention policy does not keep", NewPruneVerb},
    {&kPolicy, "set", "Store a VM's schedule and retention policy (none given: clear it)",
     NewPolicySetVerb},
    {nullptr, "auto", "Take the RPs schedules say are due, then prune by policy (for a timer)",
     NewAutoVerb},
    {&kPolicy, "show", "Show the stored retention policies", NewPolicyShowVerb},
    {nullptr, "push", "Copy an RP to a region as a volume snapshot (only missing chunks)",
     NewPushVerb},
    {nullptr, "pull", "Make a region snapshot a local RP", NewPullVerb},
    {&kRegion, "add", "Add a region (a Ceph RADOS pool)", NewRegionAddVerb},
    {&kRegion, "list", "List the regions of this store", NewRegionListVerb},
    {&kRegion, "remove", "Forget a region (its snapshots stay in the pool)", NewRegionRemoveVerb},
    {&kRegion, "snapshots", "List the snapshots of a region", NewRegionSnapshotsVerb},
    {&kRegion, "delete", "Delete snapshots from a region (frees what nothing else references)",
     NewRegionDeleteVerb},
    {&kRegion, "verify", "Check every snapshot's chunks in a region", NewRegionVerifyVerb},
    {&kRegion, "gc", "Finish interrupted deletes and remove dead pushes", NewRegionGcVerb},
    {&kRegion, "holds", "List what clones and pulls hold in a region", NewRegionHoldsVerb},
    {&kRegion, "release", "Release holds of a store that is gone", NewRegionReleaseVerb},
    {nullptr, "mount", "Show every VM's recovery points as read-only directories", NewMountVerb},
    // Hidden (no help text): names for the bash completion.
    {nullptr, "__complete", "", NewCompleteVerb},
};

}  // namespace

void RegisterVerbs(CLI::App& app, Context& ctx, std::vector<std::unique_ptr<CliVerb>>* verbs,
                   CliVerb** chosen) {
  std::map<const Group*, CLI::App*> groups;
  for (const Row& row : kVerbs) {
    CLI::App* parent = &app;
    if (row.group != nullptr) {
      CLI::App*& group = groups[row.group];
      if (group == nullptr) {
        group = app.add_subcommand(row.group->name, row.group->help);
        group->require_subcommand(1);
      }
      parent = group;
    }
    CLI::App* cmd = parent->add_subcommand(row.name, row.help);
    if (*row.help == '\0') cmd->group("");  // hidden from --help, man pages and completion
    CliVerb* verb = verbs->emplace_back(row.make()).get();
    verb->Declare(cmd, ctx);
    cmd->callback([verb, chosen] { *chosen = verb; });
  }
}

}  // namespace rpfs::cli
