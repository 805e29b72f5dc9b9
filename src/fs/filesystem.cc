#include "fs/filesystem.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "fs/node_kind.h"
#include "util/log.h"

namespace rpfs::fs {
namespace {

constexpr std::string_view kUserXattrPrefix = "user.";

Status Stale(InodeNo ino) { return Status::Stale("unknown inode " + std::to_string(ino)); }

}  // namespace

// The one table from Status to errno (docs/fuse-semantics.md, "Errors"). Every code has a
// row; only an IOError passes on the errno of the system call that failed.
int ToErrno(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return 0;
    case Status::Code::kNotFound:
      return ENOENT;
    case Status::Code::kAlreadyExists:
      return EEXIST;
    case Status::Code::kInvalidArgument:
      return EINVAL;
    case Status::Code::kBusy:
      return EBUSY;
    case Status::Code::kNoSpace:
      return ENOSPC;
    case Status::Code::kPermissionDenied:
      return EACCES;
    case Status::Code::kNotSupported:
      return EOPNOTSUPP;
    case Status::Code::kReadOnly:
      return EROFS;
    case Status::Code::kStale:
      return ESTALE;
    case Status::Code::kNotADirectory:
      return ENOTDIR;
    case Status::Code::kIsADirectory:
      return EISDIR;
    case Status::Code::kBadHandle:
      return EBADF;
    case Status::Code::kNoData:
      return ENXIO;
    case Status::Code::kCrossDevice:
      return EXDEV;
    case Status::Code::kTooLarge:
      return EFBIG;
    case Status::Code::kNotPermitted:
      return EPERM;
    case Status::Code::kNoAttribute:
      return ENODATA;
    case Status::Code::kIOError:
      return s.sys_errno() != 0 ? s.sys_errno() : EIO;
    case Status::Code::kCorruption:
    case Status::Code::kAborted:
      return EIO;
  }
  return EIO;
}

Filesystem::Filesystem(Repository* repo, const MountAccess& access, GuestOpener guests)
    : repo_(repo),
      ops_(repo),
      ctx_(std::make_unique<NodeContext>(repo, &ops_, access, std::move(guests))) {
  repo_->SetChangeListener([this](const StoreChange& c) { OnStoreChange(c); });
}

Filesystem::~Filesystem() { repo_->SetChangeListener(nullptr); }

Result<NodeKey> Filesystem::Node(InodeNo ino) const {
  auto key = inodes_.Get(ino);
  if (!key) return Stale(ino);
  return *key;
}

Result<std::shared_ptr<FileHandle>> Filesystem::FindHandle(HandleId id) const {
  std::lock_guard lock(mu_);
  auto it = handles_.find(id);
  if (it == handles_.end()) return Status::BadHandle("bad file handle");
  return it->second;
}

Result<Attr> Filesystem::Lookup(InodeNo parent, std::string_view name) {
  RPFS_ASSIGN_OR_RETURN(NodeKey dir, Node(parent));
  RPFS_ASSIGN_OR_RETURN(NodeKey child,
                        KindOps(dir.kind).LookupChild(*ctx_, dir, std::string(name)));
  InodeNo ino = inodes_.Ref(child);
  auto attr = KindOps(child.kind).Current(*ctx_, child);
  if (!attr.ok()) {
    inodes_.Forget(ino, 1);  // the reply will be an error: no lookup to count
    return attr.status();
  }
  attr->ino = ino;
  return attr;
}

Result<Attr> Filesystem::GetAttr(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  RPFS_ASSIGN_OR_RETURN(Attr a, KindOps(key.kind).Current(*ctx_, key));
  a.ino = ino;
  return a;
}

Result<std::vector<DirEntry>> Filesystem::ReadDir(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(NodeKey dir, Node(ino));
  RPFS_ASSIGN_OR_RETURN(auto children, KindOps(dir.kind).ListChildren(*ctx_, dir));
  std::vector<DirEntry> out;
  out.reserve(children.size());
  for (auto& c : children) {
    // The child kind's own AttrOf, on the facts the listing loaded: what GetAttr reports.
    RPFS_ASSIGN_OR_RETURN(Attr a, KindOps(c.key.kind).AttrOf(*ctx_, c.key, c.facts));
    out.push_back({std::move(c.name), a});
  }
  return out;
}

Result<HandleId> Filesystem::OpenDir(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ReadDir(ino));
  auto h = std::make_shared<FileHandle>();
  h->listing = std::make_shared<const std::vector<DirEntry>>(std::move(entries));
  std::lock_guard lock(mu_);
  HandleId id = next_handle_++;
  handles_[id] = std::move(h);
  return id;
}

Result<std::shared_ptr<const std::vector<DirEntry>>> Filesystem::Listing(HandleId id) const {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<FileHandle> h, FindHandle(id));
  if (!h->listing) return Status::BadHandle("not a directory handle");
  return h->listing;
}

Result<HandleId> Filesystem::Open(InodeNo ino, int flags) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  auto h = std::make_shared<FileHandle>();
  RPFS_RETURN_IF_ERROR(KindOps(key.kind).Open(*ctx_, key, flags, h.get()));
  std::lock_guard lock(mu_);
  HandleId id = next_handle_++;
  handles_[id] = std::move(h);
  return id;
}

