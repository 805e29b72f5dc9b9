#include "support/run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

namespace rpfs::testing {

std::string RpfsBinary() { return RPFS_BINARY; }

namespace {

// In a forked child: stdin from /dev/null, stdout/stderr to the given fds, extra
// environment, then exec. Never returns.
[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env, int out, int err) {
  int devnull = ::open("/dev/null", O_RDONLY);
  ::dup2(devnull, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  ::_exit(127);
}

}  // namespace

RunResult RunCommand(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) ExecChild(argv, env, out_pipe[1], err_pipe[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  RunResult r;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

RunResult Rpfs(const std::string& store, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {RpfsBinary(), "--store", store};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, env);
}

}  // namespace rpfs::testing

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace rpfs::testing {

PausedRun::PausedRun(const std::vector<std::string>& argv, const std::string& pause_point,
                     const std::string& work_dir, std::map<std::string, std::string> env)
    : dir_(work_dir) {
  ::mkfifo((dir_ + "/paused").c_str(), 0600);
  ::mkfifo((dir_ + "/resume").c_str(), 0600);
  env["RPFS_PAUSE_AT"] = pause_point;
  env["RPFS_PAUSE_DIR"] = dir_;
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = ::open((dir_ + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((dir_ + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ExecChild(argv, env, out, err);
  }
}

PausedRun::~PausedRun() {
  if (!finished_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void PausedRun::WaitPaused() {
  // Blocks until the child opens the FIFO for writing, i.e. reaches the pause point.
  int fd = ::open((dir_ + "/paused").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open paused fifo");
  char c;
  while (::read(fd, &c, 1) > 0) {
  }
  ::close(fd);
}

void PausedRun::Resume() {
  int fd = ::open((dir_ + "/resume").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open resume fifo");
  ::close(fd);
}

RunResult PausedRun::Finish() {
  RunResult r;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  finished_ = true;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  auto slurp = [](const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(dir_ + "/stdout");
  r.err = slurp(dir_ + "/stderr");
  return r;
}

}  // namespace rpfs::testing
