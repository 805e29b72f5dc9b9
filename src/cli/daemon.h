// The mount daemon's command socket (SPEC §1): while `rpfs mount` serves a store, every
// other `rpfs` command on that store is carried out by the daemon, so the CLI and the
// mount never fight over the store lock and the mount sees every change at once.
//
// The client sends its arguments and working directory with its own stdin, stdout and
// stderr attached (SCM_RIGHTS) over `<store>/rpfs.sock`; the daemon runs the very same
// subcommand code with those descriptors and answers with the exit code. Output, progress
// bars (drawn when the client's stderr is a terminal), prompts and exit codes are
// therefore exactly those of a local run. Only the owner of the daemon (or root) may talk
// to it; the socket is 0600 as well.
#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "control/operations.h"
#include "rpfs/repository.h"
#include "rpfs/status.h"
#include "util/fd.h"

namespace rpfs::cli {

inline constexpr char kSocketName[] = "rpfs.sock";

class CommandServer {
 public:
  // Listens on the store's socket; commands run on `repo` through `ops` (the mount's, so
  // they share its per-VM serialisation and `.status`); both must outlive the server.
  // `settle`, if given, runs after each command and before its exit code is sent: the
  // mount's way of showing the command's result before the client goes on.
  static Result<std::unique_ptr<CommandServer>> Start(Repository* repo, control::Operations* ops,
                                                      std::string store_dir,
                                                      std::function<void()> settle = nullptr);
  // Stops accepting, waits for commands in progress, and removes the socket.
  ~CommandServer();

 private:
  CommandServer(Repository* repo, control::Operations* ops, std::string store_dir,
                UniqueFd listener, UniqueFd wake, std::function<void()> settle);
  void AcceptLoop();
  void Serve(UniqueFd conn);

  Repository* repo_;
  control::Operations* ops_;
  std::string store_dir_;
  std::function<void()> settle_;
  UniqueFd listener_;
  UniqueFd wake_;  // eventfd: tells the accept loop to stop
  std::thread acceptor_;
  struct Worker {
    std::thread thread;
    bool done = false;  // guarded by mu_; finished workers are joined by the next accept
  };
  std::mutex mu_;
  std::list<Worker> workers_;
};

// Runs one client's command in the daemon and returns its exit code; an exception from it
// (std::exception or anything else) becomes exit code 70 (kExitInternal), with the cause
// printed as "rpfs: internal error: <cause>" on `client_err` (when not null) and logged in
// the daemon's log (util/log) as `command-internal-error`. A request never ends the daemon
// (SPEC §7).
int RunGuarded(const std::function<int()>& command, FILE* client_err);

// Runs `args` (the command line without the program name) in the daemon serving
// `store_dir`, if there is one: returns its exit code, or nullopt when no daemon serves
// the store (the caller then opens it itself).
std::optional<int> RunInDaemon(const std::string& store_dir, const std::vector<std::string>& args);

}  // namespace rpfs::cli