Result<size_t> Filesystem::Read(HandleId id, uint64_t offset, std::span<std::byte> out) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<FileHandle> h, FindHandle(id));
  if (h->disk) return h->disk->ReadAt(offset, out);
  if (h->clone) return h->clone->ReadAt(offset, out);
  if (h->guest) return h->guest->ReadAt(offset, out);
  if (offset >= h->text.size()) return size_t{0};
  size_t n = std::min(out.size(), h->text.size() - static_cast<size_t>(offset));
  std::memcpy(out.data(), h->text.data() + offset, n);
  return n;
}

Result<uint64_t> Filesystem::Seek(HandleId id, uint64_t offset, int whence) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<FileHandle> h, FindHandle(id));
  uint64_t size = h->disk ? h->disk->size() : h->guest ? h->guest->size() : h->text.size();
  if (offset >= size) return Status::NoData("seek past the end");
  if (whence == SEEK_DATA) {
    if (!h->disk) return offset;
    RPFS_ASSIGN_OR_RETURN(uint64_t pos, h->disk->NextData(offset));
    if (pos >= size) return Status::NoData("no data after offset");
    return pos;
  }
  if (whence == SEEK_HOLE) {
    if (!h->disk) return size;
    return h->disk->NextHole(offset);
  }
  return Status::InvalidArgument("unsupported whence");
}

Result<std::string> Filesystem::ReadLink(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  return KindOps(key.kind).ReadLink(*ctx_, key);
}

void Filesystem::PrefetchGuestDirectories() { ctx_->volumes.PrefetchDirectories(); }

Result<std::string> Filesystem::GetXattr(InodeNo ino, std::string_view name) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  // Every attribute rpfs shows is in the user namespace. Any other (security.selinux,
  // system.posix_acl_access) is "not supported", not "absent": `ls -l` asks both for every
  // entry, and only an unsupported answer lets it stop asking for the rest of the mount (it
  // keeps that per st_dev). The kernel caches no xattr answer of a FUSE filesystem, so two
  // round trips per entry would be most of a cold `ls -lR`.
  if (!name.starts_with(kUserXattrPrefix)) {
    return Status::NotSupported(std::string(name) + ": rpfs has only user.* attributes");
  }
  RPFS_ASSIGN_OR_RETURN(auto all, KindOps(key.kind).Xattrs(*ctx_, key));
  for (auto& [n, v] : all) {
    if (n == name) return std::move(v);
  }
  return Status::NoAttribute(std::string(name));
}

Result<std::vector<std::string>> Filesystem::ListXattrs(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  RPFS_ASSIGN_OR_RETURN(auto all, KindOps(key.kind).Xattrs(*ctx_, key));
  std::vector<std::string> names;
  for (auto& nv : all) names.push_back(std::move(nv.first));
  return names;
}

Result<size_t> Filesystem::Write(HandleId id, uint64_t offset, std::span<const std::byte> data,
                                 const Caller& caller) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<FileHandle> h, FindHandle(id));
  if (h->clone) return h->clone->WriteAt(offset, data);
  if (h->control_vm.empty()) return Status::BadHandle("not open for writing");
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());  // NOLINT
  // Checked here rather than by the kernel (.control is writable by all) so that the
  // refusal, with the command refused, is in `.status` for the owner to see.
  if (Status may = MayControl(ctx_->access, caller); !may.ok()) {
    // And in the daemon's log, like a refused client of the CLI socket (command-refused).
    log::Log(log::Severity::kWarning, "control-refused",
             {{"uid", std::to_string(caller.uid)},
              {"vm", h->control_vm},
              {"command", std::string(text.substr(0, 80))}});
    ops_.RecordRejected(h->control_vm, text, may, caller.pid);
    return may;
  }
  auto cmd = control::ParseCommand(text);
  if (!cmd.ok()) {
    ops_.RecordRejected(h->control_vm, text, cmd.status(), caller.pid);
    return cmd.status();
  }
  RPFS_RETURN_IF_ERROR(ops_.Run(h->control_vm, *cmd, nullptr, caller.pid).status());
  return data.size();
}

Result<Attr> Filesystem::SetAttr(InodeNo ino, const AttrChange& change) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  RPFS_ASSIGN_OR_RETURN(Attr a, KindOps(key.kind).SetAttr(*ctx_, key, change));
  a.ino = ino;
  return a;
}

Status Filesystem::Fsync(HandleId id) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<FileHandle> h, FindHandle(id));
  return h->clone ? h->clone->Flush() : Status::OK();
}

bool Filesystem::UsesPageCache(InodeNo ino) const {
  auto key = inodes_.Get(ino);
  return key && KindOps(key->kind).UsesPageCache();
}

void Filesystem::Release(HandleId id) {
  std::shared_ptr<FileHandle> h;
  {
    std::lock_guard lock(mu_);
    auto it = handles_.find(id);
    if (it == handles_.end()) return;
    h = std::move(it->second);
    handles_.erase(it);
  }
  if (h->clone) (void)h->clone->Flush();  // a close makes progress durable; fsync reports errors
}

size_t Filesystem::open_handles() const {
  std::lock_guard lock(mu_);
  return handles_.size();
}

uint64_t Filesystem::generated_texts() const {
  return ctx_->texts_made.load(std::memory_order_relaxed);
}

Result<FsStats> Filesystem::StatFs() {
  RPFS_ASSIGN_OR_RETURN(StoreSummary s, repo_->Summary());
  FsStats st;
  st.total_bytes = s.disk_bytes + s.fs_free_bytes;  // df: used = the store, avail = room left
  st.free_bytes = s.fs_free_bytes;
  st.files = s.chunk_count + s.page_count;
  return st;
}

}  // namespace rpfs::fs
