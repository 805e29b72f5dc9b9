#include "fs/dir_times.h"

#include <algorithm>

namespace rpfs::fs {

namespace {

// The newest creation time among `items` (RPs or clones); 0 when none or unreadable.
template <typename T>
int64_t NewestOf(const Result<std::vector<T>>& items) {
  int64_t newest = 0;
  if (items.ok()) {
    for (const T& item : *items) newest = std::max(newest, item.created_us);
  }
  return newest;
}

std::optional<int64_t> Kept(const std::map<std::string, int64_t>& times, const std::string& vm) {
  auto it = times.find(vm);
  if (it == times.end()) return std::nullopt;
  return it->second;
}

}  // namespace

int64_t DirTimes::Vm(const std::string& vm) {
  {
    std::lock_guard lock(mu_);
    if (auto t = Kept(vms_, vm)) return *t;
  }
  int64_t newest = NewestOf(repo_->ListRps(vm));
  std::lock_guard lock(mu_);
  if (auto t = Kept(vms_, vm)) return *t;  // a change seen while we read: it is newer
  if (newest != 0) vms_[vm] = newest;
  return newest;
}

int64_t DirTimes::Clones(const std::string& vm) {
  {
    std::lock_guard lock(mu_);
    if (auto t = Kept(clones_, vm)) return *t;
  }
  int64_t newest = NewestOf(repo_->ListClones(vm));
  {
    std::lock_guard lock(mu_);
    if (auto t = Kept(clones_, vm)) return *t;  // a change seen while we read
    if (newest != 0) return clones_[vm] = newest;
  }
  return Vm(vm);  // no clone yet: as old as the VM's directory
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
