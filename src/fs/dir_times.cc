#include "fs/dir_times.h"

#include <algorithm>

namespace rpfs::fs {

int64_t DirTimes::NewestRp(const std::string& vm) const {
  auto rps = repo_->ListRps(vm);
  int64_t newest = 0;
  if (rps.ok()) {
    for (const RpInfo& rp : *rps) newest = std::max(newest, rp.created_us);
  }
  return newest;
}

int64_t DirTimes::NewestClone(const std::string& vm) const {
  auto clones = repo_->ListClones(vm);
  int64_t newest = 0;
  if (clones.ok()) {
    for (const CloneInfo& c : *clones) newest = std::max(newest, c.created_us);
  }
  return newest;
}

int64_t DirTimes::Vm(const std::string& vm) {
  {
    std::lock_guard lock(mu_);
    auto it = vms_.find(vm);
    if (it != vms_.end()) return it->second;
  }
  int64_t newest = NewestRp(vm);
  std::lock_guard lock(mu_);
  // A change seen while we read wins (emplace keeps it): it is newer.
  if (newest == 0) {
    auto it = vms_.find(vm);
    return it == vms_.end() ? 0 : it->second;
  }
  return vms_.emplace(vm, newest).first->second;
}

int64_t DirTimes::Clones(const std::string& vm) {
  {
    std::lock_guard lock(mu_);
    auto it = clones_.find(vm);
    if (it != clones_.end()) return it->second;
  }
  int64_t newest = NewestClone(vm);
  if (newest == 0) {
    {
      std::lock_guard lock(mu_);  // a clone made and deleted while we read
      auto it = clones_.find(vm);
      if (it != clones_.end()) return it->second;
    }
    return Vm(vm);  // no clone yet: as old as the VM's directory
  }
  std::lock_guard lock(mu_);
  return clones_.emplace(vm, newest).first->second;
}

int64_t DirTimes::Root() {
  {
    std::lock_guard lock(mu_);
    if (root_) return *root_;
  }
  auto vms = repo_->ListVms();
  if (!vms.ok()) return 0;
  int64_t newest = 0;
  for (const VmInfo& vm : *vms) newest = std::max({newest, Vm(vm.name), Clones(vm.name)});
  std::lock_guard lock(mu_);
  if (!root_ && newest != 0) root_ = newest;
  return root_.value_or(0);
}

void DirTimes::Changed(const StoreChange& c, int64_t now_us) {
  std::lock_guard lock(mu_);
  root_ = std::max(root_.value_or(0), now_us);
  switch (c.kind) {
    case StoreChange::Kind::kVmRemoved:
      vms_.erase(c.vm);
      clones_.erase(c.vm);
      break;
    case StoreChange::Kind::kCloneCreated:
    case StoreChange::Kind::kCloneDeleted:
      clones_[c.vm] = std::max(clones_[c.vm], now_us);
      break;
    default:  // a VM added, an RP created, renamed or deleted
      vms_[c.vm] = std::max(vms_[c.vm], now_us);
      break;
  }
}

}  // namespace rpfs::fs
