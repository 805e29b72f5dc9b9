// Repository: clones (writable disks made from an RP, filled on first read).
#include <filesystem>

#include "rp/clone_disk.h"
#include "rp/repository_impl.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "util/crash_point.h"

namespace rpfs {

namespace stdfs = std::filesystem;

namespace {

std::string CloneLabel(const std::string& vm, const std::string& clone) {
  return "clone " + vm + "/" + clone;
}

std::vector<ObjectId> CloneRoots(const format::CloneRecord& c) {
  std::vector<ObjectId> roots;
  if ((c.flags & format::kCloneFlagHydrated) != 0) return roots;
  for (const auto& d : c.disks) {
    if (!d.root.IsZero()) roots.push_back(ObjectId{ObjectKind::kPage, d.root});
  }
  return roots;
}

}  // namespace

CloneInfo Repository::Impl::ToCloneInfo(const format::CloneRecord& c) {
  CloneInfo info;
  info.vm = c.vm;
  info.name = c.name;
  info.rp = c.rp_name;
  info.created_us = c.created_us;
  info.hydrated = (c.flags & format::kCloneFlagHydrated) != 0;
  info.dir = CloneDir(c.vm, c.name);
  for (const auto& d : c.disks) {
    CloneDiskInfo di;
    di.name = d.name;
    di.size = d.size;
    auto files = rp::CloneFiles(info.dir, d.name);
    di.path = files.data;
    std::shared_ptr<rp::CloneDiskImpl> open;
    {
      std::lock_guard lock(clones_mu);
      auto it = open_clone_disks.find(CloneDiskKey(c.vm, c.name, d.name));
      if (it != open_clone_disks.end()) open = it->second.lock();
    }
    if (info.hydrated) {
      di.hydrated_bytes = d.size;
    } else if (open) {
      di.hydrated_bytes = open->hydrated_bytes();
    } else {
      auto bytes = rp::PresentBytesOnDisk(files, d.size, store->config().chunk_size);
      di.hydrated_bytes = bytes.ok() ? *bytes : 0;
    }
    info.disks.push_back(std::move(di));
  }
  return info;
}

void Repository::Impl::ReleaseHydratedClone(const std::string& vm, const std::string& clone) {
  auto c = LoadClone(vm, clone);
  if (!c.ok() || (c->flags & format::kCloneFlagHydrated) != 0) return;
  for (const auto& d : c->disks) {
    std::shared_ptr<rp::CloneDiskImpl> open;
    {
      std::lock_guard l(clones_mu);
      auto it = open_clone_disks.find(CloneDiskKey(vm, clone, d.name));
      if (it != open_clone_disks.end()) open = it->second.lock();
    }
    bool done;
    if (open) {
      done = open->durably_hydrated();  // its map says so on disk, not only in memory
    } else {
      auto bytes = rp::PresentBytesOnDisk(rp::CloneFiles(CloneDir(vm, clone), d.name), d.size,
                                          store->config().chunk_size);
      done = bytes.ok() && *bytes == d.size;
    }
    if (!done) return;  // another disk still needs the store
  }
  CrashPoint("clone.before_release");
  store::Mutation m;
  for (const ObjectId& root : CloneRoots(*c)) m.AddRef(root, -1);
  c->flags |= format::kCloneFlagHydrated;
  m.Put(format::CloneKey(vm, clone), format::EncodeClone(*c));
  if (store->Commit(m).ok()) (void)store->RunGc();  // else: stays unhydrated, retried later
}

Status Repository::Impl::RemoveOrphanCloneDirs() {
  std::error_code ec;
  stdfs::path root = store->dir() + "/clones";
  if (!stdfs::exists(root, ec)) return Status::OK();
  for (const auto& vm_dir : stdfs::directory_iterator(root, ec)) {
    for (const auto& clone_dir : stdfs::directory_iterator(vm_dir.path(), ec)) {
      std::string vm = vm_dir.path().filename();
      std::string clone = clone_dir.path().filename();
      RPFS_ASSIGN_OR_RETURN(auto rec, store->Get(format::CloneKey(vm, clone)));
      if (!rec) stdfs::remove_all(clone_dir.path(), ec);
    }
  }
  return Status::OK();
}

Result<CloneInfo> Repository::CreateClone(const std::string& vm, const std::string& rp,
                                          const std::string& clone) {
  RPFS_RETURN_IF_ERROR(ValidateName(clone, "clone name"));
  auto lock = impl_->LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->LoadRp(vm, rp));
  RPFS_ASSIGN_OR_RETURN(auto existing, impl_->store->Get(format::CloneKey(vm, clone)));
  if (existing) return Status::AlreadyExists(CloneLabel(vm, clone) + " already exists");
  const std::string label = "cloning " + RpLabel(vm, rp) + " as " + clone;

