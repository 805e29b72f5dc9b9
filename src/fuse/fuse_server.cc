#define FUSE_USE_VERSION 34
#include "fuse/fuse_server.h"

#include <fuse3/fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <thread>

#include "fuse/notify_queue.h"
#include "util/aligned_buffer.h"
#include "util/bytes.h"
#include "util/clock.h"
#include "util/fd.h"
#include "util/log.h"

namespace rpfs::fuse {
namespace {

// RP contents never change: let the kernel cache them. Directory listings of the root and
// of VMs change as RPs come and go: a short timeout.
constexpr double kImmutableTimeout = 86400.0;
constexpr double kMutableTimeout = 1.0;
constexpr size_t kMaxRead = 1 << 20;
constexpr ino_t kUnknownIno = 0xffffffff;

fs::Filesystem* Fs(fuse_req_t req) { return static_cast<fs::Filesystem*>(fuse_req_userdata(req)); }

struct stat ToStat(const fs::Attr& a) {
  struct stat st = {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blksize = 1 << 16;
  st.st_blocks = static_cast<blkcnt_t>((a.allocated.value_or(a.size) + 511) / 512);
  // Floor division: guest files may be older than 1970, and tv_nsec is never negative.
  int64_t sec = a.mtime_us / 1000000;
  int64_t us = a.mtime_us % 1000000;
  if (us < 0) {
    us += 1000000;
    sec -= 1;
  }
  st.st_mtim.tv_sec = sec;
  st.st_mtim.tv_nsec = us * 1000 + a.mtime_extra_ns;
  st.st_ctim = st.st_mtim;
  st.st_atim = st.st_mtim;
  // The daemon's ids do not change; value_or(::getuid()) made two syscalls per reply.
  static const uid_t kDaemonUid = ::getuid();
  static const gid_t kDaemonGid = ::getgid();
  st.st_uid = a.uid.value_or(kDaemonUid);
  st.st_gid = a.gid.value_or(kDaemonGid);
  return st;
}

double Timeout(const fs::Attr& a) { return a.immutable ? kImmutableTimeout : kMutableTimeout; }

// An EIO (damaged data, internal error) is logged: one line per event, naming the caller
// and what the status names (the RP, disk, offset and chunk of a damaged read). The kernel
// retries a failed read page by page, so the same failure for the same caller within a
// few seconds is one event; the next line says how many were held back.
void LogEio(fuse_req_t req, std::string_view event, const std::string& what) {
  static log::RepeatLimiter limiter(5'000'000);
  const struct fuse_ctx* c = fuse_req_ctx(req);
  std::string uid = std::to_string(c->uid);
  uint64_t held_back = 0;
  if (!limiter.Allow(uid + " " + what, NowMicros(), &held_back)) return;
  if (held_back == 0) {
    log::Log(log::Severity::kError, event,
             {{"errno", "EIO"}, {"uid", uid}, {"pid", std::to_string(c->pid)}, {"error", what}});
  } else {
    log::Log(log::Severity::kError, event,
             {{"errno", "EIO"},
              {"uid", uid},
              {"pid", std::to_string(c->pid)},
              {"error", what},
              {"repeats_held_back", std::to_string(held_back)}});
  }
}

void ReplyError(fuse_req_t req, const Status& s) {
  int err = fs::ToErrno(s);
  if (err == EIO) LogEio(req, "request-failed", s.message());
  fuse_reply_err(req, err);
}

// Logs a callback's stray exception (std::exception or anything else) with the caller, as
// an EIO event; true if there was one.
template <typename Fn>
bool Caught(fuse_req_t req, Fn&& fn) {
  try {
    fn();
    return false;
  } catch (const std::exception& e) {
    LogEio(req, "internal-error", e.what());
  } catch (...) {
    LogEio(req, "internal-error", "unknown exception");
  }
  return true;
}

// Runs a callback body; a stray exception becomes EIO instead of unwinding through libfuse.
// Every callback but init goes through Guard or, for those the kernel expects no reply to
// (forget), GuardNoReply.
template <typename Fn>
void Guard(fuse_req_t req, Fn&& fn) {
  if (Caught(req, fn)) fuse_reply_err(req, EIO);
}
template <typename Fn>
void GuardNoReply(fuse_req_t req, Fn&& fn) {
  if (Caught(req, fn)) fuse_reply_none(req);
}

void OnInit(void*, struct fuse_conn_info* conn) {
  conn->max_read = kMaxRead;
  conn->max_readahead = kMaxRead;
  conn->max_write = kMaxRead;  // clone disks: 1 MiB writes
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want &= ~FUSE_CAP_SPLICE_WRITE;
  // mkdir's mode arrives unmasked (see OnMkdir). Every kernel with FUSE 7.12+ offers it.
  if (conn->capable & FUSE_CAP_DONT_MASK) conn->want |= FUSE_CAP_DONT_MASK;
}

// Replies with a looked-up (counted) entry.
void ReplyEntry(fuse_req_t req, const Result<fs::Attr>& a) {
  if (!a.ok()) return ReplyError(req, a.status());
  struct fuse_entry_param e = {};
  e.ino = a->ino;
  e.attr = ToStat(*a);
  e.attr_timeout = e.entry_timeout = Timeout(*a);
  if (fuse_reply_entry(req, &e) != 0) Fs(req)->Forget(a->ino, 1);  // kernel never saw it
}

void OnLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] { ReplyEntry(req, Fs(req)->Lookup(parent, name)); });
}

