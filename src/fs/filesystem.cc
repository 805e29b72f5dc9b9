#include "fs/filesystem.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>

#include "fs/names.h"
#include "rpfs/names.h"

namespace rpfs::fs {
namespace {

// The owner may mkdir/rmdir/mv RPs in a VM directory; RP directories and files are 0555/0444.
constexpr mode_t kVmDirMode = 0755;

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
    case Status::Code::kIOError:
      return s.sys_errno() != 0 ? s.sys_errno() : EIO;
    case Status::Code::kCorruption:
    case Status::Code::kAborted:
      return EIO;
  }
  return EIO;
}

Filesystem::Filesystem(Repository* repo) : repo_(repo), ops_(repo) {
  repo_->SetChangeListener([this](const StoreChange& c) { OnStoreChange(c); });
}

Filesystem::~Filesystem() { repo_->SetChangeListener(nullptr); }

Result<NodeKey> Filesystem::Node(InodeNo ino) const {
  auto key = inodes_.Get(ino);
  if (!key) return Stale(ino);
  return *key;
}

Result<std::shared_ptr<Filesystem::Handle>> Filesystem::FindHandle(HandleId id) const {
  std::lock_guard lock(mu_);
  auto it = handles_.find(id);
  if (it == handles_.end()) return Status::BadHandle("bad file handle");
  return it->second;
}

Result<Attr> Filesystem::AttrOf(InodeNo ino, const NodeKey& key) {
  Attr a;
  a.ino = ino;
  switch (key.kind) {
    case NodeKind::kRoot:
      a.mode = S_IFDIR | 0555;
      a.nlink = 2;
      return a;
    case NodeKind::kVm: {
      RPFS_RETURN_IF_ERROR(repo_->GetVm(key.vm).status());
      a.mode = S_IFDIR | kVmDirMode;
      a.nlink = 2;
      return a;
    }
    case NodeKind::kRpDir: {
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(key.vm, key.rp_id));
      a.mode = S_IFDIR | 0555;
      a.nlink = 2;
      a.mtime_us = rp.created_us;
      a.immutable = true;
      return a;
    }
    case NodeKind::kDisk: {
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(key.vm, key.rp_id));
      if (key.disk == kMemoryStream && rp.with_memory) {
        a.mode = S_IFREG | 0444;
        a.size = rp.memory_bytes;
        a.mtime_us = rp.created_us;
        a.immutable = true;
        return a;
      }
      for (const auto& d : rp.disks) {
        if (d.name == key.disk) {
          a.mode = S_IFREG | 0444;
          a.size = d.size;
          a.mtime_us = rp.created_us;
          a.immutable = true;
          return a;
        }
      }
      return Status::NotFound("no disk " + key.disk);
    }
    case NodeKind::kDomainXml: {
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(key.vm, key.rp_id));
      RPFS_ASSIGN_OR_RETURN(std::string xml, repo_->DomainXmlById(key.vm, key.rp_id));
      a.mode = S_IFREG | 0444;
      a.size = xml.size();
      a.mtime_us = rp.created_us;
      a.immutable = true;
      return a;
    }
    case NodeKind::kInfo: {
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(key.vm, key.rp_id));
      RPFS_ASSIGN_OR_RETURN(std::string text, InfoText(rp));
      a.mode = S_IFREG | 0444;
      a.size = text.size();
      a.mtime_us = rp.created_us;
      return a;  // unique_bytes changes as other RPs come and go: not immutable
    }
    case NodeKind::kControl:
      RPFS_RETURN_IF_ERROR(repo_->GetVm(key.vm).status());
      a.mode = S_IFREG | 0200;
      return a;
    case NodeKind::kStatus:
      RPFS_RETURN_IF_ERROR(repo_->GetVm(key.vm).status());
      a.mode = S_IFREG | 0444;
      a.size = ops_.StatusText(key.vm).size();
      return a;
    case NodeKind::kPrunePreview: {
      RPFS_ASSIGN_OR_RETURN(std::string text, PrunePreviewText(key.vm));
      a.mode = S_IFREG | 0444;
      a.size = text.size();
      return a;
    }
    case NodeKind::kClonesDir:
      RPFS_RETURN_IF_ERROR(repo_->GetVm(key.vm).status());
      a.mode = S_IFDIR | 0755;
      a.nlink = 2;
      return a;
    case NodeKind::kCloneDir: {
      RPFS_ASSIGN_OR_RETURN(CloneInfo c, repo_->GetClone(key.vm, key.clone));
      a.mode = S_IFDIR | 0755;
      a.nlink = 2;
      a.mtime_us = c.created_us;
      return a;
    }
    case NodeKind::kCloneDisk: {
      RPFS_ASSIGN_OR_RETURN(CloneInfo c, repo_->GetClone(key.vm, key.clone));
      for (const auto& d : c.disks) {
        if (d.name == key.disk) {
          a.mode = S_IFREG | 0644;
          a.size = d.size;
          a.mtime_us = c.created_us;
          std::lock_guard lock(owners_mu_);
          auto it = clone_owners_.find(key.Encode());
          if (it != clone_owners_.end()) {
            a.uid = it->second.first;
            a.gid = it->second.second;
          }
          return a;
        }
      }
      return Status::NotFound("no disk " + key.disk);
    }
    case NodeKind::kCloneStatus: {
      RPFS_ASSIGN_OR_RETURN(std::string text, CloneStatusText(key.vm, key.clone));
      a.mode = S_IFREG | 0444;
      a.size = text.size();
      return a;
    }
  }
  return Stale(ino);
}

