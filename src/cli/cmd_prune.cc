// rpfs prune | policy set | policy show
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "rp/retention.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

struct PolicyFlags {
  uint32_t last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  std::string within;
  void Add(CLI::App* cmd) {
    cmd->add_option("--keep-last", last, "Keep the N newest RPs");
    cmd->add_option("--keep-hourly", hourly, "Keep the newest RP of each of the last N hours");
    cmd->add_option("--keep-daily", daily, "... of each of the last N days (UTC)");
    cmd->add_option("--keep-weekly", weekly, "... of each of the last N ISO weeks");
    cmd->add_option("--keep-monthly", monthly, "... of each of the last N months");
    cmd->add_option("--keep-yearly", yearly, "... of each of the last N years");
    cmd->add_option("--keep-within", within,
                    "Keep every RP this young, relative to the newest (36h, 7d, 2w, 6m, 1y6m)");
  }
  Result<RetentionPolicy> Policy() const {
    RetentionPolicy p;
    p.keep_last = last;
    p.keep_hourly = hourly;
    p.keep_daily = daily;
    p.keep_weekly = weekly;
    p.keep_monthly = monthly;
    p.keep_yearly = yearly;
    if (!within.empty()) {
      RPFS_ASSIGN_OR_RETURN(p.keep_within_us, rp::ParseDuration(within));
    }
    return p;
  }
};

std::string Reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : ", ") + r;
  return out;
}

int RunPrune(const Context& ctx, std::string vm, bool all_vms, const PolicyFlags& flags,
             bool dry_run) {
  if (all_vms == !vm.empty()) {
    return ctx.Fail(Status::InvalidArgument("give either a vm or --all-vms"));
  }
  auto given = flags.Policy();
  if (!given.ok()) return ctx.Fail(given.status());
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  std::vector<std::string> vms;
  if (all_vms) {
    auto list = (*repo)->ListVms();
    if (!list.ok()) return ctx.Fail(list.status());
    for (const auto& v : *list) vms.push_back(v.name);
  } else {
    vms.push_back(vm);
  }
  nlohmann::json j = {{"dry_run", dry_run}, {"vms", nlohmann::json::array()}};
  uint64_t total = 0;
  int code = kExitOk;
  for (const auto& name : vms) {
    RetentionPolicy policy = *given;
    if (policy.empty()) {
      auto stored = (*repo)->GetPolicy(name);
      if (!stored.ok()) return ctx.Fail(stored.status());
      if (!*stored) {
        if (all_vms) continue;  // VMs without a policy are left alone
        return ctx.Fail(Status::InvalidArgument(
            "vm " + name +
            " has no stored policy and no --keep-... rule was given (set one "
            "with 'rpfs policy set " +
            name + " --keep-daily 7 ...')"));
      }
      policy = **stored;
    }
    PruneResult result;
    auto done = ctx.RunOp(**repo, name,
                          std::string(dry_run ? "prune --dry-run " : "prune ") + policy.ToString(),
                          [&](const ProgressFn&) -> Result<std::string> {
                            RPFS_ASSIGN_OR_RETURN(result, (*repo)->Prune(name, policy, dry_run));
                            return "freed " + std::to_string(result.bytes_freed) + " bytes";
                          });
    if (!done.ok()) {
      code = ctx.Fail(done.status());
      continue;
    }
    total += result.bytes_freed;
    nlohmann::json jvm = {{"vm", name},
                          {"policy", policy.ToString()},
                          {"bytes_freed", result.bytes_freed},
                          {"rps", nlohmann::json::array()}};
    if (!ctx.json) std::fprintf(ctx.out, "vm %s (%s)\n", name.c_str(), policy.ToString().c_str());
    for (const auto& e : result.entries) {
      jvm["rps"].push_back({{"name", e.rp},
                            {"created", FormatIsoUtc(e.created_us)},
                            {"keep", e.keep},
                            {"reasons", e.reasons}});
      if (!ctx.json) {
        std::fprintf(ctx.out, "  %-7s %-20s %-28s %s\n", e.keep ? "keep" : "remove",
                     FormatIsoUtc(e.created_us).c_str(), e.rp.c_str(),
                     e.keep ? ("(" + Reasons(e.reasons) + ")").c_str() : "");
      }
    }
    j["vms"].push_back(jvm);
  }
  j["bytes_freed"] = total;
  if (ctx.json) {
    ctx.PrintJson(j);
  } else {
    std::fprintf(ctx.out, "%s %s (%llu bytes)\n", dry_run ? "would free" : "freed",
                 HumanBytes(total).c_str(), static_cast<unsigned long long>(total));
  }
  return code;
}

}  // namespace

void RegisterPruneCommands(CLI::App& app, Context& ctx, Action* action) {
  {
    auto* cmd = app.add_subcommand("prune", "Delete the RPs a retention policy does not keep");
    auto vm = std::make_shared<std::string>();
    auto all = std::make_shared<bool>(false);
    auto dry = std::make_shared<bool>(false);
    auto flags = std::make_shared<PolicyFlags>();
    cmd->add_option("vm", *vm, "VM name");
    cmd->add_flag("--all-vms", *all, "Every VM (those without a policy or rule are skipped)");
    flags->Add(cmd);
    cmd->add_flag("--dry-run", *dry, "Only show what would be removed and freed");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback([&ctx, action, vm, all, dry, flags] {
      *action = [&ctx, vm, all, dry, flags] { return RunPrune(ctx, *vm, *all, *flags, *dry); };
    });
  }
  auto* policy = app.add_subcommand("policy", "The retention policy stored with each VM");
  policy->require_subcommand(1);
  {
    auto* cmd = policy->add_subcommand("set", "Store a VM's retention policy (no rule: clear it)");
    auto vm = std::make_shared<std::string>();
    auto flags = std::make_shared<PolicyFlags>();
    cmd->add_option("vm", *vm, "VM name")->required();
    flags->Add(cmd);
    cmd->callback([&ctx, action, vm, flags] {
      *action = [&ctx, vm, flags] {
        auto p = flags->Policy();
        if (!p.ok()) return ctx.Fail(p.status());
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        Status s = (*repo)->SetPolicy(*vm, *p);
        if (!s.ok()) return ctx.Fail(s);
        std::fprintf(ctx.out, "policy of vm %s: %s\n", vm->c_str(), p->ToString().c_str());
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = policy->add_subcommand("show", "Show the stored retention policies");
    auto vm = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "Only this VM");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback([&ctx, action, vm] {
      *action = [&ctx, vm] {
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        std::vector<std::string> names;
        if (vm->empty()) {
          auto list = (*repo)->ListVms();
          if (!list.ok()) return ctx.Fail(list.status());
          for (const auto& v : *list) names.push_back(v.name);
        } else {
          names.push_back(*vm);
        }
        nlohmann::json j = nlohmann::json::array();
        for (const auto& n : names) {
          auto p = (*repo)->GetPolicy(n);
          if (!p.ok()) return ctx.Fail(p.status());
          std::string text = *p ? (*p)->ToString() : "(none)";
          j.push_back({{"vm", n}, {"policy", text}});
          if (!ctx.json) std::fprintf(ctx.out, "%-20s %s\n", n.c_str(), text.c_str());
        }
        if (ctx.json) ctx.PrintJson(j);
        return kExitOk;
      };
    });
  }
}

}  // namespace rpfs::cli
