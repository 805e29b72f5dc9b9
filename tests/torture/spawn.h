// Runs a child process and, if asked, SIGKILLs it after a delay: the torture loop's way
// of dying "at a random moment". The child gets its own process group so the kill also
// reaches anything it started.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rpfs::torture {

struct ChildResult {
  int exit_code = -1;  // -1 when it died of a signal
  int signal = 0;
  bool killed_by_timer = false;  // we sent the SIGKILL (after `kill_after_ms`)
  double elapsed_ms = 0;
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
};

// Runs `argv` (argv[0] a path) with `env` added to this process's environment and stdin
// from /dev/null. With kill_after_ms >= 0, the child is SIGKILLed if it still runs then.
// Waits on a pidfd with a deadline: no polling, no sleeps.
ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, int kill_after_ms = -1);

// "A=1 B=2 argv..." for messages: the command a human can paste.
std::string CommandLine(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env);

}  // namespace rpfs::torture
