// One running guest helper process and the daemon's end of its socket.
//
// The child gets the other end as fd 3, /dev/null as stdin and stdout, the daemon's stderr,
// an empty environment, default signal dispositions and an empty signal mask, and nothing
// else: every descriptor rpfs opens is O_CLOEXEC/SOCK_CLOEXEC, and the helper closes any
// stray one itself (sandbox.h).
//
// No zombie: the object is the only owner of the pid and always reaps it (KillAndReap, or
// the destructor). Because the pid is not reaped before our own waitpid, it cannot have been
// reused, so SIGKILL always reaches our child. The daemon must not set SIGCHLD to SIG_IGN
// (the kernel would reap for it and waitpid would fail).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "rpfs/status.h"
#include "util/fd.h"

namespace rpfs::guest {

inline constexpr int kHelperSocketFd = 3;

class HelperProcess {
 public:
  // Starts argv[0] (an absolute path) with argv. IOError naming the program when it cannot.
  static Result<std::unique_ptr<HelperProcess>> Spawn(const std::vector<std::string>& argv);
  ~HelperProcess();
  HelperProcess(const HelperProcess&) = delete;
  HelperProcess& operator=(const HelperProcess&) = delete;

  int socket() const { return socket_.get(); }
  pid_t pid() const { return pid_; }

  // Kills the child (SIGKILL; no effect when it has exited already), waits for it, closes the
  // socket, and says how it ended: "killed by signal 31 (Bad system call)", "exit code 1".
  std::string KillAndReap();

 private:
  HelperProcess(pid_t pid, UniqueFd socket) : pid_(pid), socket_(std::move(socket)) {}
  pid_t pid_;  // 0 once reaped
  UniqueFd socket_;
};

}  // namespace rpfs::guest
