// rpfs rollback VM RP [--keep-current] [--yes] [--stop [--timeout S] [--force]] [--start]
#include <cstdio>
#include <string>

#include "cli/command.h"

namespace rpfs::cli {
namespace {

// Rollback overwrites the VM's disks: unless --yes or --keep-current (which saves them as an
// RP first, so nothing is lost), the user types the VM's name.
bool Confirmed(const Context& ctx, const std::string& vm, const std::string& rp) {
  std::fprintf(ctx.err,
               "rpfs: rolling back overwrites the disks of vm %s with rp %s; what they hold now "
               "is lost (--keep-current saves it as an RP first, --yes skips this "
               "question).\nType the vm name to go on: ",
               vm.c_str(), rp.c_str());
  std::fflush(ctx.err);
  char line[256];
  if (std::fgets(line, sizeof line, ctx.in) == nullptr) return false;
  std::string answer(line);
  while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) answer.pop_back();
  return answer == vm;
}

class RollbackVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", cmd_.rp, "Recovery point to go back to")->required();
    cmd->add_flag("--keep-current", cmd_.keep_current,
                  "First take an RP of the disks as they are now");
    cmd->add_flag("--yes", yes_, "Do not ask for confirmation (nor does --keep-current)");
    cmd->add_flag("--stop", cmd_.stop,
                  "Ask a running domain's guest to shut down first (ACPI, or its agent when ACPI "
                  "cannot be sent) and "
                  "wait for it");
    cmd->add_option("--timeout", cmd_.timeout,
                    "Seconds the guest gets to shut down with --stop (default 120); past them "
                    "the rollback is refused (exit 5)");
    cmd->add_flag("--force", cmd_.force,
                  "With --stop: destroy a guest that did not shut down in time");
    cmd->add_flag("--start", cmd_.start,
                  "Start the domain afterwards (an RP with memory resumes from it anyway)");
  }

  int Run(const Context& ctx) override {
    {
      auto repo = ctx.OpenRepo();
      if (!repo.ok()) return ctx.Fail(repo.status());
      auto target = (*repo)->GetRp(vm_, cmd_.rp);  // a wrong name fails before the question
      if (!target.ok()) return ctx.Fail(target.status());
    }  // closed again: a local store allows one opener, and RunAndPrintSummary opens it
    if (!yes_ && !cmd_.keep_current && !Confirmed(ctx, vm_, cmd_.rp)) {
      return ctx.Fail(
          Status::NotPermitted("rollback of vm " + vm_ + " not confirmed; nothing changed"));
    }
    cmd_.verb = control::Verb::kRollback;
    return ctx.RunAndPrintSummary(vm_, cmd_, "rollback " + vm_ + " to " + cmd_.rp);
  }

 private:
  std::string vm_;
  control::Command cmd_;
  bool yes_ = false;
};

}  // namespace

std::unique_ptr<CliVerb> NewRollbackVerb() { return std::make_unique<RollbackVerb>(); }

}  // namespace rpfs::cli