Result<Attr> Filesystem::RefAndAttr(const NodeKey& key) {
  InodeNo ino = inodes_.Ref(key);
  auto attr = AttrOf(ino, key);
  if (!attr.ok()) inodes_.Forget(ino, 1);  // the reply will be an error: no lookup to count
  return attr;
}

Result<Attr> Filesystem::Lookup(InodeNo parent, std::string_view name) {
  RPFS_ASSIGN_OR_RETURN(NodeKey dir, Node(parent));
  std::string n(name);
  NodeKey child;
  child.vm = dir.vm;
  child.rp_id = dir.rp_id;
  switch (dir.kind) {
    case NodeKind::kRoot: {
      if (!ValidateName(n, "vm name").ok()) return Status::NotFound(n);
      RPFS_RETURN_IF_ERROR(repo_->GetVm(n).status());
      child.kind = NodeKind::kVm;
      child.vm = n;
      break;
    }
    case NodeKind::kVm: {
      if (n == kControlFile || n == kStatusFile || n == kClonesDir || n == kPrunePreviewFile) {
        child.kind = n == kControlFile  ? NodeKind::kControl
                     : n == kStatusFile ? NodeKind::kStatus
                     : n == kClonesDir  ? NodeKind::kClonesDir
                                        : NodeKind::kPrunePreview;
        break;
      }
      if (!ValidateName(n, "rp name").ok()) return Status::NotFound(n);
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRp(dir.vm, n));
      child.kind = NodeKind::kRpDir;
      child.rp_id = rp.id;
      break;
    }
    case NodeKind::kRpDir: {
      if (n == kInfoFile) {
        child.kind = NodeKind::kInfo;
        break;
      }
      if (n == kDomainXmlFile) {
        child.kind = NodeKind::kDomainXml;
        break;
      }
      std::string disk = n == kMemoryFile ? std::string(kMemoryStream) : DiskFromFileName(n);
      if (disk.empty()) return Status::NotFound(n);
      child.kind = NodeKind::kDisk;
      child.disk = disk;
      break;
    }
    case NodeKind::kClonesDir: {
      if (!ValidateName(n, "clone name").ok()) return Status::NotFound(n);
      RPFS_RETURN_IF_ERROR(repo_->GetClone(dir.vm, n).status());
      child.kind = NodeKind::kCloneDir;
      child.clone = n;
      break;
    }
    case NodeKind::kCloneDir: {
      child.clone = dir.clone;
      if (n == kStatusFile) {
        child.kind = NodeKind::kCloneStatus;
        break;
      }
      std::string disk = DiskFromFileName(n);
      if (disk.empty()) return Status::NotFound(n);
      child.kind = NodeKind::kCloneDisk;
      child.disk = disk;
      break;
    }
    default:
      return Status::NotADirectory(n + ": not a directory");
  }
  return RefAndAttr(child);
}

