// Filesystem: the semantics of the mount, without libfuse, tested in-process.
//
//   /<vm>/                  one directory per VM            (0755)
//   /<vm>/<rp>/             one directory per RP, mtime = creation time
//   /<vm>/<rp>/<disk>.raw   the disk at that instant (0444, size = disk size)
//   /<vm>/<rp>/info         "key: value" lines (FormatRpInfo)
//   /<vm>/<rp>/memory.state, domain.xml   when the RP has them
//   /<vm>/.control          write-only: one control command per write (control/command.h)
//   /<vm>/.status           the VM's recent operations (control/operations.h)
//   /<vm>/.prune-preview    what the VM's stored retention policy would remove now
//   /<vm>/.clones/<clone>/<disk>.raw   read-write clone disks (copy-on-read)
//   /<vm>/.clones/<clone>/.status      hydration progress
//
// RP contents are read-only: writes are EROFS. In a VM directory, mkdir creates an RP,
// rmdir deletes one and rename renames one (SPEC §3 conveniences), with the CLI's errors.
// Lookups resolve names through the Repository on every call; when the store's namespace
// changes (through the mount, the daemon's command socket, or any other caller of the
// same Repository), the Filesystem tells the kernel to drop what it caches about the
// names involved (KernelCache), so the view stays live without a remount.
// What each kind of node shows and accepts is declared once, in node_kind.h and nodes_*.cc;
// this class resolves inodes and handles and dispatches to the node's kind.
// Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control/operations.h"
#include "fs/access.h"
#include "fs/guest_volumes.h"
#include "fs/inode_table.h"
#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::fs {

struct Attr {
  Attr() = default;
  Attr(InodeNo i, mode_t m, uint64_t s, int64_t mtime, uint32_t links, bool imm)
      : ino(i), mode(m), size(s), mtime_us(mtime), nlink(links), immutable(imm) {}
  InodeNo ino = 0;
  mode_t mode = 0;  // type and permission bits
  uint64_t size = 0;
  int64_t mtime_us = 0;
  uint32_t nlink = 1;
  bool immutable = false;       // content and attributes never change: cache for long
  uint32_t mtime_extra_ns = 0;  // nanoseconds past mtime_us (guest files keep their precision)
  // Owner; unset = the daemon's own user. Clone disks can be given to another owner (chown),
  // as libvirt does for the qemu user before it starts a domain on them.
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  // Bytes the file holds, for st_blocks (so cp, du and rsync -S see holes); unset = size.
  std::optional<uint64_t> allocated;
};

// What SetAttr is asked to change.
struct AttrChange {
  std::optional<uint64_t> size;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DirEntry {
  std::string name;
  Attr attr;  // ino 0 for "." and ".." (filled by the adapter)
};

struct FsStats {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t files = 0;
};

using HandleId = uint64_t;
struct FileHandle;   // node_kind.h
struct NodeContext;  // node_kind.h

// What the kernel caches about names and attributes, as the adapter exposes it. Calls
// must not block: the adapter queues them (the kernel may hold directory locks while it
// waits for a request that is itself making the change).
class KernelCache {
 public:
  virtual ~KernelCache() = default;
  virtual void InvalidateEntry(InodeNo parent, const std::string& name) = 0;
  virtual void InvalidateAttrs(InodeNo ino) = 0;
  // Waits, at most `max`, until every invalidation asked for so far has reached the kernel
  // (a cache that sends them at once has nothing to wait for).
  virtual void Settle(std::chrono::milliseconds max) { (void)max; }
};

class Filesystem {
 public:
  // `access`: who may read what (access.h); by default the daemon's user owns the mount.
  // `guests` opens guest filesystems for `files/` (the daemon: the sandboxed helper); empty:
  // files/ lists volumes and raw slices but no trees.
  explicit Filesystem(Repository* repo, const MountAccess& access = MountAccess::OfThisProcess(),
                      GuestOpener guests = nullptr);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Guest directories get their subdirectories listed ahead, for tree walks
  // (dir_prefetcher.h): the mount's choice. Before serving.
  void PrefetchGuestDirectories();
  // Where to report namespace changes; nullptr: nowhere (no kernel, or unmounting).
  void SetKernelCache(KernelCache* cache);
  // Waits, at most `max`, until the kernel has been told every change so far: a command
  // run by the daemon (`rpfs delete`, `rpfs rename`) returns only once the mount shows
  // its result. Never from a FUSE request (notify_queue.h says why).
  void SettleKernelCache(std::chrono::milliseconds max);

  // Resolves `name` in directory `parent` and adds one kernel lookup to the result.
  // ENOENT-style NotFound for unknown names; ESTALE-style for an unknown parent.
  Result<Attr> Lookup(InodeNo parent, std::string_view name);
  void Forget(InodeNo ino, uint64_t n) { inodes_.Forget(ino, n); }
  Result<Attr> GetAttr(InodeNo ino);
  // Entries of a directory, without "." and "..". Each entry's inode gets no lookup count.
  Result<std::vector<DirEntry>> ReadDir(InodeNo ino);
  // opendir: the directory's entries as they are now, kept on the handle so that a listing
  // read in many pages asks the node (and a guest filesystem's helper) once. Release it.
  Result<HandleId> OpenDir(InodeNo ino);
  Result<std::shared_ptr<const std::vector<DirEntry>>> Listing(HandleId h) const;

