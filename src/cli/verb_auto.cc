// rpfs auto [VM] [--dry-run] [--json]: what rpfs-auto.timer runs. Takes an RP of every VM
// whose schedule (`policy set --every`) says one is due, then prunes every VM that has keep
// rules by them. One line per action; a VM that fails does not stop the others.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "rp/retention.h"
#include "rp/schedule.h"
#include "util/clock.h"
#include "util/lock_file.h"

namespace rpfs::cli {
namespace {

class AutoVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("vm", vm_, "Only this VM");
    cmd->add_flag("--dry-run", dry_run_, "Only show what would be created and removed");
    cmd->add_flag("--json", ctx.json, "Machine-readable output: the actions");
  }

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    // Two runs at once would both find an RP due and take two: the second is refused
    // (exit 5) while the first holds this lock; the kernel drops it if the first dies.
    std::optional<LockFile> lock;
    if (!dry_run_) {
      auto locked = LockFile::Acquire(ctx.store_dir + "/auto.lock", ctx.store_dir + " (rpfs auto)");
      if (!locked.ok()) return ctx.Fail(locked.status());
      lock.emplace(std::move(*locked));
    }
    auto vms = VmNames(**repo, vm_);
    if (!vms.ok()) return ctx.Fail(vms.status());
    now_ = NowMicros();
    int code = kExitOk;
    for (const auto& vm : *vms) {
      if (Status s = RunVm(ctx, **repo, vm); !s.ok()) {
        int failed = ctx.Fail(s);
        if (code == kExitOk) code = failed;  // the first failure's cause
      }
    }
    if (ctx.json) {
      ctx.PrintJson({{"now", FormatIsoUtc(now_)}, {"dry_run", dry_run_}, {"actions", actions_}});
    }
    return code;
  }

 private:
  // The schedule, then the keep rules, of one VM. An error in the first still lets the
  // second run: a VM whose disks cannot be read keeps being pruned by its own rules.
  Status RunVm(const Context& ctx, Repository& repo, const std::string& vm) {
    RPFS_ASSIGN_OR_RETURN(std::optional<RetentionPolicy> policy, repo.GetPolicy(vm));
    if (!policy) {
      if (!vm_.empty()) Act(ctx, vm, "skip", "", "no schedule or keep rule (rpfs policy set)");
      return Status::OK();
    }
    RPFS_ASSIGN_OR_RETURN(std::vector<RpInfo> rps, repo.ListRps(vm));
    std::optional<std::string> created;
    Status first;
    if (policy->scheduled()) {
      std::optional<int64_t> newest;
      for (const auto& r : rps) newest = std::max(newest.value_or(r.created_us), r.created_us);
      rp::ScheduleCheck check = rp::CheckSchedule(*policy, newest, now_);
      if (check.due) {
        created = "auto-" + FormatIsoUtc(now_);
        std::string why = newest ? "no RP since " + FormatIsoUtc(check.period_start_us)
                                 : std::string("no RP yet");
        why += " (--every " + rp::FormatDuration(policy->every_us) + ")";
        first = Create(ctx, repo, vm, *created, why);
        if (!first.ok()) created.reset();
      } else {
        Act(ctx, vm, "wait", "", "next RP due " + FormatIsoUtc(check.next_due_us));
      }
    }
    if (!policy->empty()) {
      Status pruned = Prune(ctx, repo, vm, *policy, rps, created);
      if (first.ok()) first = pruned;
    }
    return first;
  }

  Status Create(const Context& ctx, Repository& repo, const std::string& vm,
                const std::string& name, const std::string& why) {
    if (dry_run_) {
      Act(ctx, vm, "create", name, why);
      return Status::OK();
    }
    control::Command cmd;
    cmd.verb = control::Verb::kCreate;
    cmd.rp = name;
    cmd.description = "taken by rpfs auto: " + why;
    auto done = ctx.Run(repo, vm, cmd);
    if (!done.ok()) {
      Act(ctx, vm, "create-failed", name, done.status().message());
      return done.status();
    }
    Act(ctx, vm, "create", name, why);
    return Status::OK();
  }

  // Prunes by the keep rules. A dry run decides over the RPs as they would be, the one
  // `auto` would create included, so it shows what a real run would remove.
  Status Prune(const Context& ctx, Repository& repo, const std::string& vm,
               const RetentionPolicy& policy, const std::vector<RpInfo>& rps,
               const std::optional<std::string>& created) {
    if (dry_run_) {
      std::vector<rp::RetentionInput> inputs;
      for (const auto& r : rps) {
        inputs.push_back({r.name, r.id, r.created_us, r.is_protected, r.automatic});
      }
      if (created) inputs.push_back({*created, UINT64_MAX, now_, false, false});
      for (const auto& d : rp::ApplyRetention(inputs, policy)) {
        if (!d.keep) Act(ctx, vm, "remove", d.name, policy.ToString());
      }
      return Status::OK();
    }
    control::Command cmd;
    cmd.verb = control::Verb::kPrune;
    cmd.policy = policy;
    auto done = ctx.Run(repo, vm, cmd);
    if (!done.ok()) {
      Act(ctx, vm, "prune-failed", "", done.status().message());
      return done.status();
    }
    for (const auto& e : done->prune ? done->prune->entries : std::vector<PruneEntry>()) {
      if (!e.keep) Act(ctx, vm, "remove", e.rp, policy.ToString());
    }
    return Status::OK();
  }

  // One action: a line ("created web01/auto-...  (why)"), or an entry of the JSON.
  void Act(const Context& ctx, const std::string& vm, const std::string& action,
           const std::string& rp, const std::string& detail) {
    actions_.push_back({{"vm", JsonText(vm)},
                        {"action", action},
                        {"rp", JsonText(rp)},
                        {"detail", JsonText(detail)}});
    if (ctx.json) return;
    std::string verb = action;
    if (action == "create" || action == "remove") {
      verb = dry_run_ ? "would " + action : action + "d";
    }
    std::string what = rp.empty() ? vm : vm + "/" + rp;
    std::fprintf(ctx.out, "%-15s %s  (%s)\n", verb.c_str(), what.c_str(), detail.c_str());
  }

  std::string vm_;
  bool dry_run_ = false;
  int64_t now_ = 0;
  nlohmann::json actions_ = nlohmann::json::array();
};

}  // namespace

std::unique_ptr<CliVerb> NewAutoVerb() { return std::make_unique<AutoVerb>(); }

}  // namespace rpfs::cli