Result<Attr> Filesystem::GetAttr(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  return AttrOf(ino, key);
}

Result<std::vector<DirEntry>> Filesystem::ReadDir(InodeNo ino) {
  RPFS_ASSIGN_OR_RETURN(NodeKey dir, Node(ino));
  std::vector<DirEntry> out;
  switch (dir.kind) {
    case NodeKind::kRoot: {
      RPFS_ASSIGN_OR_RETURN(auto vms, repo_->ListVms());
      for (const auto& vm : vms)
        out.push_back({vm.name, Attr{0, S_IFDIR | kVmDirMode, 0, 0, 2, false}});
      return out;
    }
    case NodeKind::kVm: {
      RPFS_ASSIGN_OR_RETURN(auto rps, repo_->ListRps(dir.vm));
      out.push_back({kControlFile, Attr{0, S_IFREG | 0200, 0, 0, 1, false}});
      out.push_back({kStatusFile, Attr{0, S_IFREG | 0444, 0, 0, 1, false}});
      out.push_back({kClonesDir, Attr{0, S_IFDIR | 0755, 0, 0, 2, false}});
      out.push_back({kPrunePreviewFile, Attr{0, S_IFREG | 0444, 0, 0, 1, false}});
      for (const auto& rp : rps) {
        out.push_back({rp.name, Attr{0, S_IFDIR | 0555, 0, rp.created_us, 2, true}});
      }
      return out;
    }
    case NodeKind::kRpDir: {
      RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(dir.vm, dir.rp_id));
      for (const auto& d : rp.disks) {
        out.push_back(
            {DiskFileName(d.name), Attr{0, S_IFREG | 0444, d.size, rp.created_us, 1, true}});
      }
      if (rp.with_memory) {
        out.push_back(
            {kMemoryFile, Attr{0, S_IFREG | 0444, rp.memory_bytes, rp.created_us, 1, true}});
      }
      if (rp.has_domain_xml) {
        out.push_back({kDomainXmlFile, Attr{0, S_IFREG | 0444, 0, rp.created_us, 1, true}});
      }
      out.push_back({kInfoFile, Attr{0, S_IFREG | 0444, 0, rp.created_us, 1, false}});
      return out;
    }
    case NodeKind::kClonesDir: {
      RPFS_ASSIGN_OR_RETURN(auto clones, repo_->ListClones(dir.vm));
      for (const auto& c : clones) {
        out.push_back({c.name, Attr{0, S_IFDIR | 0755, 0, c.created_us, 2, false}});
      }
      return out;
    }
    case NodeKind::kCloneDir: {
      RPFS_ASSIGN_OR_RETURN(CloneInfo c, repo_->GetClone(dir.vm, dir.clone));
      for (const auto& d : c.disks) {
        out.push_back(
            {DiskFileName(d.name), Attr{0, S_IFREG | 0644, d.size, c.created_us, 1, false}});
      }
      out.push_back({kStatusFile, Attr{0, S_IFREG | 0444, 0, c.created_us, 1, false}});
      return out;
    }
    default:
      return Status::NotADirectory("not a directory");
  }
}

Result<HandleId> Filesystem::Open(InodeNo ino, int flags) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  auto h = std::make_shared<Handle>();
  if (key.kind == NodeKind::kControl) {
    if ((flags & O_ACCMODE) != O_WRONLY) {
      return Status::PermissionDenied(".control is write-only: write one command to it");
    }
    RPFS_RETURN_IF_ERROR(repo_->GetVm(key.vm).status());
    h->control_vm = key.vm;
  } else if (key.kind == NodeKind::kCloneDisk) {
    RPFS_ASSIGN_OR_RETURN(h->clone, repo_->OpenCloneDisk(key.vm, key.clone, key.disk));
  } else if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0) {
    return Status::ReadOnly("recovery points are read-only");
  } else if (key.kind == NodeKind::kStatus) {
    h->text = ops_.StatusText(key.vm);
  } else if (key.kind == NodeKind::kCloneStatus) {
    RPFS_ASSIGN_OR_RETURN(h->text, CloneStatusText(key.vm, key.clone));
  } else if (key.kind == NodeKind::kPrunePreview) {
    RPFS_ASSIGN_OR_RETURN(h->text, PrunePreviewText(key.vm));
  } else if (key.kind == NodeKind::kDisk) {
    RPFS_ASSIGN_OR_RETURN(h->disk, repo_->OpenDiskById(key.vm, key.rp_id, key.disk));
  } else if (key.kind == NodeKind::kDomainXml) {
    RPFS_ASSIGN_OR_RETURN(h->text, repo_->DomainXmlById(key.vm, key.rp_id));
  } else if (key.kind == NodeKind::kInfo) {
    RPFS_ASSIGN_OR_RETURN(RpInfo rp, repo_->GetRpById(key.vm, key.rp_id));
    RPFS_ASSIGN_OR_RETURN(h->text, InfoText(rp));
  } else {
    return Status::IsADirectory("is a directory");
  }
  std::lock_guard lock(mu_);
  HandleId id = next_handle_++;
  handles_[id] = std::move(h);
  return id;
}

