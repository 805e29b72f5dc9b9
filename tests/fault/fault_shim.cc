// An LD_PRELOAD shim that makes one chosen I/O call on files under a directory fail:
// fault injection below RocksDB (and below rpfs's own file I/O) without changing either.
//
//   RPFS_FAULT_DIR=/path/store   only fds opened on paths under it are counted
//   RPFS_FAULT_OP=write|read|sync  write: write/pwrite/writev/pwritev (+64)
//                                  read:  read/pread/readv/preadv (+64)
//                                  sync:  fsync/fdatasync/sync_file_range
//   RPFS_FAULT_NTH=N              the N-th counted call of that class (1-based) fails...
//   RPFS_FAULT_COUNT=K            ...and the K-1 after it (default 1; 0 = all from N on)
//   RPFS_FAULT_KIND=eio|enospc|short|count  short: a write/read moves half the bytes (a
//                                     sync cannot be short: it fails with EIO); count:
//                                     nothing fails, "calls <n>" is logged at exit (to
//                                     choose points spread over an operation)
//   RPFS_FAULT_LOG=/path          one line appended per injected fault
//   RPFS_FAULT_ARM=/path          calls are counted only while this file exists (a test
//                                 arms a long-running daemon at the moment it chooses)
//   RPFS_FAULT_THREAD=main        only calls made by the main thread are counted: RocksDB's
//                                 background flushes and compactions run when they like, so
//                                 counting them makes "the N-th call" land on a different
//                                 step from run to run; the main thread's calls come in the
//                                 same order every time (the command's own writes, reads,
//                                 WAL and directory syncs)
//
// RocksDB's info log ("LOG", "LOG.old.*") is not counted: RocksDB ignores its errors by
// design, so a fault there tests nothing. fds are tracked from open to close; dup'ed
// fds are not (RocksDB does not dup).
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr int kMaxFd = 1 << 16;
std::atomic<bool> g_tracked[kMaxFd];
std::atomic<long> g_calls{0};

enum class Op { kNone, kWrite, kRead, kSync };
enum class Kind { kEio, kEnospc, kShort, kCount };

struct Config {
  const char* dir = nullptr;
  size_t dir_len = 0;
  Op op = Op::kNone;
  Kind kind = Kind::kEio;
  long nth = 0;
  long count = 1;
  const char* log = nullptr;
  const char* arm = nullptr;
  bool main_thread_only = false;
};

const Config& Cfg() {
  static const Config cfg = [] {
    Config c;
    c.dir = std::getenv("RPFS_FAULT_DIR");
    if (c.dir != nullptr) c.dir_len = strlen(c.dir);
    const char* op = std::getenv("RPFS_FAULT_OP");
    if (op != nullptr) {
      if (strcmp(op, "write") == 0) c.op = Op::kWrite;
      if (strcmp(op, "read") == 0) c.op = Op::kRead;
      if (strcmp(op, "sync") == 0) c.op = Op::kSync;
    }
    const char* kind = std::getenv("RPFS_FAULT_KIND");
    if (kind != nullptr && strcmp(kind, "enospc") == 0) c.kind = Kind::kEnospc;
    if (kind != nullptr && strcmp(kind, "short") == 0) c.kind = Kind::kShort;
    if (kind != nullptr && strcmp(kind, "count") == 0) c.kind = Kind::kCount;
    const char* nth = std::getenv("RPFS_FAULT_NTH");
    c.nth = nth != nullptr ? std::atol(nth) : 0;
    const char* count = std::getenv("RPFS_FAULT_COUNT");
    if (count != nullptr) c.count = std::atol(count);
    c.log = std::getenv("RPFS_FAULT_LOG");
    c.arm = std::getenv("RPFS_FAULT_ARM");
    const char* thread = std::getenv("RPFS_FAULT_THREAD");
    c.main_thread_only = thread != nullptr && strcmp(thread, "main") == 0;
    return c;
  }();
  return cfg;
}

