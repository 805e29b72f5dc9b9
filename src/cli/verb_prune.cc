// rpfs prune (VM | --all-vms) [--keep-...]... [--dry-run] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

std::string Reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : ", ") + r;
  return out;
}

class PruneVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("vm", vm_, "VM name");
    cmd->add_flag("--all-vms", all_vms_, "Every VM (those without a policy or rule are skipped)");
    flags_.Add(cmd);
    cmd->add_flag("--dry-run", dry_run_, "Only show what would be removed and freed");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }

  int Run(const Context& ctx) override {
    if (all_vms_ == !vm_.empty()) {
      return ctx.Fail(Status::InvalidArgument("give either a vm or --all-vms"));
    }
    auto given = flags_.Policy();
    if (!given.ok()) return ctx.Fail(given.status());
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto vms = VmNames(**repo, all_vms_ ? "" : vm_);
    if (!vms.ok()) return ctx.Fail(vms.status());
    nlohmann::json j = {{"dry_run", dry_run_}, {"vms", nlohmann::json::array()}};
    uint64_t total = 0;
    int code = kExitOk;
    for (const auto& vm : *vms) {
      auto policy = PolicyOf(**repo, vm, *given);
      if (!policy.ok()) return ctx.Fail(policy.status());
      if (!*policy) continue;  // --all-vms: VMs without a policy are left alone
      control::Command cmd;
      cmd.verb = control::Verb::kPrune;
      cmd.policy = **policy;
      cmd.dry_run = dry_run_;
      auto done = ctx.Run(**repo, vm, cmd);
      if (!done.ok()) {
        code = ctx.Fail(done.status());
        continue;
      }
      total += done->bytes_freed;
      j["vms"].push_back(PrintVm(ctx, vm, cmd.policy, *done->prune));
    }
    j["bytes_freed"] = total;
    if (ctx.json) {
      ctx.PrintJson(j);
    } else {
      std::fprintf(ctx.out, "%s %s (%llu bytes)\n", dry_run_ ? "would free" : "freed",
                   HumanBytes(total).c_str(), static_cast<unsigned long long>(total));
    }
    return code;
  }

 private:
  // The rules given on the command line, else the VM's stored policy; none when neither
  // exists under --all-vms, an error when neither exists for the one VM named.
  Result<std::optional<RetentionPolicy>> PolicyOf(const Repository& repo, const std::string& vm,
                                                  const RetentionPolicy& given) const {
    if (!given.empty()) return std::optional<RetentionPolicy>(given);
    RPFS_ASSIGN_OR_RETURN(std::optional<RetentionPolicy> stored, repo.GetPolicy(vm));
    if (stored && !stored->empty()) return stored;  // (a schedule alone keeps nothing)
    if (all_vms_) return std::optional<RetentionPolicy>();
    return Status::InvalidArgument("vm " + vm +
                                   " has no stored keep rule and no --keep-... rule was given "
                                   "(set one with 'rpfs policy set " +
                                   vm + " --keep-daily 7 ...')");
  }

  // Prints a VM's verdicts (unless --json) and returns them as JSON.
  static nlohmann::json PrintVm(const Context& ctx, const std::string& vm,
                                const RetentionPolicy& policy, const PruneResult& result) {
    nlohmann::json jvm = {{"vm", JsonText(vm)},
                          {"policy", JsonText(policy.ToString())},
                          {"bytes_freed", result.bytes_freed},
                          {"rps", nlohmann::json::array()}};
    if (!ctx.json) std::fprintf(ctx.out, "vm %s (%s)\n", vm.c_str(), policy.ToString().c_str());
    for (const auto& e : result.entries) {
      jvm["rps"].push_back({{"name", JsonText(e.rp)},
                            {"created", FormatIsoUtc(e.created_us)},
                            {"keep", e.keep},
                            {"reasons", JsonTexts(e.reasons)}});
      if (!ctx.json) {
        std::fprintf(ctx.out, "  %-7s %-20s %-28s %s\n", e.keep ? "keep" : "remove",
                     FormatIsoUtc(e.created_us).c_str(), e.rp.c_str(),
                     e.keep ? ("(" + Reasons(e.reasons) + ")").c_str() : "");
      }
    }
    return jvm;
  }

  std::string vm_;
  bool all_vms_ = false;
  bool dry_run_ = false;
  PolicyFlags flags_;
};

}  // namespace

std::unique_ptr<CliVerb> NewPruneVerb() { return std::make_unique<PruneVerb>(); }

}  // namespace rpfs::cli
