// Parses one rpfs command line and runs it: locally, or in the daemon serving the store.
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "cli/command.h"
#include "cli/daemon.h"
#include "cli/docs_gen.h"
#include "cli/registry.h"
#include "cli/version.h"

namespace rpfs::cli {
namespace {

// Commands that never go to a daemon: `init` makes a store (there is no daemon for it
// yet) and `mount` starts one.
bool RunsOnlyLocally(const std::string& command) { return command == "init" || command == "mount"; }

// The index of the verb in `args`: the first word that is neither an option nor the value
// of --store (the one option before a verb that takes a value); args.size() when none.
size_t VerbIndex(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--store") {
      ++i;
    } else if (args[i].empty() || args[i][0] != '-') {
      return i;
    }
  }
  return args.size();
}

// `rpfs help [verb...]` is `rpfs [verb...] --help`.
std::vector<std::string> HelpAsFlag(std::vector<std::string> args) {
  size_t at = VerbIndex(args);
  if (at < args.size() && args[at] == "help") {
    args.erase(args.begin() + static_cast<std::ptrdiff_t>(at));
    args.push_back("--help");
  }
  return args;
}

// mount(8) runs `mount -t fuse.rpfs SOURCE DIR -o OPTS` (and fstab lines of type
// fuse.rpfs) as `rpfs SOURCE DIR -o OPTS` through mount.fuse3: that form, a path where the
// verb goes, is `rpfs --store SOURCE mount DIR -o OPTS`.
std::vector<std::string> MountHelperForm(std::vector<std::string> args) {
  if (args.size() < 2 || VerbIndex(args) != 0 || args[0].find('/') == std::string::npos ||
      args[1].empty() || args[1][0] == '-') {
    return args;
  }
  args.insert(args.begin(), "--store");
  args.insert(args.begin() + 2, "mount");
  return args;
}

// Names an unknown verb (CLI11 would only say that a subcommand is required) and lists the
// known ones. Empty when the verb is known or there is none.
std::string UnknownVerb(CLI::App& app, const std::vector<std::string>& args) {
  size_t at = VerbIndex(args);
  if (at == args.size()) return "";
  std::string known;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == args[at]) return "";
    if (sub->get_group().empty()) continue;  // hidden
    known += (known.empty() ? "" : ", ") + sub->get_name();
  }
  return "rpfs: unknown command '" + args[at] + "'; the commands are: " + known +
         " (rpfs help COMMAND)\n";
}

}  // namespace

int RunCli(const std::vector<std::string>& given, Context ctx, bool forward) {
  const std::vector<std::string> args = HelpAsFlag(MountHelperForm(given));
  CLI::App app{"rpfs: recovery points of virtual machines, kept deduplicated and compressed"};
  app.name("rpfs");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for all subcommands");
  app.set_version_flag("--version", VersionText);
  // Options of rpfs itself (--store) are taken after the verb too: every verb inherits this.
  app.fallthrough();
  if (ctx.store_dir.empty()) {
    const char* env = std::getenv("RPFS_STORE");
    ctx.store_dir = env != nullptr && *env != '\0' ? env : "/var/lib/rpfs";
  }
  app.add_option("--store", ctx.store_dir, "Store directory (default $RPFS_STORE or /var/lib/rpfs)")
      ->capture_default_str();
  // Every verb takes --json (listings declare their own with a better description).
  app.add_flag("--json", ctx.json, "Machine-readable output (JSON) of the result");
  // `--wait` alone waits 300 s; `--wait=S` says how long.
  app.add_flag("--wait{300}", ctx.wait_s,
               "Wait for a VM busy with another command, or a store another process has open, "
               "instead of failing with exit 5 (--wait=S: up to S seconds, default 300)");

  std::vector<std::unique_ptr<CliVerb>> verbs;
  CliVerb* chosen = nullptr;
  RegisterVerbs(app, ctx, &verbs, &chosen);

  // `rpfs __docs man DIR | bash`: what the build installs, made from this definition.
  if (size_t at = VerbIndex(args); at < args.size() && args[at] == "__docs") {
    return GenerateDocs(app, std::vector<std::string>(args.begin() + at + 1, args.end()), ctx);
  }
  std::ostringstream out, err;
  if (std::string unknown = UnknownVerb(app, args); !unknown.empty()) {
    std::fputs(unknown.c_str(), ctx.err);
    return kExitUsage;
  }
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
  } catch (const CLI::CallForVersion& e) {
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
