// rpfs mount MOUNTPOINT [-f] [--debug] [--log-socket PATH] [-o OPT]...
// (also reached as `rpfs STORE MOUNTPOINT -o OPTS`, the form mount.fuse3 uses: run_cli.cc)
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "cli/daemon.h"
#include "cli/json_text.h"
#include "fs/filesystem.h"
#include "fs/names.h"
#include "fuse/fuse_server.h"
#include "guest/helper_client.h"
#include "util/log.h"

namespace rpfs::cli {
namespace {

// What mount(8) and fstab add to every mount and that means nothing here: "rw" (the mount
// is as writable as it always is: mkdir/rmdir/mv of RPs and .control), "dev"/"suid"
// (devices and set-uid bits stay off: libfuse mounts nodev,nosuid unless told otherwise,
// and a guest's set-uid binary must never run as one on the host), and fstab's own
// markers, which mount(8) or systemd act on before rpfs runs.
bool IgnoredMountOption(const std::string& o) {
  return o == "rw" || o == "dev" || o == "suid" || o == "defaults" || o == "auto" ||
         o == "noauto" || o == "nofail" || o == "_netdev" || o == "user" || o == "users" ||
         o == "nouser" || o.rfind("x-", 0) == 0 || o.rfind("comment=", 0) == 0;
}

std::vector<std::string> SplitOptions(const std::vector<std::string>& raw) {
  std::vector<std::string> out;
  for (const auto& r : raw) {
    std::stringstream ss(r);
    std::string item;
    while (std::getline(ss, item, ',')) {
      if (!item.empty() && !IgnoredMountOption(item)) out.push_back(item);
    }
  }
  return out;
}

// The gid of group `name` (a name or a number), for `-o group=`.
Result<uint32_t> GroupId(const std::string& name) {
  std::vector<char> buf(16384);
  struct group grp;
  struct group* found = nullptr;
  int err = ::getgrnam_r(name.c_str(), &grp, buf.data(), buf.size(), &found);
  if (found != nullptr) return static_cast<uint32_t>(found->gr_gid);
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos &&
      name.size() < 10) {
    return static_cast<uint32_t>(std::stoul(name));
  }
  if (err != 0) return Status::FromErrno(err, "looking up group " + name);
  return Status::InvalidArgument("mount option group=" + name + ": no such group");
}

// Takes our own options out of `opts` (the rest goes to FUSE): `group=NAME`, the operators
// group that may read every RP (fs/access.h).
Result<std::optional<uint32_t>> TakeOperatorsGroup(fuse::MountOptions* opts) {
  std::optional<uint32_t> operators;
  std::vector<std::string> rest;
  for (const auto& o : opts->options) {
    if (o.rfind("group=", 0) != 0) {
      rest.push_back(o);
      continue;
    }
    RPFS_ASSIGN_OR_RETURN(operators, GroupId(o.substr(6)));
  }
  opts->options = std::move(rest);
  return operators;
}

// Opens the store and serves it; `ready` runs once the mount answers.
Status OpenAndServe(const Context& ctx, fuse::MountOptions opts,
                    const std::function<void()>& ready) {
  RPFS_ASSIGN_OR_RETURN(std::optional<uint32_t> operators, TakeOperatorsGroup(&opts));
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return repo.status();
  // The clones of drills killed before they could clean up (docs/restore.md).
  if (auto cleaned = (*repo)->CleanDrillLeftovers(); !cleaned.ok()) {
    log::Log(log::Severity::kWarning, "drill-cleanup-failed",
             {{"error", cleaned.status().message()}});
  } else if (*cleaned > 0) {
    log::Log(log::Severity::kInfo, "drill-leftovers-removed",
             {{"clones", std::to_string(*cleaned)}});
  }
  // Guest filesystems are parsed only in sandboxed helpers: this very binary, run as
  // `rpfs __guest-helper` (guest/helper_client.h), one per open volume.
  fs::Filesystem filesystem(repo->get(), fs::MountAccess::OfThisProcess(operators),
                            guest::StartSelfHelper);
  filesystem.PrefetchGuestDirectories();  // find, ls -R, tar and rsync of files/ walk trees
  bool allow_other = false;
  for (const auto& o : opts.options) allow_other |= o == "allow_other";
  // `clone ... define` gives a new domain the clone's disks as this mount shows them.
  const std::filesystem::path root = std::filesystem::absolute(opts.mountpoint).lexically_normal();
  filesystem.operations()->SetMount(
      [root](const std::string& vm, const std::string& clone, const std::string& disk) {
        return (root / fs::CloneDiskPath(vm, clone, disk)).string();
      },
      allow_other);
  // Other rpfs commands on this store now run here (daemon.h).
  // A command returns once the kernel was told what it changed: 0.5 s at most, for a
  // notification that waits for a directory lock (fuse/notify_queue.h).
  auto server = CommandServer::Start(repo->get(), filesystem.operations(), ctx.store_dir, [&] {
    filesystem.SettleKernelCache(std::chrono::milliseconds(500));
  });
  if (!server.ok()) return server.status().WithContext("serving store ", ctx.store_dir);
  return fuse::Serve(&filesystem, opts, ready);
}

// Where the background daemon logs (util/log.h): the syslog socket, or when there is none
// the store's rpfs.log, said once on stderr before the daemon detaches from it.
std::string LogFallback(const Context& ctx, const std::string& socket) {
  std::string fallback = ctx.store_dir + "/rpfs.log";
  struct stat st;
  if (::stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    std::fprintf(ctx.err, "rpfs: no syslog socket at %s: the mount daemon logs to %s\n",
                 socket.c_str(), fallback.c_str());
  }
  return fallback;
}

int RunMount(const Context& ctx, const fuse::MountOptions& opts, bool foreground,
             const std::string& log_socket) {
  if (foreground) {
    Status s = OpenAndServe(ctx, opts, [&] {
      std::fprintf(ctx.err, "rpfs: serving store %s on %s\n", ctx.store_dir.c_str(),
                   opts.mountpoint.c_str());
    });
    return s.ok() ? kExitOk : ctx.Fail(s);
  }
  // Background: the child opens the store (after fork: no threads cross it) and reports
  // "ready" or its error through a pipe, so `rpfs mount X && ls X` works.
  const std::string log_fallback = LogFallback(ctx, log_socket);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return ctx.Fail(Status::FromErrno(errno, "pipe"));
  pid_t pid = ::fork();
  if (pid < 0) return ctx.Fail(Status::FromErrno(errno, "fork"));
  if (pid == 0) {
    ::close(pipefd[0]);
    ::setsid();
    Status s = OpenAndServe(ctx, opts, [&] {
      log::ToSyslog(log_socket, log_fallback);
      log::Log(log::Severity::kNotice, "mounted",
               {{"store", ctx.store_dir}, {"mountpoint", opts.mountpoint}});
      char ok = 'R';
      (void)::write(pipefd[1], &ok, 1);
      ::close(pipefd[1]);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
    });
    if (!s.ok()) {
      // "E", the exit code's byte, the message: the parent exits as a local failure would.
      std::string msg = "E" + std::string(1, static_cast<char>(ExitCodeFor(s))) + s.message();
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
  if (!reply.empty() && reply[0] == 'R') {
    if (ctx.json) {
      ctx.PrintJson({{"store", JsonText(ctx.store_dir)},
                     {"mountpoint", JsonText(opts.mountpoint)},
                     {"pid", pid}});
    }
    return kExitOk;
  }
  ::waitpid(pid, nullptr, 0);
  if (reply.size() < 2 || reply[0] != 'E') {
    std::fprintf(ctx.err, "rpfs: mount daemon died\n");
    return kExitFailed;
  }
  std::fprintf(ctx.err, "rpfs: %s\n", reply.c_str() + 2);
  return static_cast<unsigned char>(reply[1]);
}

class MountVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("mountpoint", mountpoint_, "Directory to mount on")->required();
    cmd->add_flag("-f,--foreground", foreground_, "Stay in the foreground");
    cmd->add_flag("--debug", debug_, "Log every FUSE request (implies nothing else)");
    cmd->add_option("--log-socket", log_socket_,
                    "Unix datagram socket the background daemon sends syslog lines to "
                    "(default $RPFS_LOG_SOCKET, else /dev/log)");
    cmd->add_option("-o", options_,
                    "Mount options, e.g. allow_other, group=NAME (the group may read every "
                    "RP; comma-separated, repeatable)");
  }

  int Run(const Context& ctx) override {
    fuse::MountOptions opts;
    opts.mountpoint = mountpoint_;
    opts.options = SplitOptions(options_);
    opts.debug = debug_;
    return RunMount(ctx, opts, foreground_, log_socket_.empty() ? log::SocketPath() : log_socket_);
  }

 private:
  std::string mountpoint_;
  bool foreground_ = false;
  bool debug_ = false;
  std::string log_socket_;
  std::vector<std::string> options_;
};

}  // namespace

std::unique_ptr<CliVerb> NewMountVerb() { return std::make_unique<MountVerb>(); }

}  // namespace rpfs::cli
