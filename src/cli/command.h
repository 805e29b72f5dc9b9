// The CLI's shared context and the verb interface. The verbs are listed once, in
// registry.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "control/operations.h"
#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::cli {

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
  uint32_t client_pid = 0;             // set in the daemon: the CLI process it serves
  uint32_t wait_s = 0;                 // --wait: how long a busy VM or store is waited for
  std::function<bool()> caller_gone;   // set in the daemon: the CLI process went away

  // The store named by --store / RPFS_STORE / the default, or the daemon's open one.
  Result<std::shared_ptr<Repository>> OpenRepo() const;
  // A path given by the user, resolved against the caller's working directory.
  std::string Path(const std::string& p) const;
  // Prints "rpfs: <message>" to `err` and returns the exit code for `s` (ExitCodeFor).
  int Fail(const Status& s) const;
  // Validates a user-given name; on error prints it and returns false.
  bool CheckName(const std::string& name, const char* what, int* exit_code) const;
  void PrintJson(const nlohmann::json& j) const;
  // The result of a verb: `j` with --json, else `text` (a line, newline included).
  void Report(const nlohmann::json& j, const std::string& text) const;
  // Runs `cmd` on `vm` through the one executor (control/operations.h): in the daemon
  // through the mount's Operations (so `.status` shows it and a concurrent command on the
  // VM gets EBUSY), else through an Operations of this process's own.
  Result<control::Outcome> Run(Repository& repo, const std::string& vm, const control::Command& cmd,
                               const ProgressFn& progress = nullptr) const;
  // Opens the store and runs `cmd` on `vm`, with a progress bar labelled `progress_label`
  // unless it is empty.
  Result<control::Outcome> OpenAndRun(const std::string& vm, const control::Command& cmd,
                                      const std::string& progress_label = "") const;
  // OpenAndRun, then prints the summary: a whole CLI verb whose output is the summary.
  int RunAndPrintSummary(const std::string& vm, const control::Command& cmd,
                         const std::string& progress_label = "") const;
};

// One `rpfs` verb (one per file, verb_*.cc): its arguments and flags are plain members that
// Declare() binds; Run() carries the verb out once the command line parsed. A mutating verb
// only builds a control::Command, runs it through Context::Run and prints the outcome.
class CliVerb {
 public:
  virtual ~CliVerb() = default;
  // Adds the verb's arguments and flags to `cmd`, bound to members of this object (and
  // --json to ctx.json).
  virtual void Declare(CLI::App* cmd, Context& ctx) = 0;
  // Returns the exit code; errors are reported through Context::Fail().
  virtual int Run(const Context& ctx) = 0;
};

// A read-only listing of one VM or of every VM: `<verb> [VM] [--json]` (plus what
// DeclareMore adds), run on the opened store.
class VmListingVerb : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) final {
    cmd->add_option("vm", vm_, "Only this VM");
    DeclareMore(cmd);
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }
  int Run(const Context& ctx) final {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    return List(ctx, **repo);
  }

 protected:
  virtual void DeclareMore(CLI::App*) {}
  virtual int List(const Context& ctx, Repository& repo) = 0;
  std::string vm_;  // empty: every VM
};

// Parses `args` (without the program name) and runs the subcommand in `ctx`. With
// `forward`, a command on a store served by a mount is handed to its daemon. Usage errors
// and help go to ctx.out / ctx.err like everything else.
int RunCli(const std::vector<std::string>& args, Context ctx, bool forward);

}  // namespace rpfs::cli
