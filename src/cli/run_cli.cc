// Parses one rpfs command line and runs it: locally, or in the daemon serving the store.
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "cli/command.h"
#include "cli/daemon.h"
#include "cli/registry.h"

namespace rpfs::cli {
namespace {

// Commands that never go to a daemon: `init` makes a store (there is no daemon for it
// yet) and `mount` starts one.
bool RunsOnlyLocally(const std::string& command) { return command == "init" || command == "mount"; }

}  // namespace

int RunCli(const std::vector<std::string>& args, Context ctx, bool forward) {
  CLI::App app{"rpfs: recovery points of virtual machines, kept deduplicated and compressed"};
  app.name("rpfs");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for all subcommands");
  if (ctx.store_dir.empty()) {
    const char* env = std::getenv("RPFS_STORE");
    ctx.store_dir = env != nullptr && *env != '\0' ? env : "/var/lib/rpfs";
  }
  app.add_option("--store", ctx.store_dir, "Store directory (default $RPFS_STORE or /var/lib/rpfs)")
      ->capture_default_str();

  std::vector<std::unique_ptr<CliVerb>> verbs;
  CliVerb* chosen = nullptr;
  RegisterVerbs(app, ctx, &verbs, &chosen);

  std::ostringstream out, err;
  int code = kExitOk;
  bool parsed = false;
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
    app.parse(reversed);
    parsed = true;
  } catch (const CLI::CallForHelp& e) {
    code = app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    code = app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    app.exit(e, out, err);
    code = kExitUsage;
  }
  std::fputs(out.str().c_str(), ctx.out);
  std::fputs(err.str().c_str(), ctx.err);
  if (!parsed) return code;
  if (chosen == nullptr) return kExitUsage;

  const std::string command = app.get_subcommands().front()->get_name();
  if (ctx.served != nullptr && RunsOnlyLocally(command)) {
    return ctx.Fail(Status::Busy("store " + ctx.store_dir + " is served by a mount (pid " +
                                 std::to_string(::getpid()) + "); '" + command +
                                 "' cannot run on it now"));
  }
  if (forward && !RunsOnlyLocally(command)) {
    if (auto remote = RunInDaemon(ctx.store_dir, args)) return *remote;
  }
  return chosen->Run(ctx);
}

}  // namespace rpfs::cli