// mkdir / rmdir / mv of RPs inside a VM directory (the fs layer refuses everything else).
// With FUSE_CAP_DONT_MASK (OnInit) `mode` is what mkdir(2) asked for, before the umask:
// the fs layer tells a typed mkdir (0777) from a copying tool's. Nothing here creates a
// node with the caller's mode (RP directories are 0555 whatever was asked, and create and
// mknod are EROFS), so the umask (fuse_req_ctx()->umask) has nothing to apply to.
// The caller's program name (/proc/<pid>/comm), so copying tools' mkdirs are told apart.
std::string CallerProgram(fuse_req_t req) {
  const struct fuse_ctx* ctx = fuse_req_ctx(req);
  if (ctx == nullptr || ctx->pid <= 0) return "";
  std::string path = "/proc/" + std::to_string(ctx->pid) + "/comm";
  auto fd = OpenFile(path, O_RDONLY | O_CLOEXEC);
  if (!fd.ok()) return "";
  char buf[64];
  ssize_t n = ::read(fd->get(), buf, sizeof(buf));
  if (n <= 0) return "";
  std::string comm(buf, static_cast<size_t>(n));
  while (!comm.empty() && comm.back() == '\n') comm.pop_back();
  return comm;
}

void OnMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Guard(req, [&] { ReplyEntry(req, Fs(req)->MakeDir(parent, name, mode, CallerProgram(req))); });
}

void OnRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] {
    Status s = Fs(req)->RemoveDir(parent, name);
    if (!s.ok()) return ReplyError(req, s);
    fuse_reply_err(req, 0);
  });
}

void OnRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
              const char* new_name, unsigned int flags) {
  Guard(req, [&] {
    if ((flags & RENAME_EXCHANGE) != 0) return ReplyError(req, Status::InvalidArgument("exchange"));
    Status s = Fs(req)->Rename(parent, name, new_parent, new_name);
    if (!s.ok()) return ReplyError(req, s);
    fuse_reply_err(req, 0);
  });
}

void OnForget(fuse_req_t req, fuse_ino_t ino, uint64_t n) {
  GuardNoReply(req, [&] {
    Fs(req)->Forget(ino, n);
    fuse_reply_none(req);
  });
}

void OnForgetMulti(fuse_req_t req, size_t count, struct fuse_forget_data* forgets) {
  GuardNoReply(req, [&] {
    for (size_t i = 0; i < count; ++i) Fs(req)->Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  });
}

void OnGetAttr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info*) {
  Guard(req, [&] {
    auto a = Fs(req)->GetAttr(ino);
    if (!a.ok()) return ReplyError(req, a.status());
    struct stat st = ToStat(*a);
    fuse_reply_attr(req, &st, Timeout(*a));
  });
}

// The listing is made once per opendir and kept on the handle: a directory read in many
// pages asks the fs layer once.
void OnOpenDir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guard(req, [&] {
    auto h = Fs(req)->OpenDir(ino);
    if (!h.ok()) return ReplyError(req, h.status());
    fi->fh = *h;
    // Immutable directories (an RP's guest files) may be cached by the kernel as well.
    bool cached = Fs(req)->UsesPageCache(ino);
    fi->cache_readdir = cached ? 1 : 0;
    fi->keep_cache = cached ? 1 : 0;
    if (fuse_reply_open(req, fi) != 0) Fs(req)->Release(*h);
  });
}

