// rpfs mount MOUNTPOINT [-f] [-o OPT]...
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/command.h"
#include "cli/daemon.h"
#include "fs/filesystem.h"
#include "fuse/fuse_server.h"

namespace rpfs::cli {
namespace {

std::vector<std::string> SplitOptions(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& r : raw) {
    std::stringstream ss(r);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty()) out.push_back(item);
    }
  }
  return out;
}

// Opens the store and serves it; `ready` runs once the mount answers.
Status OpenAndServe(const Context& ctx, const fuse::MountOptions& opts,
                    const std::function<void()>& ready) {
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return repo.status();
  fs::Filesystem filesystem(repo->get());
  bool allow_other = false;
  for (const auto& o : opts.options) allow_other |= o == "allow_other";
  filesystem.operations()->SetMount(
      std::filesystem::absolute(opts.mountpoint).lexically_normal().string(), allow_other);
  // Other rpfs commands on this store now run here (daemon.h).
  auto server = CommandServer::Start(repo->get(), filesystem.operations(), ctx.store_dir);
  if (!server.ok()) return server.status().WithContext("serving store ", ctx.store_dir);
  return fuse::Serve(&filesystem, opts, ready);
}

int RunMount(const Context& ctx, const fuse::MountOptions& opts, bool foreground) {
  if (foreground) {
    Status s = OpenAndServe(ctx, opts, [&] {
      std::fprintf(ctx.err, "rpfs: serving store %s on %s\n", ctx.store_dir.c_str(),
                   opts.mountpoint.c_str());
    });
    return s.ok() ? kExitOk : ctx.Fail(s);
  }
  // Background: the child opens the store (after fork: no threads cross it) and reports
  // "ready" or its error through a pipe, so `rpfs mount X && ls X` works.
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return ctx.Fail(Status::FromErrno(errno, "pipe"));
  pid_t pid = ::fork();
  if (pid < 0) return ctx.Fail(Status::FromErrno(errno, "fork"));
  if (pid == 0) {
    ::close(pipefd[0]);
    ::setsid();
    Status s = OpenAndServe(ctx, opts, [&] {
      char ok = 'R';
      (void)::write(pipefd[1], &ok, 1);
      ::close(pipefd[1]);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    });
    if (!s.ok()) {
      std::string msg = "E" + s.message();
      (void)::write(pipefd[1], msg.data(), msg.size());
      ::_exit(kExitFailed);
    }
    ::_exit(kExitOk);
  }
  ::close(pipefd[1]);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) {
    reply.append(buf, static_cast<size_t>(n));
    if (reply[0] == 'R') break;
  }
  ::close(pipefd[0]);
  if (!reply.empty() && reply[0] == 'R') return kExitOk;
  ::waitpid(pid, nullptr, 0);
  std::fprintf(ctx.err, "rpfs: %s\n", reply.empty() ? "mount daemon died" : reply.c_str() + 1);
  return kExitFailed;
}

}  // namespace

void RegisterMountCommands(CLI::App& app, Context& ctx, Action* action) {
  auto* cmd =
      app.add_subcommand("mount", "Show every VM's recovery points as read-only directories");
  auto mountpoint = std::make_shared<std::string>();
  auto foreground = std::make_shared<bool>(false);
  auto debug = std::make_shared<bool>(false);
  auto options = std::make_shared<std::vector<std::string>>();
  cmd->add_option("mountpoint", *mountpoint, "Directory to mount on")->required();
  cmd->add_flag("-f,--foreground", *foreground, "Stay in the foreground");
  cmd->add_flag("--debug", *debug, "Log every FUSE request (implies nothing else)");
  cmd->add_option("-o", *options, "Mount options, e.g. allow_other (comma-separated, repeatable)");
  cmd->callback([&ctx, action, mountpoint, foreground, debug, options] {
    *action = [&ctx, mountpoint, foreground, debug, options] {
      fuse::MountOptions opts;
      opts.mountpoint = *mountpoint;
      opts.options = SplitOptions(*options);
      opts.debug = *debug;
      return RunMount(ctx, opts, *foreground);
    };
  });
}

}  // namespace rpfs::cli
