#include "cli/daemon.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <exception>

#include "cli/command.h"
#include "cli/daemon_request.h"
#include "util/coding.h"
#include "util/log.h"
#include "util/unix_socket.h"

namespace rpfs::cli {
namespace {

std::string EncodeExit(int code) {
  std::string out;
  Encoder(&out).PutFixed32(static_cast<uint32_t>(code));
  return out;
}

// A FILE* over a received descriptor (the FILE owns it); /dev/null when it cannot be used.
FILE* OpenStream(UniqueFd fd, const char* mode) {
  FILE* f = fd.valid() ? ::fdopen(fd.get(), mode) : nullptr;
  if (f != nullptr) {
    (void)fd.Release();
    return f;
  }
  return std::fopen("/dev/null", mode);
}

// The caller saw the reason on its stderr; the log keeps who ran what and how it ended.
void LogFailedCommand(uid_t uid, const std::vector<std::string>& args, int code) {
  std::string command;
  for (const auto& a : args) command += (command.empty() ? "" : " ") + a;
  log::Log(log::Severity::kNotice, "command-failed",
           {{"uid", std::to_string(uid)}, {"command", command}, {"exit", std::to_string(code)}});
}

}  // namespace

Result<std::unique_ptr<CommandServer>> CommandServer::Start(Repository* repo,
                                                            control::Operations* ops,
                                                            std::string store_dir,
                                                            std::function<void()> settle) {
  RPFS_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnix(store_dir, kSocketName));
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC));
  if (!wake.valid()) return Status::FromErrno(errno, "eventfd");
  std::unique_ptr<CommandServer> server(new CommandServer(
      repo, ops, std::move(store_dir), std::move(listener), std::move(wake), std::move(settle)));
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

CommandServer::CommandServer(Repository* repo, control::Operations* ops, std::string store_dir,
                             UniqueFd listener, UniqueFd wake, std::function<void()> settle)
    : repo_(repo),
      ops_(ops),
      store_dir_(std::move(store_dir)),
      settle_(std::move(settle)),
      listener_(std::move(listener)),
      wake_(std::move(wake)) {}

CommandServer::~CommandServer() {
  uint64_t one = 1;
  (void)::write(wake_.get(), &one, sizeof one);
  if (acceptor_.joinable()) acceptor_.join();
  ::unlink((store_dir_ + "/" + kSocketName).c_str());
  std::list<Worker> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& w : workers) w.thread.join();
}

void CommandServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0) return;
    auto conn = AcceptUnix(listener_.get());
    if (!conn.ok()) continue;
    std::lock_guard lock(mu_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done) {
        it->thread.join();
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    Worker& w = workers_.emplace_back();
    w.thread = std::thread([this, &w, c = std::move(*conn)]() mutable {
      // Serve() answers a throwing command itself; this catches what escapes before or
      // after it (the connection is then just dropped): no request ends the daemon.
      RunGuarded(
          [&] {
            Serve(std::move(c));
            return 0;
          },
          nullptr);
      std::lock_guard done_lock(mu_);
      w.done = true;
    });
  }
}

void CommandServer::Serve(UniqueFd conn) {
  std::vector<UniqueFd> fds;
  auto msg = ReceiveMessage(conn.get(), kMaxRequest, &fds);
  if (!msg.ok() || msg->empty() || fds.size() != 3) return;  // not a client: drop it
  Context ctx;
  ctx.store_dir = store_dir_;
  ctx.served = repo_;
  ctx.ops = ops_;
  ctx.in = OpenStream(std::move(fds[0]), "r");
  ctx.out = OpenStream(std::move(fds[1]), "w");
  ctx.err = OpenStream(std::move(fds[2]), "w");
  if (ctx.in == nullptr || ctx.out == nullptr || ctx.err == nullptr) return;
  std::setvbuf(ctx.err, nullptr, _IONBF, 0);
  if (::isatty(::fileno(ctx.out)) == 1) std::setvbuf(ctx.out, nullptr, _IOLBF, 0);

  int code = kExitFailed;
  auto peer = PeerOf(conn.get());
  if (!peer.ok()) {
    code = ctx.Fail(peer.status());
  } else if (peer->uid != 0 && peer->uid != ::geteuid()) {
    log::Log(log::Severity::kWarning, "command-refused",
             {{"uid", std::to_string(peer->uid)}, {"reason", "not the owner of the mount"}});
    code = ctx.Fail(
        Status::PermissionDenied("store " + store_dir_ + " is served by a mount of another user"));
  } else if (auto request = DecodeRequest(*msg); !request.ok()) {
    code = ctx.Fail(request.status());
  } else {
    ctx.cwd = request->cwd;
    ctx.client_pid = static_cast<uint32_t>(peer->pid);
    // The client waits on this socket for its exit code and writes nothing more: a hang-up
    // means it was interrupted (Ctrl-C) or killed.
    ctx.caller_gone = [fd = conn.get()] {
      pollfd p{fd, POLLRDHUP, 0};
      return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    };
    code = RunGuarded([&] { return RunCli(request->args, ctx, /*forward=*/false); }, ctx.err);
    if (code != kExitOk) LogFailedCommand(peer->uid, request->args, code);
    // A script that deletes an RP and then lists the mount must not see it any more.
    if (settle_) settle_();
  }
  // Everything written reaches the client before it learns the exit code and exits.
  std::fclose(ctx.out);
  std::fclose(ctx.err);
  std::fclose(ctx.in);
  (void)SendMessage(conn.get(), EncodeExit(code));
}

int RunGuarded(const std::function<int()>& command, FILE* client_err) {
  std::string cause;
  try {
    return command();
  } catch (const std::exception& e) {
    cause = e.what();
  } catch (...) {
    cause = "unknown exception";
  }
  log::Log(log::Severity::kError, "command-internal-error", {{"error", cause}});
  if (client_err != nullptr) std::fprintf(client_err, "rpfs: internal error: %s\n", cause.c_str());
  return kExitInternal;
}

std::optional<int> RunInDaemon(const std::string& store_dir, const std::vector<std::string>& args) {
  auto conn = ConnectUnix(store_dir, kSocketName);
  if (!conn.ok()) return std::nullopt;
  Request r;
  r.args = args;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) != nullptr) r.cwd = cwd;
  // Descriptors 0-2 as they are; a closed one is replaced by /dev/null.
  std::vector<UniqueFd> substitutes;
  std::vector<int> fds;
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) {
      fds.push_back(fd);
    } else {
      substitutes.emplace_back(::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY | O_CLOEXEC));
      fds.push_back(substitutes.back().get());
    }
  }
  std::string request = EncodeRequest(r);
  if (request.size() > kMaxRequest) {
    std::fprintf(stderr,
                 "rpfs: command line of %zu bytes is too long for the daemon (at most %zu)\n",
                 request.size(), kMaxRequest);
    return kExitUsage;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  Status sent = SendMessage(conn->get(), request, fds);
  if (!sent.ok()) {
    std::fprintf(stderr, "rpfs: talking to the daemon serving store %s: %s\n", store_dir.c_str(),
                 sent.message().c_str());
    return kExitFailed;
  }
  auto reply = ReceiveMessage(conn->get(), 16);
  if (!reply.ok() || reply->size() != 4) {
    std::fprintf(stderr, "rpfs: the daemon serving store %s ended before the command finished\n",
                 store_dir.c_str());
    return kExitFailed;
  }
  Decoder d(*reply, "daemon reply");
  auto code = d.GetFixed32();
  return code.ok() ? static_cast<int>(*code) : kExitFailed;
}

}  // namespace rpfs::cli
