// rpfs: the command-line entry point. Parses arguments, runs one subcommand, maps its
// result to an exit code (0 ok, 1 failed, 2 usage, 70 internal error).
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "cli/command.h"
#include "rpfs/names.h"

namespace rpfs::cli {

int Fail(const Status& s) {
  std::fprintf(stderr, "rpfs: %s\n", s.message().c_str());
  return s.IsInvalidArgument() ? kExitUsage : kExitFailed;
}

bool CheckName(const std::string& name, const char* what, int* exit_code) {
  Status s = ValidateName(name, what);
  if (s.ok()) return true;
  *exit_code = Fail(s);
  return false;
}

int Main(int argc, char** argv) {
  CLI::App app{"rpfs: recovery points of virtual machines, kept deduplicated and compressed"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for all subcommands");
  Context ctx;
  const char* env = std::getenv("RPFS_STORE");
  ctx.store_dir = env != nullptr && *env != '\0' ? env : "/var/lib/rpfs";
  app.add_option("--store", ctx.store_dir, "Store directory (default $RPFS_STORE or /var/lib/rpfs)")
      ->capture_default_str();

  Action action;
  RegisterStoreCommands(app, ctx, &action);
  RegisterVmCommands(app, ctx, &action);
  RegisterRpCommands(app, ctx, &action);
  RegisterMountCommands(app, ctx, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (!action) return kExitUsage;
  return action();
}

}  // namespace rpfs::cli

int main(int argc, char** argv) {
  try {
    return rpfs::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rpfs: internal error: %s\n", e.what());
    return rpfs::cli::kExitInternal;
  }
}