  // Opens a file. RP files are read-only (EROFS for write access); `.control` is
  // write-only (EACCES for read access).
  Result<HandleId> Open(InodeNo ino, int flags);
  // A symbolic link's target; InvalidArgument (EINVAL) for anything else.
  Result<std::string> ReadLink(InodeNo ino);
  // Extended attributes (read-only): the value of `name` (NoData, ENODATA, when absent),
  // and every name.
  Result<std::string> GetXattr(InodeNo ino, std::string_view name);
  Result<std::vector<std::string>> ListXattrs(InodeNo ino);
  Result<size_t> Read(HandleId h, uint64_t offset, std::span<std::byte> out);
  // A write to `.control` runs one command and returns when it has finished: the bytes
  // taken, or the command's error; a `caller` who may not control the mount (MayControl)
  // gets PermissionDenied, recorded in `.status`. EBADF for handles of other files.
  Result<size_t> Write(HandleId h, uint64_t offset, std::span<const std::byte> data,
                       const Caller& caller = Caller{});
  // Attribute changes: `.control` accepts (and ignores) them, so `echo cmd > .control`
  // works; a clone disk accepts all but a change of size (EINVAL: fixed size) and keeps a
  // new owner for as long as the mount lives; EROFS elsewhere.
  Result<Attr> SetAttr(InodeNo ino, const AttrChange& change);
  // fsync: a clone disk's writes and fetched chunks become durable.
  Status Fsync(HandleId h);
  // unlink: accepted (and ignored) for the files of a clone, so `rm -r <clone>` works (the
  // clone goes with its directory); EROFS elsewhere.
  Status Unlink(InodeNo parent, std::string_view name);
  // Whether the kernel may keep pages of this file cached (RP disks, clone disks): a
  // property of the node's kind. Other files are opened direct_io, so generated texts,
  // whose getattr reports size 0, read to their end.
  bool UsesPageCache(InodeNo ino) const;

  Result<FsStats> StatFs();
  // SEEK_DATA / SEEK_HOLE; NoData (ENXIO) when no data follows or `offset` is past the end.
  Result<uint64_t> Seek(HandleId h, uint64_t offset, int whence);
  void Release(HandleId h);

  // Namespace conveniences in a VM directory. MakeDir creates RP `name` and adds one
  // kernel lookup to it; RemoveDir deletes it (in `.clones`: deletes the clone); Rename
  // renames it (same VM only). Anywhere else: EROFS.
  //
  // `mode` is the mode mkdir(2) asked for, before the caller's umask (the mount asks the
  // kernel for FUSE_CAP_DONT_MASK). Only kMkdirRpMode makes an RP: mkdir(1), `mkdir -p`
  // and os.mkdir ask for it, while copying tools (cp -r/-a, rsync, mv's fallback) ask for
  // the mode of the directory they copy, never 0777 for an RP. Any other mode is
  // NotPermitted (EPERM), nothing changes, and the refusal is in the VM's `.status`.
  // `caller` is the calling program's name (/proc/<pid>/comm, empty if unknown): rsync asks
  // 0777 for the top of a tree it copies to a new name, so a copying tool
  // (IsCopyingTool) is NotPermitted whatever the mode.
  // A move to another VM is NotPermitted too (not EXDEV, which makes mv copy instead).
  static constexpr uint32_t kMkdirRpMode = 0777;
  Result<Attr> MakeDir(InodeNo parent, std::string_view name, uint32_t mode,
                       std::string_view caller);
  // cp, mv, rsync, tar... : programs that mkdir only to copy into the new directory.
  static bool IsCopyingTool(std::string_view program);
  Status RemoveDir(InodeNo parent, std::string_view name);
  Status Rename(InodeNo parent, std::string_view name, InodeNo new_parent,
                std::string_view new_name);
  size_t inode_count() const { return inodes_.size(); }
  // The control operations of this mount (the daemon runs CLI commands through them too).
  control::Operations* operations() { return &ops_; }
  size_t open_handles() const;
  // Generated texts (info, .status, .prune-preview, clone .status) made so far: one per
  // open of such a file, none for a getattr, lookup or listing.
  uint64_t generated_texts() const;

 private:
  Result<std::shared_ptr<FileHandle>> FindHandle(HandleId id) const;
  Result<NodeKey> Node(InodeNo ino) const;
  // The VM a directory inode shows; EROFS for any other node.
  Result<std::string> VmOfDir(InodeNo ino) const;
  void OnStoreChange(const StoreChange& change);

  Repository* repo_;
  control::Operations ops_;
  std::unique_ptr<NodeContext> ctx_;  // what the node kinds share (node_kind.h)
  InodeTable inodes_;
  mutable std::mutex mu_;  // guards handles_
  HandleId next_handle_ = 1;
  std::unordered_map<HandleId, std::shared_ptr<FileHandle>> handles_;
  std::mutex cache_mu_;  // guards kernel_cache_
  KernelCache* kernel_cache_ = nullptr;
  // Held shared by SettleKernelCache while it waits on the cache outside cache_mu_ (so
  // store changes are not held up meanwhile), and exclusively by SetKernelCache: a cache
  // is never replaced, and so never destroyed, under a waiter.
  std::shared_mutex cache_life_mu_;
};

// The one table from Status to errno.
int ToErrno(const Status& s);

}  // namespace rpfs::fs