void OnReleaseDir(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  Guard(req, [&] {
    Fs(req)->Release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OnReadLink(fuse_req_t req, fuse_ino_t ino) {
  Guard(req, [&] {
    auto target = Fs(req)->ReadLink(ino);
    if (!target.ok()) return ReplyError(req, target.status());
    fuse_reply_readlink(req, target->c_str());
  });
}

// getxattr/listxattr: size 0 asks for the size the value (list) needs.
void ReplyXattr(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0) {
    fuse_reply_xattr(req, value.size());
  } else if (value.size() > size) {
    fuse_reply_err(req, ERANGE);
  } else {
    fuse_reply_buf(req, value.data(), value.size());
  }
}

void OnGetXattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  Guard(req, [&] {
    auto value = Fs(req)->GetXattr(ino, name);
    if (!value.ok()) return ReplyError(req, value.status());
    ReplyXattr(req, *value, size);
  });
}

void OnListXattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  Guard(req, [&] {
    auto names = Fs(req)->ListXattrs(ino);
    if (!names.ok()) return ReplyError(req, names.status());
    std::string list;
    for (const auto& n : *names) list.append(n).push_back('\0');
    ReplyXattr(req, list, size);
  });
}

void OnReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info* fi) {
  Guard(req, [&] {
    auto entries = Fs(req)->Listing(fi->fh);
    if (!entries.ok()) return ReplyError(req, entries.status());
    std::vector<char> buf(size);
    size_t used = 0;
    // Offsets: 1 ".", 2 "..", 3.. entries.
    size_t total = (*entries)->size() + 2;
    for (size_t i = static_cast<size_t>(off); i < total; ++i) {
      struct stat st = {};
      std::string name;
      if (i == 0) {
        name = ".";
        st.st_mode = S_IFDIR;
        st.st_ino = ino;
      } else if (i == 1) {
        name = "..";
        st.st_mode = S_IFDIR;
        st.st_ino = kUnknownIno;
      } else {
        const auto& e = (**entries)[i - 2];
        name = e.name;
        st.st_mode = e.attr.mode;
        // The real inode comes with the kernel's lookup; readdir must not hand one out
        // (no lookup count would back it), but 0 would make readdir(3) skip the entry.
        st.st_ino = kUnknownIno;
      }
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st,
                                      static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    fuse_reply_buf(req, buf.data(), used);
  });
}

// readdir with each entry looked up (counted) and its attributes, so that `ls -l` or `find`
// need no lookup request per entry afterwards (the kernel uses it when it sees lookups
// follow listings). An entry whose lookup fails is listed without attributes (ino 0: the
// kernel only adds the name); "." and ".." never carry one.
void OnReadDirPlus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info* fi) {
  Guard(req, [&] {
    auto entries = Fs(req)->Listing(fi->fh);
    if (!entries.ok()) return ReplyError(req, entries.status());
    std::vector<char> buf(size);
    std::vector<fuse_ino_t> counted;  // looked up for this reply
    size_t used = 0;
    size_t total = (*entries)->size() + 2;  // offsets as in OnReadDir
    for (size_t i = static_cast<size_t>(off); i < total; ++i) {
      struct fuse_entry_param e = {};
      std::string name = i == 0 ? "." : i == 1 ? ".." : (**entries)[i - 2].name;
      e.attr.st_mode = i < 2 ? S_IFDIR : (**entries)[i - 2].attr.mode;
      e.attr.st_ino = i == 0 ? ino : kUnknownIno;
      if (i >= 2) {
        auto a = Fs(req)->Lookup(ino, name);
        if (a.ok()) {
          e.ino = a->ino;
          e.attr = ToStat(*a);
          e.attr_timeout = e.entry_timeout = Timeout(*a);
        }
      }
      size_t need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e,
                                           static_cast<off_t>(i + 1));
      if (need > size - used) {
        if (e.ino != 0) Fs(req)->Forget(e.ino, 1);  // not sent: the kernel never saw it
        break;
      }
      used += need;
      if (e.ino != 0) counted.push_back(e.ino);
    }
    if (fuse_reply_buf(req, buf.data(), used) != 0) {
      for (fuse_ino_t n : counted) Fs(req)->Forget(n, 1);
    }
  });
}

void OnOpen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info* fi) {
  Guard(req, [&] {
    auto h = Fs(req)->Open(ino, fi->flags);
    if (!h.ok()) return ReplyError(req, h.status());
    fi->fh = *h;
    // RP and clone disks go through the page cache (every change to a clone comes through
    // this mount); generated text (info, .status) and .control do not.
    bool cached = Fs(req)->UsesPageCache(ino);
    fi->keep_cache = cached ? 1 : 0;
    fi->direct_io = cached ? 0 : 1;
    if (fuse_reply_open(req, fi) != 0) Fs(req)->Release(*h);
  });
}

