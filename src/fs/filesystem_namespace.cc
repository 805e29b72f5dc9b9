// fs::Filesystem: namespace changes (mkdir/rmdir/rename/unlink of RPs and clones) and the
// kernel-cache invalidations that keep the view live when the store changes.
#include <algorithm>
#include <array>
#include <cstdio>

#include "fs/filesystem.h"
#include "fs/node_kind.h"
#include "util/clock.h"

namespace rpfs::fs {
namespace {

std::string OctalMode(uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04o", mode & 07777);
  return buf;
}

}  // namespace

void Filesystem::SetKernelCache(KernelCache* cache) {
  std::unique_lock life(cache_life_mu_);  // after every SettleKernelCache under way
  std::lock_guard lock(cache_mu_);
  kernel_cache_ = cache;
}

void Filesystem::SettleKernelCache(std::chrono::milliseconds max) {
  std::shared_lock life(cache_life_mu_);
  KernelCache* cache;
  {
    std::lock_guard lock(cache_mu_);
    cache = kernel_cache_;
  }
  // Outside cache_mu_: store changes (OnStoreChange) go on queueing meanwhile.
  if (cache != nullptr) cache->Settle(max);
}

void Filesystem::OnStoreChange(const StoreChange& c) {
  ctx_->dir_times.Changed(c, NowMicros());
  std::lock_guard lock(cache_mu_);
  if (kernel_cache_ == nullptr) return;
  if (c.kind == StoreChange::Kind::kVmAdded || c.kind == StoreChange::Kind::kVmRemoved) {
    kernel_cache_->InvalidateEntry(kRootInode, c.vm);
    kernel_cache_->InvalidateAttrs(kRootInode);
    return;
  }
  if (c.kind == StoreChange::Kind::kCloneCreated || c.kind == StoreChange::Kind::kCloneDeleted) {
    if (auto clones = inodes_.Find(NodeKey{NodeKind::kClonesDir, c.vm, 0, "", "", "", 0, 0, ""})) {
      kernel_cache_->InvalidateEntry(*clones, c.rp);
      kernel_cache_->InvalidateAttrs(*clones);
    }
    return;
  }
  // The kernel can only cache names under a VM directory it has looked up.
  auto vm_dir = inodes_.Find(NodeKey{NodeKind::kVm, c.vm, 0, "", "", "", 0, 0, ""});
  if (vm_dir) {
    kernel_cache_->InvalidateEntry(*vm_dir, c.rp);
    if (!c.new_name.empty()) kernel_cache_->InvalidateEntry(*vm_dir, c.new_name);
    kernel_cache_->InvalidateAttrs(*vm_dir);
  }
  // The info file shows the RP's name.
  if (auto info = inodes_.Find(NodeKey{NodeKind::kInfo, c.vm, c.rp_id, "", "", "", 0, 0, ""})) {
    kernel_cache_->InvalidateAttrs(*info);
  }
}

Result<std::string> Filesystem::VmOfDir(InodeNo ino) const {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(ino));
  if (key.kind != NodeKind::kVm) {
    return Status::ReadOnly(
        "only recovery points (directories in a VM directory) can be made, "
        "removed or renamed");
  }
  return key.vm;
}

bool Filesystem::IsCopyingTool(std::string_view program) {
  static constexpr std::array<std::string_view, 12> kTools = {
      "cp",  "mv",  "rsync",       "install", "tar",    "cpio",
      "pax", "scp", "sftp-server", "rclone",  "unison", "mc"};
  return std::find(kTools.begin(), kTools.end(), program) != kTools.end();
}

Result<Attr> Filesystem::MakeDir(InodeNo parent, std::string_view name, uint32_t mode,
                                 std::string_view caller) {
  RPFS_ASSIGN_OR_RETURN(std::string vm, VmOfDir(parent));
  const bool copying = IsCopyingTool(caller);
  if ((mode & 07777) != kMkdirRpMode || copying) {
    std::string by = caller.empty() ? "" : " by " + std::string(caller);
    Status why = Status::NotPermitted(
        "mkdir " + vm + "/" + std::string(name) + by + " (mode " + OctalMode(mode) +
        ") refused: only a plain mkdir (mode 0777 before the umask, not from a copying " +
        "tool) creates a recovery point; an RP is never copied into a VM directory (use " +
        "'rpfs create')");
    ops_.RecordRejected(vm, "mkdir " + std::string(name) + " mode=" + OctalMode(mode) + by, why);
    return why;
  }
  // As a command of the VM's (ops_): EBUSY while another one runs on it, and in .status.
  control::Command cmd;
  cmd.verb = control::Verb::kCreate;
  cmd.rp = std::string(name);
  RPFS_RETURN_IF_ERROR(ops_.Run(vm, cmd).status());
  return Lookup(parent, name);
}

Status Filesystem::RemoveDir(InodeNo parent, std::string_view name) {
  RPFS_ASSIGN_OR_RETURN(NodeKey dir, Node(parent));
  if (dir.kind == NodeKind::kClonesDir) return repo_->DeleteClone(dir.vm, std::string(name));
  RPFS_ASSIGN_OR_RETURN(std::string vm, VmOfDir(parent));
  control::Command cmd;
  cmd.verb = control::Verb::kDelete;
  cmd.rp = std::string(name);
  return ops_.Run(vm, cmd).status();
}

Status Filesystem::Rename(InodeNo parent, std::string_view name, InodeNo new_parent,
                          std::string_view new_name) {
  RPFS_ASSIGN_OR_RETURN(std::string vm, VmOfDir(parent));
  RPFS_ASSIGN_OR_RETURN(std::string new_vm, VmOfDir(new_parent));
  if (vm != new_vm) {
    // Not EXDEV: mv would then copy the RP's files, and its mkdir would create an RP of
    // the other VM's disks as they are now.
    Status why = Status::NotPermitted("recovery point " + vm + "/" + std::string(name) +
                                      " cannot move to another VM (" + new_vm +
                                      "): an RP holds its own VM's disks");
    ops_.RecordRejected(
        vm, "mv " + std::string(name) + " to " + new_vm + "/" + std::string(new_name), why);
    return why;
  }
  control::Command cmd;
  cmd.verb = control::Verb::kRename;
  cmd.rp = std::string(name);
  cmd.target = std::string(new_name);
  return ops_.Run(vm, cmd).status();
}

Status Filesystem::Unlink(InodeNo parent, std::string_view) {
  RPFS_ASSIGN_OR_RETURN(NodeKey key, Node(parent));
  if (key.kind == NodeKind::kCloneDir) return Status::OK();
  return Status::ReadOnly("recovery points are read-only");
}

}  // namespace rpfs::fs
