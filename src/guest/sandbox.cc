#include "guest/sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace rpfs::guest {
namespace {

Status Fail(const char* step) { return Status::FromErrno(errno, std::string("sandbox: ") + step); }

Status RedirectStdio() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return Fail("opening /dev/null");
  bool ok = ::dup2(null, STDIN_FILENO) >= 0 && ::dup2(null, STDOUT_FILENO) >= 0;
  if (null > STDERR_FILENO) ::close(null);
  return ok ? Status::OK() : Fail("redirecting stdin and stdout");
}

// Whatever the daemon (or a library of ours) left open: the helper holds nothing but its
// socket.
Status CloseOtherFds(int socket_fd) {
  if (socket_fd <= STDERR_FILENO) return Status::InvalidArgument("sandbox: bad socket fd");
  if (socket_fd > STDERR_FILENO + 1 &&
      ::close_range(STDERR_FILENO + 1, static_cast<unsigned>(socket_fd) - 1, 0) != 0) {
    return Fail("closing descriptors");
  }
  if (::close_range(static_cast<unsigned>(socket_fd) + 1, UINT_MAX, 0) != 0) {
    return Fail("closing descriptors");
  }
  return Status::OK();
}

Status DropIds(const SandboxOptions& o) {
  if (::geteuid() != 0) return Status::OK();
  if (::setgroups(0, nullptr) != 0) return Fail("dropping supplementary groups");
  if (::setresgid(o.gid, o.gid, o.gid) != 0) return Fail("setting the group id");
  if (::setresuid(o.uid, o.uid, o.uid) != 0) return Fail("setting the user id");
  if (::geteuid() == 0 && o.uid != 0) return Status::PermissionDenied("sandbox: still root");
  return Status::OK();
}

Status SetLimit(int resource, rlim_t value, const char* what) {
  rlimit limit{value, value};
  if (::setrlimit(resource, &limit) != 0) return Fail(what);
  return Status::OK();
}

// Sanitizer builds (tests only): their runtimes reserve terabytes of address space for
// shadow memory, and probe whether memory is readable with a pipe (IsAccessibleMemoryRange).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif
constexpr bool kLimitAddressSpace = !kSanitizerBuild;

// No RLIMIT_FSIZE: stderr may be the daemon's log file, and a limit would kill the helper with
// SIGXFSZ on its one diagnostic line; no other file can be opened.
Status SetLimits(int socket_fd) {
  if (kLimitAddressSpace) {
    RPFS_RETURN_IF_ERROR(SetLimit(RLIMIT_AS, rlim_t{1} << 30, "limiting address space"));
  }
  RPFS_RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, 0, "disabling core dumps"));
  RPFS_RETURN_IF_ERROR(SetLimit(RLIMIT_NOFILE,
                                static_cast<rlim_t>(socket_fd) + (kSanitizerBuild ? 3 : 1),
                                "limiting descriptors"));
  return SetLimit(RLIMIT_NPROC, 0, "limiting processes");
}

// The allowlist: I/O on descriptors already open, memory (never executable: no code can be
// mapped after start-up), futexes for the allocator's and our mutexes, clocks, signal return
// and masks, a fatal signal to itself (abort() of a failed assertion shows as SIGABRT), exit.
// Everything else kills the whole process.
Status LoadSeccomp() {
  scmp_filter_ctx ctx = ::seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (ctx == nullptr) return Status::IOError("sandbox: seccomp_init failed");
  int rc = 0;
  auto allow = [&](int syscall) {
    if (rc == 0) rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, syscall, 0);
  };
  for (int s : {SCMP_SYS(read),
                SCMP_SYS(write),
                SCMP_SYS(readv),
                SCMP_SYS(writev),
                SCMP_SYS(recvmsg),
                SCMP_SYS(sendmsg),
                SCMP_SYS(recvfrom),
                SCMP_SYS(sendto),
                SCMP_SYS(munmap),
                SCMP_SYS(mremap),
                SCMP_SYS(brk),
                SCMP_SYS(madvise),
                SCMP_SYS(futex),
                SCMP_SYS(clock_gettime),
                SCMP_SYS(gettimeofday),
                SCMP_SYS(time),
                SCMP_SYS(getpid),
                SCMP_SYS(gettid),
                SCMP_SYS(rt_sigreturn),
                SCMP_SYS(rt_sigprocmask),
                SCMP_SYS(restart_syscall),
                SCMP_SYS(exit),
                SCMP_SYS(exit_group)}) {
    allow(s);
  }
  if (kSanitizerBuild) {
    for (int s : {SCMP_SYS(pipe), SCMP_SYS(pipe2), SCMP_SYS(close), SCMP_SYS(sigaltstack)}) {
      allow(s);
    }
  }
  for (int s : {SCMP_SYS(mmap), SCMP_SYS(mprotect)}) {
    if (rc == 0) {
      rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, s, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    }
  }
  if (rc == 0) {
    rc = ::seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                            SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid())));
  }
  if (rc == 0) rc = ::seccomp_load(ctx);
  ::seccomp_release(ctx);
  if (rc != 0) return Status::IOError("sandbox: loading the seccomp filter failed", -rc);
  return Status::OK();
}

}  // namespace

Status EnterSandbox(int socket_fd, const SandboxOptions& options) {
  RPFS_RETURN_IF_ERROR(RedirectStdio());
  RPFS_RETURN_IF_ERROR(CloseOtherFds(socket_fd));
  RPFS_RETURN_IF_ERROR(DropIds(options));
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Fail("setting no_new_privs");
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return Fail("clearing dumpable");
  RPFS_RETURN_IF_ERROR(SetLimits(socket_fd));
  return LoadSeccomp();
}

}  // namespace rpfs::guest