  format::CloneRecord c;
  c.vm = vm;
  c.name = clone;
  c.rp_name = rec.name;
  c.rp_id = rec.id;
  c.created_us = NowMicros();
  for (const auto& s : rec.streams) {
    if (s.kind == format::StreamKind::kDisk) c.disks.push_back(s);
  }
  // Files first, record last: a crash in between leaves only a directory, removed at the
  // next open.
  const std::string dir = impl_->CloneDir(vm, clone);
  std::error_code ec;
  stdfs::remove_all(dir, ec);
  stdfs::create_directories(dir, ec);
  if (ec) return Status::IOError(label + ": cannot create " + dir + ": " + ec.message());
  auto cleanup = [&](Status s) {
    stdfs::remove_all(dir, ec);
    return s.WithContext(label);
  };
  for (const auto& d : c.disks) {
    Status s = rp::CreateCloneDiskFiles(rp::CloneFiles(dir, d.name), d.size,
                                        impl_->store->config().chunk_size);
    if (!s.ok()) return cleanup(s);
  }
  Status synced = FsyncDir(dir);
  if (synced.ok()) synced = FsyncDir(stdfs::path(dir).parent_path().string());
  if (!synced.ok()) return cleanup(synced);
  CrashPoint("clone.before_commit");
  store::Mutation m;
  for (const ObjectId& root : CloneRoots(c)) m.AddRef(root, 1);
  m.Put(format::CloneKey(vm, clone), format::EncodeClone(c));
  Status committed = impl_->store->Commit(m);
  if (!committed.ok()) return cleanup(committed);
  impl_->Notify(StoreChange::Kind::kCloneCreated, vm, clone);
  return impl_->ToCloneInfo(c);
}

Result<std::vector<CloneInfo>> Repository::ListClones(const std::string& vm) const {
  if (!vm.empty()) RPFS_RETURN_IF_ERROR(impl_->LoadVm(vm).status());
  std::vector<format::CloneRecord> recs;
  Status err;
  RPFS_RETURN_IF_ERROR(
      impl_->store->Scan(vm.empty() ? format::AllClonePrefix() : format::ClonePrefix(vm),
                         [&](std::string_view, std::string_view v) {
                           auto c = format::DecodeClone(v);
                           if (!c.ok()) {
                             err = c.status();
                             return false;
                           }
                           recs.push_back(std::move(*c));
                           return true;
                         }));
  RPFS_RETURN_IF_ERROR(err);
  std::vector<CloneInfo> out;
  for (const auto& c : recs) out.push_back(impl_->ToCloneInfo(c));
  return out;
}

Result<CloneInfo> Repository::GetClone(const std::string& vm, const std::string& clone) const {
  RPFS_RETURN_IF_ERROR(impl_->LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->LoadClone(vm, clone));
  return impl_->ToCloneInfo(c);
}

