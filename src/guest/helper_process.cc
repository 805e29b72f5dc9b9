#include "guest/helper_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

namespace rpfs::guest {
namespace {

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

Result<std::unique_ptr<HelperProcess>> HelperProcess::Spawn(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("guest helper: no program to start");
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status::FromErrno(errno, "guest helper: socketpair");
  }
  UniqueFd ours(fds[0]);
  UniqueFd theirs(fds[1]);

  SpawnSetup s;
  // dup2 clears FD_CLOEXEC on fd 3; glibc (>= 2.29) does so too when `theirs` already is 3.
  posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&s.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&s.actions, theirs.get(), kHelperSocketFd);
  // The daemon may ignore SIGPIPE or block signals; the helper starts from the defaults.
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* no_env[] = {nullptr};
  // posix_spawn (vfork-like in glibc) is safe in the multi-threaded daemon, unlike fork.
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, argv[0].c_str(), &s.actions, &s.attr, args.data(), no_env);
  if (err != 0) return Status::FromErrno(err, "starting guest helper " + argv[0]);
  return std::unique_ptr<HelperProcess>(new HelperProcess(pid, std::move(ours)));
}

HelperProcess::~HelperProcess() { KillAndReap(); }

std::string HelperProcess::KillAndReap() {
  socket_.Reset();
  if (pid_ == 0) return "reaped already";
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = 0;
  if (r < 0) return std::string("not waitable: ") + std::strerror(errno);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    return "killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "exit code " + std::to_string(WEXITSTATUS(status));
}

}  // namespace rpfs::guest
