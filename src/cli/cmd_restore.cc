// rpfs rollback | protect | unprotect
#include <unistd.h>

#include <cstdio>
#include <string>

#include "cli/command.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

// Rollback overwrites the VM's disks: unless --yes, the user types the VM's name.
bool Confirmed(const Context& ctx, const std::string& vm, const std::string& rp) {
  std::fprintf(ctx.err,
               "rpfs: rolling back overwrites the disks of vm %s with rp %s; what they hold now "
               "is lost (use --keep-current to save it first).\nType the vm name to go on: ",
               vm.c_str(), rp.c_str());
  std::fflush(ctx.err);
  char line[256];
  if (std::fgets(line, sizeof line, ctx.in) == nullptr) return false;
  std::string answer(line);
  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
  return answer == vm;
}

int RunRollback(const Context& ctx, const std::string& vm, const std::string& rp, bool keep_current,
                bool yes) {
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  auto target = (*repo)->GetRp(vm, rp);  // a wrong name fails before the question
  if (!target.ok()) return ctx.Fail(target.status());
  if (!yes && !Confirmed(ctx, vm, rp)) {
    return ctx.Fail(Status::Aborted("rollback of vm " + vm + " not confirmed; nothing changed"));
  }
  control::Command cmd;
  cmd.verb = control::Verb::kRollback;
  cmd.rp = rp;
  cmd.keep_current = keep_current;
  repo->reset();  // RunControlVerb opens it again (a local store allows one opener)
  return ctx.RunControlVerb(vm, cmd, "rollback " + vm + " to " + rp);
}

void RegisterProtect(CLI::App& app, Context& ctx, Action* action, bool protect) {
  auto* cmd = app.add_subcommand(protect ? "protect" : "unprotect",
                                 protect ? "Keep a recovery point from delete and prune"
                                         : "Allow a protected recovery point to be deleted again");
  auto vm = std::make_shared<std::string>();
  auto rp = std::make_shared<std::string>();
  cmd->add_option("vm", *vm, "VM name")->required();
  cmd->add_option("rp", *rp, "Recovery point")->required();
  cmd->callback([&ctx, action, vm, rp, protect] {
    *action = [&ctx, vm, rp, protect] {
      auto repo = ctx.OpenRepo();
      if (!repo.ok()) return ctx.Fail(repo.status());
      control::Command c;
      c.verb = protect ? control::Verb::kProtect : control::Verb::kUnprotect;
      c.rp = *rp;
      auto done =
          ctx.ops != nullptr ? ctx.ops->Run(*vm, c) : control::Operations(repo->get()).Run(*vm, c);
      if (!done.ok()) return ctx.Fail(done.status());
      std::fprintf(ctx.out, "%s\n", done->c_str());
      return kExitOk;
    };
  });
}

}  // namespace

void RegisterRestoreCommands(CLI::App& app, Context& ctx, Action* action) {
  {
    auto* cmd = app.add_subcommand(
        "rollback", "Rewrite a VM's disks to a recovery point (only differing chunks)");
    auto vm = std::make_shared<std::string>();
    auto rp = std::make_shared<std::string>();
    auto keep = std::make_shared<bool>(false);
    auto yes = std::make_shared<bool>(false);
    cmd->add_option("vm", *vm, "VM name")->required();
    cmd->add_option("rp", *rp, "Recovery point to go back to")->required();
    cmd->add_flag("--keep-current", *keep, "First take an RP of the disks as they are now");
    cmd->add_flag("--yes", *yes, "Do not ask for confirmation");
    cmd->callback([&ctx, action, vm, rp, keep, yes] {
      *action = [&ctx, vm, rp, keep, yes] { return RunRollback(ctx, *vm, *rp, *keep, *yes); };
    });
  }
  RegisterProtect(app, ctx, action, true);
  RegisterProtect(app, ctx, action, false);
}

}  // namespace rpfs::cli
