// The CLI's shared context and the registry of subcommands (one file per group of verbs).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "control/operations.h"
#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::cli {

// Exit codes (SPEC §5).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 70;

// One invocation of a subcommand: where its output goes and which store it works on. The
// same command runs in the `rpfs` process itself or, while a mount serves the store, in
// the daemon on behalf of a client (daemon.h): then `out`/`err`/`in` are the client's own
// stdout/stderr/stdin (passed over the socket), `cwd` is the client's working directory,
// and `served` is the daemon's open store.
struct Context {
  std::string store_dir;
  bool json = false;
  FILE* out = stdout;
  FILE* err = stderr;
  FILE* in = stdin;
  std::string cwd;                     // empty: this process's own working directory
  Repository* served = nullptr;        // set in the daemon
  control::Operations* ops = nullptr;  // set in the daemon: the mount's operations

  // The store named by --store / RPFS_STORE / the default, or the daemon's open one.
  Result<std::shared_ptr<Repository>> OpenRepo() const;
  // A path given by the user, resolved against the caller's working directory.
  std::string Path(const std::string& p) const;
  // Prints "rpfs: <message>" to `err` and returns the exit code for `s` (2 for invalid
  // arguments, 1 otherwise).
  int Fail(const Status& s) const;
  // Validates a user-given name; on error prints it and returns false.
  bool CheckName(const std::string& name, const char* what, int* exit_code) const;
  void PrintJson(const nlohmann::json& j) const;
  // Runs `task` as an operation on `vm`: in the daemon through the mount's Operations (so
  // `.status` shows it and a concurrent command on the VM gets EBUSY), else directly.
  Result<std::string> RunOp(Repository& repo, const std::string& vm, const std::string& what,
                            const control::Operations::Task& task,
                            const ProgressFn& progress = nullptr) const;
  // Opens the store, runs control command `cmd` on `vm` (with a progress bar labelled
  // `progress_label` if not empty) and prints its summary: a whole CLI verb.
  int RunControlVerb(const std::string& vm, const control::Command& cmd,
                     const std::string& progress_label = "") const;
  // The same for a control command (control/command.h).
  Result<std::string> RunControl(Repository& repo, const std::string& vm,
                                 const control::Command& cmd,
                                 const ProgressFn& progress = nullptr) const;
};

// A subcommand's action returns an exit code; errors are reported through Context::Fail().
using Action = std::function<int()>;

// Parses `args` (without the program name) and runs the subcommand in `ctx`. With
// `forward`, a command on a store served by a mount is handed to its daemon. Usage errors
// and help go to ctx.out / ctx.err like everything else.
int RunCli(const std::vector<std::string>& args, Context ctx, bool forward);

void RegisterStoreCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterVmCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterRpCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterMountCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterRestoreCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterCloneCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterPruneCommands(CLI::App& app, Context& ctx, Action* action);

}  // namespace rpfs::cli
