#include "torture/spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

namespace rpfs::torture {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env, int out, int err) {
  ::setpgid(0, 0);
  int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

}  // namespace

ChildResult RunChild(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env, int kill_after_ms) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  const auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) ExecChild(argv, env, out_pipe[1], err_pipe[1]);
  ::setpgid(pid, pid);  // also here: no race with the kill below
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) throw std::runtime_error("pidfd_open failed");

  ChildResult r;
  const auto deadline = start + std::chrono::milliseconds(kill_after_ms);
  struct pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
  bool exited = false;
  char buf[1 << 16];
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || !exited) {
    int timeout = -1;
    if (kill_after_ms >= 0 && !exited && !r.killed_by_timer) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    int n = ::poll(fds, 3, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error("poll failed");
    if (n == 0) {  // the delay is up
      ::kill(-pid, SIGKILL);
      r.killed_by_timer = true;
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(got));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (fds[2].fd >= 0 && fds[2].revents != 0) {
      exited = true;
      fds[2].fd = -1;
    }
  }
  ::close(pidfd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  // A child that exited on its own just before the timer fired is not "killed".
  if (r.signal != SIGKILL) r.killed_by_timer = false;
  return r;
}

std::string CommandLine(const std::vector<std::string>& argv,
                        const std::map<std::string, std::string>& env) {
  std::string s;
  for (const auto& [k, v] : env) s += k + "=" + v + " ";
  for (size_t i = 0; i < argv.size(); ++i) s += (i ? " " : "") + argv[i];
  return s;
}

}  // namespace rpfs::torture