// Each worker thread keeps one reply buffer, as large as the largest read it served (at
// most max_read): a read costs no allocation and no zero-filling of 1 MiB. Only the `n`
// bytes a reader says it wrote are sent, so what a buffer held before never leaves it.
// Aligned for direct I/O: a clone disk writes the chunks it fetched into it straight to its
// file (CloneDiskImpl::FillRun).
std::span<std::byte> ReadBuffer(size_t size) {
  thread_local AlignedBuffer buffer;  // not initialised: nothing is zeroed
  if (buffer.size() < size) buffer = AlignedBuffer(size);
  return {buffer.data(), size};
}

void OnRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, struct fuse_file_info* fi) {
  Guard(req, [&] {
    std::span<std::byte> buf = ReadBuffer(size);
    auto n = Fs(req)->Read(fi->fh, static_cast<uint64_t>(off), buf);
    if (!n.ok()) return ReplyError(req, n.status());
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), *n);  // NOLINT
  });
}

void OnRelease(fuse_req_t req, fuse_ino_t, struct fuse_file_info* fi) {
  Guard(req, [&] {
    Fs(req)->Release(fi->fh);
    fuse_reply_err(req, 0);
  });
}

void OnLseek(fuse_req_t req, fuse_ino_t, off_t off, int whence, struct fuse_file_info* fi) {
  Guard(req, [&] {
    auto pos = Fs(req)->Seek(fi->fh, static_cast<uint64_t>(off), whence);
    if (!pos.ok()) return ReplyError(req, pos.status());
    fuse_reply_lseek(req, static_cast<off_t>(*pos));
  });
}

void OnStatFs(fuse_req_t req, fuse_ino_t) {
  Guard(req, [&] {
    auto s = Fs(req)->StatFs();
    if (!s.ok()) return ReplyError(req, s.status());
    struct statvfs v = {};
    v.f_bsize = v.f_frsize = 4096;
    v.f_blocks = s->total_bytes / 4096;
    v.f_bfree = v.f_bavail = s->free_bytes / 4096;
    v.f_files = s->files;
    v.f_namemax = 255;
    fuse_reply_statfs(req, &v);
  });
}

void OnWrite(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off,
             struct fuse_file_info* fi) {
  Guard(req, [&] {
    const fuse_ctx* who = fuse_req_ctx(req);
    auto n = Fs(req)->Write(fi->fh, static_cast<uint64_t>(off),
                            std::span(reinterpret_cast<const std::byte*>(buf), size),  // NOLINT
                            fs::Caller{who->uid, who->gid, static_cast<uint32_t>(who->pid)});
    if (!n.ok()) return ReplyError(req, n.status());
    fuse_reply_write(req, *n);
  });
}

// `.control` and clone disks accept attribute changes (see fs::Filesystem::SetAttr).
void OnSetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               struct fuse_file_info*) {
  Guard(req, [&] {
    fs::AttrChange change;
    if ((to_set & FUSE_SET_ATTR_SIZE) != 0) change.size = static_cast<uint64_t>(attr->st_size);
    if ((to_set & FUSE_SET_ATTR_UID) != 0) change.uid = attr->st_uid;
    if ((to_set & FUSE_SET_ATTR_GID) != 0) change.gid = attr->st_gid;
    auto a = Fs(req)->SetAttr(ino, change);
    if (!a.ok()) return ReplyError(req, a.status());
    struct stat st = ToStat(*a);
    fuse_reply_attr(req, &st, Timeout(*a));
  });
}

// Everything else that would change the tree: recovery points are read-only.
void ReplyReadOnly(fuse_req_t req) {
  Guard(req, [&] { ReplyError(req, Status::ReadOnly("recovery points are read-only")); });
}
void RoMknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { ReplyReadOnly(req); }
void OnUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Guard(req, [&] { ReplyError(req, Fs(req)->Unlink(parent, name)); });
}

void OnFsync(fuse_req_t req, fuse_ino_t, int, struct fuse_file_info* fi) {
  Guard(req, [&] { ReplyError(req, Fs(req)->Fsync(fi->fh)); });
}
void RoSymlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { ReplyReadOnly(req); }
void RoLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { ReplyReadOnly(req); }
void RoCreate(fuse_req_t req, fuse_ino_t, const char*, mode_t, struct fuse_file_info*) {
  ReplyReadOnly(req);
}
void RoSetXattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) {
  ReplyReadOnly(req);
}
void RoRemoveXattr(fuse_req_t req, fuse_ino_t, const char*) { ReplyReadOnly(req); }