Result<size_t> Filesystem::Read(HandleId id, uint64_t offset, std::span<std::byte> out) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<Handle> h, FindHandle(id));
  if (h->disk) return h->disk->ReadAt(offset, out);
  if (h->clone) return h->clone->ReadAt(offset, out);
  if (offset >= h->text.size()) return size_t{0};
  size_t n = std::min(out.size(), h->text.size() - static_cast<size_t>(offset));
  std::memcpy(out.data(), h->text.data() + offset, n);
  return n;
}

Result<uint64_t> Filesystem::Seek(HandleId id, uint64_t offset, int whence) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<Handle> h, FindHandle(id));
  uint64_t size = h->disk ? h->disk->size() : h->text.size();
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

Result<size_t> Filesystem::Write(HandleId id, uint64_t offset, std::span<const std::byte> data) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<Handle> h, FindHandle(id));
  if (h->clone) return h->clone->WriteAt(offset, data);
  if (h->control_vm.empty()) return Status::BadHandle("not open for writing");
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());  // NOLINT
  auto cmd = control::ParseCommand(text);
  if (!cmd.ok()) {
    ops_.RecordRejected(h->control_vm, text, cmd.status());
    return cmd.status();
  }
  RPFS_RETURN_IF_ERROR(ops_.Run(h->control_vm, *cmd).status());
  return data.size();
}

Result<Attr> Filesystem::SetAttr(InodeNo ino, const AttrChange& change) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  if (key.kind == NodeKind::kControl) return AttrOf(ino, key);
  if (key.kind != NodeKind::kCloneDisk) {
    return Status::ReadOnly("recovery points are read-only");
  }
  RPFS_ASSIGN_OR_RETURN(Attr a, AttrOf(ino, key));
  if (change.size && *change.size != a.size) {
    return Status::InvalidArgument("clone disk " + key.disk + " has a fixed size of " +
                                   std::to_string(a.size) + " bytes (dd: use conv=notrunc)");
  }
  if (change.uid || change.gid) {  // the kernel has checked the caller may (root)
    std::lock_guard lock(owners_mu_);
    auto [it, added] = clone_owners_.try_emplace(key.Encode(), ::getuid(), ::getgid());
    if (change.uid) it->second.first = *change.uid;
    if (change.gid) it->second.second = *change.gid;
    a.uid = it->second.first;
    a.gid = it->second.second;
  }
  return a;
}

Status Filesystem::Fsync(HandleId id) {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<Handle> h, FindHandle(id));
  return h->clone ? h->clone->Flush() : Status::OK();
}

bool Filesystem::UsesPageCache(InodeNo ino) const {
  auto key = inodes_.Get(ino);
  return key && (key->kind == NodeKind::kDisk || key->kind == NodeKind::kCloneDisk);
}

void Filesystem::Release(HandleId id) {
  std::shared_ptr<Handle> h;
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

Result<FsStats> Filesystem::StatFs() {
  RPFS_ASSIGN_OR_RETURN(StoreSummary s, repo_->Summary());
  FsStats st;
  st.total_bytes = s.disk_bytes + s.fs_free_bytes;  // df: used = the store, avail = room left
  st.free_bytes = s.fs_free_bytes;
  st.files = s.chunk_count + s.page_count;
  return st;
}

}  // namespace rpfs::fs
