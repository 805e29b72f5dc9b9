// fs::Filesystem: namespace changes (mkdir/rmdir/rename/unlink of RPs and clones) and the
// kernel-cache invalidations that keep the view live when the store changes.
#include "fs/filesystem.h"

namespace rpfs::fs {

void Filesystem::SetKernelCache(KernelCache* cache) {
  std::lock_guard lock(cache_mu_);
  kernel_cache_ = cache;
}

void Filesystem::OnStoreChange(const StoreChange& c) {
  std::lock_guard lock(cache_mu_);
  if (kernel_cache_ == nullptr) return;
  if (c.kind == StoreChange::Kind::kVmAdded || c.kind == StoreChange::Kind::kVmRemoved) {
    kernel_cache_->InvalidateEntry(kRootInode, c.vm);
    kernel_cache_->InvalidateAttrs(kRootInode);
    return;
  }
  if (c.kind == StoreChange::Kind::kCloneCreated || c.kind == StoreChange::Kind::kCloneDeleted) {
    if (auto clones = inodes_.Find(NodeKey{NodeKind::kClonesDir, c.vm, 0, "", ""})) {
      kernel_cache_->InvalidateEntry(*clones, c.rp);
      kernel_cache_->InvalidateAttrs(*clones);
    }
    return;
  }
  // The kernel can only cache names under a VM directory it has looked up.
  auto vm_dir = inodes_.Find(NodeKey{NodeKind::kVm, c.vm, 0, "", ""});
  if (vm_dir) {
    kernel_cache_->InvalidateEntry(*vm_dir, c.rp);
    if (!c.new_name.empty()) kernel_cache_->InvalidateEntry(*vm_dir, c.new_name);
    kernel_cache_->InvalidateAttrs(*vm_dir);
  }
  // The info file shows the RP's name.
  if (auto info = inodes_.Find(NodeKey{NodeKind::kInfo, c.vm, c.rp_id, "", ""})) {
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

Result<Attr> Filesystem::MakeDir(InodeNo parent, std::string_view name) {
  RPFS_ASSIGN_OR_RETURN(std::string vm, VmOfDir(parent));
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
    return Status::CrossDevice("a recovery point cannot move to another VM");
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