Status Repository::DeleteClone(const std::string& vm, const std::string& clone) {
  auto lock = impl_->LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->LoadClone(vm, clone));
  {
    // Held through the commit: an open (which holds clones_mu throughout) either comes
    // first and makes this Busy, or comes after and finds no record.
    std::lock_guard l(impl_->clones_mu);
    for (const auto& d : c.disks) {
      auto it = impl_->open_clone_disks.find(Impl::CloneDiskKey(vm, clone, d.name));
      if (it != impl_->open_clone_disks.end() && !it->second.expired()) {
        return Status::Busy(CloneLabel(vm, clone) + " is in use: disk " + d.name + " is open");
      }
    }
    store::Mutation m;
    for (const ObjectId& root : CloneRoots(c)) m.AddRef(root, -1);
    m.Delete(format::CloneKey(vm, clone));
    RPFS_RETURN_IF_ERROR(impl_->store->Commit(m).WithContext("deleting ", CloneLabel(vm, clone)));
    for (const auto& d : c.disks) {
      impl_->open_clone_disks.erase(Impl::CloneDiskKey(vm, clone, d.name));
    }
  }
  impl_->Notify(StoreChange::Kind::kCloneDeleted, vm, clone);
  // Record gone first: a crash now leaves only files, removed at the next open.
  std::error_code ec;
  stdfs::remove_all(impl_->CloneDir(vm, clone), ec);
  return impl_->store->RunGc().status();
}

Result<std::shared_ptr<CloneDisk>> Repository::OpenCloneDisk(const std::string& vm,
                                                             const std::string& clone,
                                                             const std::string& disk) {
  auto opened = impl_->OpenCloneDiskLocked(vm, clone, disk);
  impl_->FinishReleasedDeletes();  // a clone found complete at open is released now
  return opened;
}

Result<std::shared_ptr<CloneDisk>> Repository::Impl::OpenCloneDiskLocked(const std::string& vm,
                                                                         const std::string& clone,
                                                                         const std::string& disk) {
  const std::string key = CloneDiskKey(vm, clone, disk);
  std::lock_guard lock(clones_mu);
  auto it = open_clone_disks.find(key);
  if (it != open_clone_disks.end()) {
    if (auto open = it->second.lock()) return std::shared_ptr<CloneDisk>(open);
  }
  RPFS_ASSIGN_OR_RETURN(auto c, LoadClone(vm, clone));
  const format::RpStream* stream = nullptr;
  for (const auto& d : c.disks) {
    if (d.name == disk) stream = &d;
  }
  if (stream == nullptr) return Status::NotFound(CloneLabel(vm, clone) + " has no disk " + disk);
  Impl* impl = this;
  auto opened = rp::CloneDiskImpl::Open(
      store.get(), &pages, *stream, rp::CloneFiles(CloneDir(vm, clone), disk),
      [impl, vm, clone] { impl->OnCloneDiskHydrated(vm, clone); });
  if (!opened.ok()) return opened.status().WithContext("opening ", CloneLabel(vm, clone));
  open_clone_disks[key] = *opened;
  if ((*opened)->durably_hydrated() && (c.flags & format::kCloneFlagHydrated) == 0) {
    // Hydrated before a crash that came before the store heard of it: release now.
    hydrated_clones.emplace_back(vm, clone);
  }
  return std::shared_ptr<CloneDisk>(*opened);
}

Status Repository::HydrateClone(const std::string& vm, const std::string& clone,
                                const ProgressFn& progress) {
  struct FinishAtEnd {  // releases what the hydration queued, once done
    Impl* impl;
    ~FinishAtEnd() { impl->FinishReleasedDeletes(); }
  } finish{impl_.get()};
  RPFS_ASSIGN_OR_RETURN(auto c, impl_->LoadClone(vm, clone));
  uint64_t total = 0, before = 0;
  for (const auto& d : c.disks) total += d.size;
  for (const auto& d : c.disks) {
    RPFS_ASSIGN_OR_RETURN(auto disk, OpenCloneDisk(vm, clone, d.name));
    auto* impl = static_cast<rp::CloneDiskImpl*>(disk.get());
    ProgressFn p;
    if (progress) p = [&](uint64_t done, uint64_t) { progress(before + done, total); };
    RPFS_RETURN_IF_ERROR(impl->Hydrate(p).WithContext("hydrating ", CloneLabel(vm, clone)));
    before += d.size;
  }
  if (progress) progress(total, total);
  return Status::OK();
}

}  // namespace rpfs
