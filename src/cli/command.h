// The CLI's shared context and the registry of subcommands (one file per group of verbs).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::cli {

// Exit codes (SPEC §5).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 70;

struct Context {
  std::string store_dir;
  bool json = false;
  // Opens the store named by --store / RPFS_STORE / the default.
  Result<std::unique_ptr<Repository>> OpenRepo() const { return Repository::Open(store_dir); }
};

// A subcommand's action returns an exit code; errors are reported through Fail().
using Action = std::function<int()>;

// Prints "rpfs: <message>" to stderr and returns the exit code for `s`
// (2 for invalid arguments, 1 otherwise).
int Fail(const Status& s);
// Validates a user-given name; on error prints it and returns false.
bool CheckName(const std::string& name, const char* what, int* exit_code);

void RegisterStoreCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterVmCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterRpCommands(CLI::App& app, Context& ctx, Action* action);
void RegisterMountCommands(CLI::App& app, Context& ctx, Action* action);

}  // namespace rpfs::cli