template <typename Fn>
Fn Next(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

bool Counted(const char* path) {
  const Config& c = Cfg();
  if (c.dir == nullptr || c.op == Op::kNone || path == nullptr) return false;
  if (strncmp(path, c.dir, c.dir_len) != 0) return false;
  const char* base = strrchr(path, '/');
  base = base != nullptr ? base + 1 : path;
  return strncmp(base, "LOG", 3) != 0;
}

void Track(int fd, const char* path) {
  if (fd >= 0 && fd < kMaxFd) g_tracked[fd] = Counted(path);
}

void Append(const char* line, int m) {
  const Config& c = Cfg();
  if (c.log == nullptr) return;
  int lfd = Next<int (*)(const char*, int, ...)>("open")(
      c.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (lfd < 0) return;
  Next<ssize_t (*)(int, const void*, size_t)>("write")(lfd, line, static_cast<size_t>(m));
  close(lfd);
}

void Log(const char* what, int fd, long n) {
  char proc[64], path[512] = "?";
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(proc, path, sizeof path - 1);
  if (len > 0) path[len] = '\0';
  char line[700];
  Append(line, snprintf(line, sizeof line, "%s call %ld on %s\n", what, n, path));
}

__attribute__((destructor)) void LogCount() {
  if (Cfg().kind != Kind::kCount) return;
  char line[64];
  Append(line, snprintf(line, sizeof line, "calls %ld\n", g_calls.load()));
}

// What to do with this call: 0 = run it as it is, 1 = fail it (errno set), 2 = make it short.
int Decide(Op op, int fd, const char* what) {
  const Config& c = Cfg();
  if (op != c.op || fd < 0 || fd >= kMaxFd || !g_tracked[fd].load()) return 0;
  if (c.arm != nullptr && ::access(c.arm, F_OK) != 0) return 0;
  if (c.main_thread_only && ::gettid() != ::getpid()) return 0;
  long n = ++g_calls;
  if (c.kind == Kind::kCount) return 0;
  if (n < c.nth || (c.count > 0 && n >= c.nth + c.count)) return 0;
  if (c.kind == Kind::kShort && op != Op::kSync) {
    Log("short", fd, n);
    return 2;
  }
  Log(c.kind == Kind::kEnospc ? "ENOSPC" : "EIO", fd, n);
  (void)what;
  errno = c.kind == Kind::kEnospc ? ENOSPC : EIO;
  return 1;
}

size_t Half(size_t n) { return n > 1 ? n / 2 : n; }

}  // namespace

extern "C" {

#define RPFS_OPEN_WRAPPER(name)                                     \
  int name(const char* path, int flags, ...) {                      \
    mode_t mode = 0;                                                \
    if ((flags & (O_CREAT | O_TMPFILE)) != 0) {                     \
      va_list ap;                                                   \
      va_start(ap, flags);                                          \
      mode = va_arg(ap, mode_t);                                    \
      va_end(ap);                                                   \
    }                                                               \
    static auto real = Next<int (*)(const char*, int, ...)>(#name); \
    int fd = real(path, flags, mode);                               \
    Track(fd, path);                                                \
    return fd;                                                      \
  }
RPFS_OPEN_WRAPPER(open)
RPFS_OPEN_WRAPPER(open64)

#define RPFS_OPENAT_WRAPPER(name)                                        \
  int name(int dirfd, const char* path, int flags, ...) {                \
    mode_t mode = 0;                                                     \
    if ((flags & (O_CREAT | O_TMPFILE)) != 0) {                          \
      va_list ap;                                                        \
      va_start(ap, flags);                                               \
      mode = va_arg(ap, mode_t);                                         \
      va_end(ap);                                                        \
    }                                                                    \
    static auto real = Next<int (*)(int, const char*, int, ...)>(#name); \
    int fd = real(dirfd, path, flags, mode);                             \
    Track(fd, path);                                                     \
    return fd;                                                           \
  }
RPFS_OPENAT_WRAPPER(openat)
RPFS_OPENAT_WRAPPER(openat64)

int creat(const char* path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char* path, mode_t mode) { return creat(path, mode); }

int close(int fd) {
  static auto real = Next<int (*)(int)>("close");
  if (fd >= 0 && fd < kMaxFd) g_tracked[fd] = false;
  return real(fd);
}

#define RPFS_RW_WRAPPER(ret, name, op, params, args, len) \
  ret name params {                                       \
    static auto real = Next<ret(*) params>(#name);        \
    int d = Decide(op, fd, #name);                        \
    if (d == 1) return -1;                                \
    if (d == 2) len = Half(len);                          \
    return real args;                                     \
  }
RPFS_RW_WRAPPER(ssize_t, write, Op::kWrite, (int fd, const void* buf, size_t n), (fd, buf, n), n)
RPFS_RW_WRAPPER(ssize_t, pwrite, Op::kWrite, (int fd, const void* buf, size_t n, off_t o),
                (fd, buf, n, o), n)
RPFS_RW_WRAPPER(ssize_t, pwrite64, Op::kWrite, (int fd, const void* buf, size_t n, off_t o),
                (fd, buf, n, o), n)
RPFS_RW_WRAPPER(ssize_t, read, Op::kRead, (int fd, void* buf, size_t n), (fd, buf, n), n)
RPFS_RW_WRAPPER(ssize_t, pread, Op::kRead, (int fd, void* buf, size_t n, off_t o), (fd, buf, n, o),
                n)
RPFS_RW_WRAPPER(ssize_t, pread64, Op::kRead, (int fd, void* buf, size_t n, off_t o),
                (fd, buf, n, o), n)
// Vectored calls: a short one moves only its first half of the vectors.
RPFS_RW_WRAPPER(ssize_t, writev, Op::kWrite, (int fd, const struct iovec* v, int cnt), (fd, v, cnt),
                cnt)
RPFS_RW_WRAPPER(ssize_t, pwritev, Op::kWrite, (int fd, const struct iovec* v, int cnt, off_t o),
                (fd, v, cnt, o), cnt)
RPFS_RW_WRAPPER(ssize_t, readv, Op::kRead, (int fd, const struct iovec* v, int cnt), (fd, v, cnt),
                cnt)
RPFS_RW_WRAPPER(ssize_t, preadv, Op::kRead, (int fd, const struct iovec* v, int cnt, off_t o),
                (fd, v, cnt, o), cnt)

#define RPFS_SYNC_WRAPPER(name, params, args)             \
  int name params {                                       \
    static auto real = Next<int(*) params>(#name);        \
    if (Decide(Op::kSync, fd, #name) != 0) {              \
      errno = Cfg().kind == Kind::kEnospc ? ENOSPC : EIO; \
      return -1;                                          \
    }                                                     \
    return real args;                                     \
  }
RPFS_SYNC_WRAPPER(fsync, (int fd), (fd))
RPFS_SYNC_WRAPPER(fdatasync, (int fd), (fd))
// RocksDB probes sync_file_range(fd, 0, 0, 0) at open and asserts on any error but ENOSYS:
// the probe is passed through, only real range syncs count.
int sync_file_range(int fd, off64_t o, off64_t n, unsigned int flags) {
  static auto real = Next<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  if (flags != 0 && Decide(Op::kSync, fd, "sync_file_range") != 0) {
    errno = Cfg().kind == Kind::kEnospc ? ENOSPC : EIO;
    return -1;
  }
  return real(fd, o, n, flags);
}

}  // extern "C"