struct fuse_lowlevel_ops MakeOps() {
  struct fuse_lowlevel_ops ops = {};
  ops.init = OnInit;
  ops.lookup = OnLookup;
  ops.forget = OnForget;
  ops.forget_multi = OnForgetMulti;
  ops.getattr = OnGetAttr;
  ops.opendir = OnOpenDir;
  ops.readdir = OnReadDir;
  ops.readdirplus = OnReadDirPlus;
  ops.releasedir = OnReleaseDir;
  ops.readlink = OnReadLink;
  ops.getxattr = OnGetXattr;
  ops.listxattr = OnListXattr;
  ops.open = OnOpen;
  ops.read = OnRead;
  ops.release = OnRelease;
  ops.lseek = OnLseek;
  ops.statfs = OnStatFs;
  ops.setattr = OnSetAttr;
  ops.write = OnWrite;
  ops.mknod = RoMknod;
  ops.mkdir = OnMkdir;
  ops.unlink = OnUnlink;
  ops.fsync = OnFsync;
  ops.rmdir = OnRmdir;
  ops.symlink = RoSymlink;
  ops.rename = OnRename;
  ops.link = RoLink;
  ops.create = RoCreate;
  ops.setxattr = RoSetXattr;
  ops.removexattr = RoRemoveXattr;
  return ops;
}

// 1 MiB page-cache reads need the BDI readahead raised (ENVIRONMENT.md): the kernel's
// max_readahead negotiation alone does nothing. Four times max_read keeps several read
// requests in flight, served by different worker threads: their chunk fetches overlap
// (a cold sequential read went from ~560 to ~780 MB/s; 16 MiB was no better). Best effort.
void RaiseReadahead(const std::string& mountpoint) {
  struct stat st;
  if (::stat(mountpoint.c_str(), &st) != 0) return;
  std::string path = "/sys/class/bdi/" + std::to_string(major(st.st_dev)) + ":" +
                     std::to_string(minor(st.st_dev)) + "/read_ahead_kb";
  auto fd = OpenFile(path, O_WRONLY);
  if (fd.ok()) (void)WriteFull(fd->get(), AsBytes(std::to_string(4 * kMaxRead / 1024)), path);
}

}  // namespace

Status Serve(fs::Filesystem* filesystem, const MountOptions& opts,
             const std::function<void()>& ready) {
  // Not "ro": mkdir/rmdir/mv of RPs must reach us; everything else answers EROFS here.
  std::vector<std::string> argv_s = {"rpfs", "-o", "default_permissions,fsname=rpfs,subtype=rpfs",
                                     "-o", "max_read=" + std::to_string(kMaxRead)};
  for (const auto& o : opts.options) {
    argv_s.push_back("-o");
    argv_s.push_back(o);
  }
  if (opts.debug) argv_s.push_back("-d");
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  struct fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  struct fuse_lowlevel_ops ops = MakeOps();
  struct fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), filesystem);
  if (se == nullptr) return Status::InvalidArgument("cannot start a FUSE session (bad -o option?)");
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return Status::IOError("cannot install signal handlers");
  }
  if (fuse_session_mount(se, opts.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return Status::IOError("cannot mount on " + opts.mountpoint + " (see the message above)");
  }
  // Readiness is announced from a helper thread: it stats the mount point, which needs
  // the loop below to be answering.
  std::thread announcer([&] {
    RaiseReadahead(opts.mountpoint);
    if (ready) ready();
  });
  int rc;
  {
    // Changes made by the CLI through the daemon, or by mkdir/rmdir/mv, reach the kernel.
    NotifyQueue notify(se);
    filesystem->SetKernelCache(&notify);
    struct fuse_loop_config cfg = {};
    cfg.clone_fd = 0;
    cfg.max_idle_threads = 16;
    rc = fuse_session_loop_mt(se, &cfg);
    filesystem->SetKernelCache(nullptr);
  }
  announcer.join();
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  if (rc < 0) return Status::IOError("FUSE loop failed: " + std::string(std::strerror(-rc)));
  return Status::OK();
}

std::string FuseLibraryVersion() { return fuse_pkgversion(); }

}  // namespace rpfs::fuse
